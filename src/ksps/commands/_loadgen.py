"""The load generator of `ksps bench`: bare subscribers, paced publishers on ksps.Client, stamped publications.

The scenario is the bench suite's latency run (bench/loadgen/latency.go) in Python: publishers that are not
subscribed publish at a fixed total rate to one topic that every subscriber receives; each publication
carries its send time ("ts", nanoseconds of this process's monotonic clock, as a string like the Go load
generator's) and every subscriber (`_receivers`) records its age on arrival. Samples are kept after a warm-up.

The server limits the frames a connection may send (`--max-frames-per-second`, default 20,000/s, and a
burst of 10,000): each publisher connection sends at most `PER_PUBLISHER_RATE` publications per second, so
a higher `--rate` opens more publishers instead of tripping the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ._receivers import Receiver, open_receiver
from ._target import EXIT_CONNECT, CommandFailed, Target, connected

T = TypeVar("T")

__all__ = ["PER_PUBLISHER_RATE", "BenchPlan", "BenchStats", "run_bench"]

#: Publications per second one publisher connection sends at most: half the server's default frame limit.
PER_PUBLISHER_RATE = 10_000.0
#: Connections set up at once (as the Go load generator's `-parallel`).
PARALLEL_CONNECTS = 32
#: Latency samples kept (~40 MB of ints): beyond, a uniform sample; p99 of a million samples is accurate.
MAX_SAMPLES = 1_000_000
#: Seconds to wait after the last publication for the deliveries still in flight.
DRAIN_TIMEOUT = 5.0


@dataclass(frozen=True)
class BenchPlan:
    """What to run: `subscribers` connections, `rate` publications/s of `size` bytes for `duration` s."""

    subscribers: int
    duration: float
    size: int
    rate: float
    warmup: float
    topic: str

    @property
    def publishers(self) -> int:
        """Publisher connections needed to keep each under `PER_PUBLISHER_RATE`."""
        return max(1, math.ceil(self.rate / PER_PUBLISHER_RATE))


@dataclass
class BenchStats:
    """What happened; updated live while the run goes on (the progress display reads it)."""

    plan: BenchPlan
    started: float = 0.0
    sent: int = 0
    received: int = 0
    measured_sent: int = 0
    measured_received: int = 0
    errors: int = 0
    disconnects: int = 0
    latencies_ns: list[int] = field(default_factory=list)
    max_latency_ns: int = 0
    measured_seconds: float = 0.0
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    first_error: str = ""

    @property
    def expected(self) -> int:
        """Deliveries the publications sent so far should make."""
        return self.sent * self.plan.subscribers

    @property
    def lost(self) -> int:
        """Deliveries of the measured publications that never arrived."""
        return max(0, self.measured_sent * self.plan.subscribers - self.measured_received)

    def error(self, exc: BaseException) -> None:
        """An OnError report from one of the clients."""
        self.errors += 1
        self.first_error = self.first_error or str(exc)

    def sample(self, latency_ns: int) -> None:
        """One measured delivery's latency; a uniform sample of at most `MAX_SAMPLES` is kept (memory stays
        bounded on long, wide runs), the maximum exactly."""
        self.max_latency_ns = max(self.max_latency_ns, latency_ns)
        if len(self.latencies_ns) < MAX_SAMPLES:
            self.latencies_ns.append(latency_ns)
        else:  # reservoir sampling (Vitter's algorithm R)
            slot = random.randrange(self.measured_received)
            if slot < MAX_SAMPLES:
                self.latencies_ns[slot] = latency_ns

    def percentile_ms(self, fraction: float) -> float:
        """Latency at `fraction` (0..1) of the sorted samples, in milliseconds (1 is the exact maximum); NaN
        without samples. Call after the run, which sorts the samples."""
        if not self.latencies_ns:
            return math.nan
        if fraction >= 1:
            return self.max_latency_ns / 1e6
        index = min(len(self.latencies_ns) - 1, int(fraction * len(self.latencies_ns)))
        return self.latencies_ns[index] / 1e6


async def run_bench(target: Target, plan: BenchPlan, stats: BenchStats, *, on_ready: Callable[[], None]) -> None:
    """Connect, publish for `plan.warmup + plan.duration` s, wait for the deliveries in flight, close.

    `on_ready` runs once every connection is set up, before the first publication. Raises CommandFailed when
    connections cannot be made; errors during the run are counted in `stats`.
    """
    all_delivered = asyncio.Event()
    measured_from = 0
    closing = False

    def on_stamp(stamp: int) -> None:
        arrived = time.monotonic_ns()
        stats.received += 1
        if measured_from and stamp >= measured_from:
            stats.measured_received += 1
            stats.sample(arrived - stamp)
        if stats.received >= stats.expected and publishing_done.is_set():
            all_delivered.set()

    def on_lost(reason: str) -> None:
        if closing:  # our own Close at the end of the run
            return
        stats.disconnects += 1
        stats.first_error = stats.first_error or reason

    publishing_done = asyncio.Event()
    hooks: dict[str, Any] = {
        "on_error": stats.error,
        "on_disconnect": lambda code, reason: on_lost(f"connection lost: {code} {reason}"),
        "reconnect": False,
    }
    async with _Clients(target, hooks) as clients:
        await clients.open_receivers(plan.subscribers, topic=plan.topic, on_stamp=on_stamp, on_lost=on_lost)
        publishers = await clients.open(plan.publishers, "bench-pub")
        on_ready()
        cpu_start, wall_start = time.process_time(), time.monotonic()
        stats.started = wall_start
        measured_from = time.monotonic_ns() + int(plan.warmup * 1e9)
        pad = "x" * max(0, plan.size - 40)  # ~40 bytes of {"ts":"...","seq":N,"pad":""}
        rate = plan.rate / len(publishers)
        end = wall_start + plan.warmup + plan.duration
        await asyncio.gather(
            *(_publish(client, rate=rate, end=end, pad=pad, measured_from=measured_from, stats=stats)
              for client in publishers)
        )
        stats.measured_seconds = plan.duration
        publishing_done.set()
        if stats.received >= stats.expected:
            all_delivered.set()
        with contextlib.suppress(TimeoutError):  # what did not arrive by then is counted as lost
            await asyncio.wait_for(all_delivered.wait(), DRAIN_TIMEOUT)
        stats.cpu_seconds = time.process_time() - cpu_start
        stats.wall_seconds = time.monotonic() - wall_start
        closing = True
    stats.latencies_ns.sort()


async def _publish(
    client: Any, *, rate: float, end: float, pad: str, measured_from: int, stats: BenchStats
) -> None:
    """Publish at `rate` per second until `end`: each tick sends what is due by now (sleeps are the pacing).

    Publications stamped at or after `measured_from` (monotonic ns) are the measured ones."""
    topic = stats.plan.topic
    start = time.monotonic()
    sent = 0
    while (now := time.monotonic()) < end:
        due = int((now - start) * rate) + 1
        while sent < due:
            stamp = time.monotonic_ns()
            await client.Publish(topic, {"ts": str(stamp), "seq": sent, "pad": pad})
            sent += 1
            stats.sent += 1
            if stamp >= measured_from:
                stats.measured_sent += 1
        await asyncio.sleep(min(0.005, max(0.0, end - time.monotonic())))


class _Clients:
    """The connections of one run, opened `PARALLEL_CONNECTS` at a time and all closed on exit."""

    def __init__(self, target: Target, hooks: dict[str, Any]) -> None:
        self._target = target
        self._hooks = hooks
        self._tag = os.urandom(3).hex()
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> _Clients:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def open_receivers(
        self, count: int, *, topic: str, on_stamp: Callable[[int], None], on_lost: Callable[[str], None]
    ) -> None:
        """`count` subscribed receivers with IDs `bench-sub-<tag>-<n>`."""

        async def one(n: int) -> Receiver:
            receiver = Receiver(client_id=f"bench-sub-{self._tag}-{n}", topic=topic, on_stamp=on_stamp,
                                on_lost=on_lost)
            await open_receiver(self._target, receiver)
            self._stack.push_async_callback(receiver.close)
            return receiver

        await self._gather(count, "bench-sub", one)

    async def open(self, count: int, prefix: str) -> list[Any]:
        """`count` connected clients with IDs `prefix-<tag>-<n>`; CommandFailed names how many opened."""

        async def one(n: int) -> Any:
            hooks = {"id": f"{prefix}-{self._tag}-{n}", **self._hooks}
            return await self._stack.enter_async_context(connected(self._target, **hooks))

        return await self._gather(count, prefix, one)

    async def _gather(self, count: int, prefix: str, open_one: Callable[[int], Awaitable[T]]) -> list[T]:
        """Run `open_one(n)` for n < count, `PARALLEL_CONNECTS` at a time; CommandFailed names how many opened."""
        gate = asyncio.Semaphore(PARALLEL_CONNECTS)

        async def gated(n: int) -> T:
            async with gate:
                return await open_one(n)

        results = await asyncio.gather(*(gated(n) for n in range(count)), return_exceptions=True)
        opened = [result for result in results if not isinstance(result, BaseException)]
        failed = [result for result in results if isinstance(result, BaseException)]
        if failed:
            code = failed[0].code if isinstance(failed[0], CommandFailed) else EXIT_CONNECT
            hint = ""
            if "503" in str(failed[0]):  # over a connection limit of the server (spec §13.1)
                hint = "; raise ksps serve --max-connections-per-address (default 256) or --max-connections"
            raise CommandFailed(
                f"{failed[0]} ({len(opened)} of {count} {prefix} connections opened{hint})", code=code
            )
        return opened
