"""The scenarios: what each asks of the load generator, and the figures it yields from one measurement.

Full sizes are what docs/performance.md reports; `--smoke` uses tiny ones that only prove the suite runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Connections one load generator process opens at most: the open-file limit (20,000 here) is per process.
CONNECTIONS_PER_LOADGEN = 10_000


@dataclass(frozen=True)
class Figure:
    """One number a scenario reports."""

    key: str
    label: str
    higher_is_better: bool
    decimals: int = 0

    def format(self, value: float) -> str:
        return f"{value:,.{self.decimals}f}"


@dataclass(frozen=True)
class Measurement:
    """What one run observed: the load generator's reports and the server's samples around the measured phase."""

    ready: list[dict[str, Any]]
    result: list[dict[str, Any]]
    server_cpu_s: float
    rss_before: int
    rss_loaded: int
    open_files_before: int
    open_file_limit: int
    #: Server CPU time over the settle period, while the connections sat idle.
    settle_cpu_s: float
    settle_s: float

    def total(self, key: str) -> float:
        return float(sum(part[key] for part in self.result))


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    subcommand: str
    args: list[str]
    figures: tuple[Figure, ...]
    compute: Callable[[Measurement], dict[str, float]]
    #: Load generator processes; each gets `args` plus `-prefix loadgen-<i>` when there are several.
    processes: list[list[str]] | None = None
    #: Seconds to wait between "ready" and the samples (lets the server's memory settle).
    settle: float = 0.0
    timeout: float = 120.0
    #: 2 = a cross-node scenario: the load generator gets the second node's URL (`-url2`); only two-node
    #: targets run it.
    nodes: int = 1


DELIVERIES = Figure("deliveries_per_s", "deliveries/s", True)
CPU_PER_DELIVERY = Figure("server_cpu_us_per_delivery", "server CPU µs/delivery", False, 3)
SERVER_CORES = Figure("server_cores", "server CPU (cores)", False, 2)
LOADGEN_CORES = Figure("loadgen_cores", "load generator CPU (cores)", False, 2)


def _fanout(m: Measurement) -> dict[str, float]:
    result = m.result[0]
    deliveries = float(result["deliveries"])
    if result["timed_out"]:
        raise RuntimeError(f"timed out: {deliveries:,.0f} of {result['expected']:,} deliveries")
    return {
        "deliveries_per_s": result["deliveries_per_s"],
        "server_cpu_us_per_delivery": m.server_cpu_s / deliveries * 1e6,
        "server_cores": m.server_cpu_s / result["elapsed_s"],
        "loadgen_cores": result["loadgen_cpu_s"] / result["elapsed_s"],
    }


def _latency(m: Measurement) -> dict[str, float]:
    result = m.result[0]
    return {
        "p50_us": result["p50_us"],
        "p99_us": result["p99_us"],
        "p999_us": result["p999_us"],
        "lost": float(result["expected"] - result["deliveries"]),
        "loadgen_cores": result["loadgen_cpu_s"] / result["loadgen_wall_s"],
    }


def _acks(m: Measurement) -> dict[str, float]:
    result = m.result[0]
    return {
        "round_trips_per_s": result["round_trips_per_s"],
        "rtt_p50_us": result["rtt_p50_us"],
        "rtt_p99_us": result["rtt_p99_us"],
        "failed": float(result["failed"] + result["unanswered_at_stop"]),
        "server_cpu_us_per_round_trip": m.server_cpu_s / max(1, result["completed"]) * 1e6,
    }


def _idle(m: Measurement) -> dict[str, float]:
    connected = sum(part["connected"] for part in m.ready)
    if connected == 0:
        raise RuntimeError(f"no connection: {m.ready[0].get('first_error', '')}")
    return {
        "connected": float(connected),
        "still_open": m.total("still_open"),
        "rss_per_connection_kb": (m.rss_loaded - m.rss_before) / connected / 1024,
        "rss_mb": m.rss_loaded / 2**20,
        "idle_server_cores": m.settle_cpu_s / m.settle_s if m.settle_s else 0.0,
        # What the open-file limit leaves for connections once the server has started.
        "connection_allowance": float(m.open_file_limit - m.open_files_before),
    }


def _connrate(m: Measurement) -> dict[str, float]:
    result = m.result[0]
    if result["failed"]:
        raise RuntimeError(f"{result['failed']} connections failed: {result.get('first_error')}")
    return {
        "connections_per_s": result["connections_per_s"],
        "server_cpu_us_per_connection": m.server_cpu_s / result["connections"] * 1e6,
        # Not in the table: what limited the run (bench/harness/peers.py).
        "server_cores": m.server_cpu_s / result["elapsed_s"],
        "loadgen_cores": result["loadgen_cpu_s"] / result["elapsed_s"],
    }


def _fanout_scenario(subscribers: int, messages: int, window: int) -> Scenario:
    # The window (publications in flight) is large enough that the server, not the round trip of the window,
    # is the limit: with 20 in flight to 1,000 subscribers neither server nor load generator was busy.
    return Scenario(
        name=f"fanout-{subscribers}",
        title=f"fan-out 1 publisher -> {subscribers:,} subscribers, {window} publications in flight",
        subcommand="fanout",
        args=["-subscribers", str(subscribers), "-messages", str(messages), "-window", str(window), "-timeout", "90s"],
        figures=(DELIVERIES, CPU_PER_DELIVERY, SERVER_CORES, LOADGEN_CORES),
        compute=_fanout,
    )


def _latency_scenario(subscribers: int, rate: int, duration: str, warmup: str) -> Scenario:
    return Scenario(
        name=f"latency-{subscribers}",
        title=f"publish-to-deliver latency, {rate:,} publications/s -> {subscribers} subscribers",
        subcommand="latency",
        args=["-subscribers", str(subscribers), "-rate", str(rate), "-duration", duration, "-warmup", warmup],
        figures=(
            Figure("p50_us", "p50 µs", False),
            Figure("p99_us", "p99 µs", False),
            Figure("p999_us", "p99.9 µs", False),
        ),
        compute=_latency,
    )


def _ack_scenario(name: str, inflight: int, duration: str, nodes: int = 1) -> Scenario:
    mode = "sequential" if inflight == 1 else f"{inflight} in flight"
    where = ", the subscriber on the other node (2 cross-node hops per round trip)" if nodes > 1 else ""
    return Scenario(
        name=name,
        title=f"ack round trips, {mode} (publish_with_ack -> 1 subscriber acks -> ack_response){where}",
        nodes=nodes,
        subcommand="ack",
        args=["-inflight", str(inflight), "-duration", duration],
        figures=(
            Figure("round_trips_per_s", "round trips/s", True),
            Figure("rtt_p50_us", "round trip p50 µs", False),
            Figure("server_cpu_us_per_round_trip", "server CPU µs/round trip", False, 1),
        ),
        compute=_acks,
    )


def _idle_scenario(connections: int, settle: float = 0.5, name: str = "") -> Scenario:
    processes = math.ceil(connections / CONNECTIONS_PER_LOADGEN)
    shares = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    during = f", CPU over {settle:.0f} s: the first keepalive PING of each (20 s)" if settle > 1 else ""
    return Scenario(
        name=name or f"idle-{connections}",
        title=f"{connections:,} idle connections (registered, keepalive on){during}",
        subcommand="idle",
        args=[],
        processes=[["-conns", str(share), "-prefix", f"idle{i}", "-timeout", "2s"] for i, share in enumerate(shares)],
        figures=(
            Figure("connected", "connections held", True),
            Figure("rss_per_connection_kb", "server RSS KiB/connection", False, 1),
            Figure("rss_mb", "server RSS MiB", False, 1),
            Figure("idle_server_cores", "server CPU while idle (cores)", False, 2),
        ),
        compute=_idle,
        settle=settle,
        timeout=180.0,
    )


def _connrate_scenario(connections: int) -> Scenario:
    return Scenario(
        name="connrate",
        title=f"connection rate: {connections:,} x (connect, upgrade, ping/pong, close), 32 at a time",
        subcommand="connrate",
        args=["-conns", str(connections), "-parallel", "32"],
        figures=(
            Figure("connections_per_s", "connections/s", True),
            Figure("server_cpu_us_per_connection", "server CPU µs/connection", False),
        ),
        compute=_connrate,
    )


def scenarios(smoke: bool) -> list[Scenario]:
    """The scenarios in the order they run."""
    if smoke:
        return [
            _fanout_scenario(10, 300, 50),
            _latency_scenario(5, 200, "500ms", "200ms"),
            _ack_scenario("ack-seq", 1, "300ms"),
            _ack_scenario("ack-100", 100, "300ms"),
            _ack_scenario("ack-seq-2n", 1, "300ms", nodes=2),
            _idle_scenario(200, settle=0.3),
            _connrate_scenario(100),
        ]
    return [
        _fanout_scenario(100, 10_000, 200),
        _fanout_scenario(1000, 2_000, 100),
        _latency_scenario(10, 1000, "3s", "500ms"),
        _latency_scenario(100, 1000, "2s", "500ms"),
        _ack_scenario("ack-seq", 1, "2s"),
        _ack_scenario("ack-100", 100, "2s"),
        _ack_scenario("ack-seq-2n", 1, "2s", nodes=2),
        *(_idle_scenario(n) for n in (1000, 5000, 10_000, 20_000)),
        # The other idle scenarios measure CPU over 0.5 s, before any keepalive PING is due.
        _idle_scenario(10_000, settle=30.0, name="idle-keepalive"),
        _connrate_scenario(3000),
    ]
