"""Broker abuse figures of docs/reliability.md (issue 11, rows 4 and 6), against a `ksps serve` subprocess.

    python bench/abuse_broker.py pending-acks [--pending 100000] [--cycles 1000] [-- ksps serve flags]
    python bench/abuse_broker.py silent-responders [--responders 100] [--pending 1000] [-- flags]
    python bench/abuse_broker.py topics [--topics 1000000] [-- flags]

pending-acks: one client holds --pending requests to a topic whose one subscriber never acks; then
--cycles unrelated connect/register/close cycles run one after the other: prints cycles per second.
silent-responders: --responders subscribers that never ack get --pending requests each, then all leave at
once: prints the longest round trip of a bystander's pings meanwhile (the loop stall) and how the requester
fared. topics: one connection subscribes to --topics topics, then leaves: prints the server's RSS growth and
the bystander's longest round trip while it leaves. Flags after `--` go to `ksps serve` (e.g. to lift limits
with `--max-pending-acks-per-connection 0 --max-pending-acks 0`). Not a test: run it by hand, briefly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from ksps.testing import free_port


class Node:
    """`ksps serve` in a subprocess on a free loopback port."""

    def __init__(self, flags: Sequence[str]) -> None:
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}/ws/bus"
        command = [sys.executable, "-m", "ksps", "serve", "--address", f"127.0.0.1:{self.port}", *flags]
        self.process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)

    async def ready(self) -> None:
        for _ in range(200):
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("ksps serve did not start")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> str:
        self.process.terminate()
        _, err = self.process.communicate(timeout=10)
        return err


async def client(url: str, client_id: str) -> ClientConnection:
    ws = await connect(url, max_size=None, max_queue=None, open_timeout=30, ping_interval=None)
    await ws.send(json.dumps({"action": "ping", "from": client_id}))
    while json.loads(await ws.recv())["action"] != "pong":
        pass
    return ws


class Counter:
    """Reads a connection forever, counting frames by action."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.counts: dict[str, int] = {}
        self.close_code: int | None = None
        self.task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in self.ws:
                action = json.loads(message)["action"]
                self.counts[action] = self.counts.get(action, 0) + 1
        self.close_code = self.ws.close_code

    async def until(self, total: int, *actions: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while sum(self.counts.get(a, 0) for a in actions) < total and not self.task.done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{actions}: {self.counts}")
            await asyncio.sleep(0.01)


class Pinger:
    """A bystander that pings one frame at a time and keeps the longest round trip."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.worst = 0.0
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await self.ws.send('{"action":"ping","from":"bystander"}')
            await self.ws.recv()
            self.worst = max(self.worst, time.perf_counter() - started)
            await asyncio.sleep(0.002)

    async def stop(self) -> float:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        return self.worst


async def hold_requests(url: str, topic: str, responders: list[Counter], pending: int) -> Counter:
    holder = await client(url, "holder")
    counter = Counter(holder)
    for i in range(pending):
        frame = {"action": "publish_with_ack", "topic": topic, "data": i, "ack_id": f"a{i}", "timeout": 300_000}
        await holder.send(json.dumps(frame))
    deadline = time.monotonic() + 300
    while any(r.counts.get("publish_ack", 0) < pending - counter.counts.get("error", 0) for r in responders):
        if time.monotonic() > deadline:
            raise TimeoutError(f"holder {counter.counts}")
        await asyncio.sleep(0.01)
    return counter


async def pending_acks(node: Node, args: argparse.Namespace) -> dict[str, Any]:
    silent = Counter(await client(node.url, "silent"))
    await silent.ws.send('{"action":"subscribe","topic":"t"}')
    await silent.until(1, "subscribed")
    holder = await hold_requests(node.url, "t", [silent], args.pending)
    started = time.perf_counter()
    for i in range(args.cycles):
        ws = await client(node.url, f"cycle{i}")
        await ws.close()
    seconds = time.perf_counter() - started
    return {
        "held": silent.counts.get("publish_ack", 0),
        "refused": holder.counts.get("error", 0),
        "cycles_per_second": round(args.cycles / seconds, 1),
    }


async def silent_responders(node: Node, args: argparse.Namespace) -> dict[str, Any]:
    responders = []
    for i in range(args.responders):
        counter = Counter(await client(node.url, f"silent{i}"))
        await counter.ws.send('{"action":"subscribe","topic":"t"}')
        await counter.until(1, "subscribed")
        responders.append(counter)
    holder = await hold_requests(node.url, "t", responders, args.pending)
    held = min(r.counts.get("publish_ack", 0) for r in responders)
    pinger = Pinger(await client(node.url, "bystander"))
    await asyncio.sleep(0.2)
    pinger.worst = 0.0
    started = time.perf_counter()
    await asyncio.gather(*(r.ws.close() for r in responders))
    with contextlib.suppress(TimeoutError):
        await holder.until(held, "ack_response", timeout=60)
    answered = time.perf_counter() - started
    await asyncio.sleep(0.2)
    return {
        "held": held,
        "bystander_worst_rtt_ms": round(await pinger.stop() * 1000, 1),
        "ack_responses": holder.counts.get("ack_response", 0),
        "seconds_until_answered": round(answered, 2),
        "requester_close_code": holder.close_code,
    }


async def topics(node: Node, args: argparse.Namespace) -> dict[str, Any]:
    before = node.rss_mb()
    hog = Counter(await client(node.url, "hog"))
    for i in range(args.topics):
        await hog.ws.send(f'{{"action":"subscribe","topic":"t{i}"}}')
    await hog.until(args.topics, "subscribed", "error", timeout=600)
    grown = node.rss_mb() - before
    pinger = Pinger(await client(node.url, "bystander"))
    await asyncio.sleep(0.2)
    pinger.worst = 0.0
    await hog.ws.close()
    await asyncio.sleep(1.0)
    return {
        "subscribed": hog.counts.get("subscribed", 0),
        "refused": hog.counts.get("error", 0),
        "rss_growth_mb": round(grown, 1),
        "bystander_worst_rtt_ms_on_leave": round(await pinger.stop() * 1000, 1),
    }


SCENARIOS = {"pending-acks": pending_acks, "silent-responders": silent_responders, "topics": topics}


async def main(argv: Sequence[str]) -> None:
    flags: list[str] = []
    if "--" in argv:
        at = list(argv).index("--")
        argv, flags = argv[:at], list(argv[at + 1 :])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=SCENARIOS)
    parser.add_argument("--pending", type=int, default=None)
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--responders", type=int, default=100)
    parser.add_argument("--topics", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    if args.pending is None:
        args.pending = 100_000 if args.scenario == "pending-acks" else 1000
    node = Node(["--max-frames-per-second", "0", *flags])
    try:
        await node.ready()
        result = await SCENARIOS[args.scenario](node, args)
    finally:
        log = node.stop()
    print(json.dumps({"scenario": args.scenario, "flags": flags, **result}))
    if "Traceback" in log:
        print(log, file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
