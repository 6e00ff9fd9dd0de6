"""The scenarios: what each asks of the load generator, and the figures it yields from one measurement.

Full sizes are what docs/performance.md reports; `--smoke` uses tiny ones that only prove the suite runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .targets import Target

#: `Scenario.nodes` of the scenarios every target runs: across nodes or workers where the target has several,
#: in one process (the baseline without the hop) where it has one.
ANY_NODES = 0

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
    #: Redis's used_memory on the fresh target and once the connections are set up; None without Redis.
    redis_memory_before: int | None = None
    redis_memory_loaded: int | None = None

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
    #: Topic history (issue 12): the targets with history on run this scenario too (they run no other) ...
    history_variants: bool = False
    #: Which load generator runs it: "go" (bench/loadgen) or "python" (bench/pyloadgen: the ksps Python
    #: client, or bare picows clients), both driven through the same ready/go/result lines.
    loadgen: str = "go"
    #: The targets it runs on (None: every target), and what the others show instead of a figure.
    targets: tuple[str, ...] | None = None
    not_run: str = ""
    #: What `--profile` records: "server", or "loadgen" where the load generator is the subject (the Python
    #: client scenarios: the client's own time is what they measure).
    profiled: str = "server"

    def skip_reason(self, target: Target) -> str | None:
        """Why `target` does not run this scenario, or None: the scenario's own choice of targets, the history
        variants (they run only the scenarios marked for them, or naming them), then the target's own skips."""
        named = self.targets is not None and target.name in self.targets
        if self.targets is not None and not named:
            return self.not_run or "n/a"
        if target.history and not self.history_variants and not named:
            return "n/a: history variant"
        return target.skip_reason(self.name, self.nodes, self.subcommand)


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


def _fanout_scenario(
    subscribers: int, messages: int, window: int, *, nodes: int = 1, history_variants: bool = False
) -> Scenario:
    # The window (publications in flight) is large enough that the server, not the round trip of the window,
    # is the limit: with 20 in flight to 1,000 subscribers neither server nor load generator was busy.
    where = ", half of them on the other node" if nodes > 1 else ""
    return Scenario(
        name=f"fanout-{subscribers}" + ("-2n" if nodes > 1 else ""),
        title=f"fan-out 1 publisher -> {subscribers:,} subscribers{where}, {window} publications in flight",
        nodes=nodes,
        history_variants=history_variants,
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


# --- cross-worker/cross-node scenarios (issue 15): every target runs them (`nodes=ANY_NODES`): on a two-node
# target the other end is on the second node, on `ksps-workers` on another worker than the first end (the load
# generator dials until the kernel puts it there), and on a one-process target in the same process: the baseline
# without the hop, measured in the same run.


def _cross_ack_scenario(duration: str) -> Scenario:
    return Scenario(
        name="cross-ack-seq",
        title="ack round trips, sequential, the subscriber on another node or worker than the publisher where the"
        " target has several (2 hops per round trip; one process: no hop)",
        nodes=ANY_NODES,
        subcommand="ack",
        args=["-inflight", "1", "-duration", duration],
        figures=(
            Figure("round_trips_per_s", "round trips/s", True),
            Figure("rtt_p50_us", "round trip p50 µs", False),
            Figure("rtt_p99_us", "round trip p99 µs", False),
            Figure("server_cpu_us_per_round_trip", "server CPU µs/round trip", False, 1),
        ),
        compute=_acks,
    )


def _cross_latency_scenario(subscribers: int, rate: int, duration: str, warmup: str) -> Scenario:
    base = _latency_scenario(subscribers, rate, duration, warmup)
    return Scenario(
        name=f"cross-latency-{subscribers}",
        title=f"publish-to-deliver latency, {rate:,} publications/s -> {subscribers} subscribers on another node or"
        " worker than the publisher where the target has several (1 hop; one process: no hop)",
        nodes=ANY_NODES,
        subcommand="latency",
        args=base.args,
        figures=base.figures,
        compute=base.compute,
    )


def cross_scenarios(smoke: bool) -> list[Scenario]:
    """The cross-node/cross-worker scenarios, in the order they run."""
    if smoke:  # the latency one adds nothing the smoke run needs: the placement code runs in the ack one
        return [_cross_ack_scenario("300ms")]
    return [_cross_ack_scenario("2s"), _cross_latency_scenario(10, 1000, "3s", "500ms")]


# --- Python load generator (bench/pyloadgen): the former standalone scripts bench/fanout.py,
# bench/cluster_fanout.py and bench/client_bench.py, as scenarios of the suite.

#: The targets that speak the KSPS protocol the way the Python clients expect (ksmux answers every publish
#: with `published`, which the fan-out counters would take for a delivery).
_PY_FANOUT_TARGETS = ("ksps", "ksps-redis", "ksps-2n", "ksps-workers", "ksps-base", "ksps-base-redis", "ksps-base-2n")
_PY_CLIENT_TARGETS = ("ksps", "ksps-base")
_PY_CLIENT_NOT_RUN = "n/a: Python client scenarios run on ksps (and ksps-base)"


def _py_fanout(m: Measurement) -> dict[str, float]:
    result = m.result[0]
    return {
        "deliveries_per_s": result["deliveries_per_s"],
        "server_cpu_us_per_delivery": m.server_cpu_s / result["deliveries"] * 1e6,
        "loadgen_cores": result["loadgen_cpu_s"] / result["elapsed_s"],
    }


def _py_fanout_scenario(subscribers: int, messages: int, window: int, smoke: bool = False) -> Scenario:
    return Scenario(
        name=f"pyfanout-{subscribers}",
        title=f"fan-out 1 publisher -> {subscribers:,} subscribers in 2 Python subscriber processes (bare picows"
        f" clients), {window} in flight; on two nodes the processes alternate between them (half the deliveries"
        " cross Redis)",
        nodes=ANY_NODES,
        subcommand="fanout",
        args=["-subscribers", str(subscribers), "-messages", str(messages), "-window", str(window), "-procs", "2"],
        figures=(DELIVERIES, CPU_PER_DELIVERY, LOADGEN_CORES),
        compute=_py_fanout,
        loadgen="python",
        # --smoke keeps it short: the two-process targets are slow to start, and cross-ack-seq covers them.
        targets=("ksps", "picows-ceiling") if smoke else (*_PY_FANOUT_TARGETS, "picows-ceiling"),
        not_run="n/a: the Python subscribers count `published` replies as deliveries",
    )


def _py_publish(m: Measurement) -> dict[str, float]:
    result = m.result[0]
    published = result["published"]
    return {
        "publishes_per_s": result["publishes_per_s"],
        "client_cpu_us_per_publish": result["loadgen_cpu_s"] / published * 1e6,
        "server_cpu_us_per_publish": m.server_cpu_s / published * 1e6,
    }


def _py_publish_scenario(subcommand: str, messages: int) -> Scenario:
    client = subcommand.startswith("client")
    return Scenario(
        name="pyclient-publish" if client else "pyraw-publish",
        title=(
            f"{messages:,} publications from one ksps Python client (await publish, unpaced), then one ack"
            if client
            else f"{messages:,} publications from a bare picows client (json.dumps per message): the client's baseline"
        ),
        subcommand=subcommand,
        args=["-messages", str(messages)],
        figures=(
            Figure("publishes_per_s", "publishes/s", True),
            Figure("client_cpu_us_per_publish", "client CPU µs/publish", False, 2),
            Figure("server_cpu_us_per_publish", "server CPU µs/publish", False, 2),
        ),
        compute=_py_publish,
        loadgen="python",
        profiled="loadgen",
        targets=(*_PY_CLIENT_TARGETS, "picows-sink") if client else _PY_CLIENT_TARGETS,
        not_run=_PY_CLIENT_NOT_RUN + (" and the picows sink" if client else ""),
    )


def _py_acks(m: Measurement) -> dict[str, float]:
    result = m.result[0]
    completed = result["completed"]
    return {
        "round_trips_per_s": result["round_trips_per_s"],
        "failed": float(result["failed"]),
        "client_cpu_us_per_round_trip": result["loadgen_cpu_s"] / completed * 1e6,
        "server_cpu_us_per_round_trip": m.server_cpu_s / completed * 1e6,
    }


def _py_ack_scenario(subcommand: str, inflight: int, count: int) -> Scenario:
    client = subcommand.startswith("client")
    mode = "sequential" if inflight == 1 else f"{inflight} in flight"
    who = "ksps Python clients (handles, callbacks)" if client else "bare picows clients: the client's baseline"
    return Scenario(
        name=f"{'pyclient' if client else 'pyraw'}-ack-{'seq' if inflight == 1 else inflight}",
        title=f"{count:,} ack round trips, {mode}, publisher and acking subscriber both {who}",
        subcommand=subcommand,
        args=["-count", str(count), "-inflight", str(inflight)],
        figures=(
            Figure("round_trips_per_s", "round trips/s", True),
            Figure("client_cpu_us_per_round_trip", "client CPU µs/round trip", False, 1),
            Figure("server_cpu_us_per_round_trip", "server CPU µs/round trip", False, 1),
        ),
        compute=_py_acks,
        loadgen="python",
        profiled="loadgen",
        targets=_PY_CLIENT_TARGETS,
        not_run=_PY_CLIENT_NOT_RUN,
    )


def _py_latency_scenario(count: int) -> Scenario:
    return Scenario(
        name="pyclient-latency",
        title=f"publish -> subscriber callback, one message at a time, {count:,} samples (two ksps Python clients)",
        subcommand="client-latency",
        args=["-count", str(count)],
        figures=(Figure("p50_us", "p50 µs", False), Figure("p99_us", "p99 µs", False)),
        compute=lambda m: {"p50_us": m.result[0]["p50_us"], "p99_us": m.result[0]["p99_us"]},
        loadgen="python",
        targets=_PY_CLIENT_TARGETS,
        not_run=_PY_CLIENT_NOT_RUN,
    )


def python_scenarios(smoke: bool) -> list[Scenario]:
    """The scenarios of the Python load generator, in the order they run."""
    if smoke:
        return [
            _py_fanout_scenario(10, 300, 50, smoke=True),
            _py_publish_scenario("client-publish", 2000),
            _py_ack_scenario("client-ack", 1, 200),
            _py_ack_scenario("client-ack", 100, 1000),
        ]
    return [
        _py_fanout_scenario(100, 20_000, 200),
        _py_publish_scenario("client-publish", 200_000),
        _py_publish_scenario("raw-publish", 200_000),
        _py_ack_scenario("client-ack", 1, 5_000),
        _py_ack_scenario("raw-ack", 1, 5_000),
        _py_ack_scenario("client-ack", 100, 30_000),
        _py_ack_scenario("raw-ack", 100, 30_000),
        _py_latency_scenario(5_000),
    ]


def scenarios(smoke: bool) -> list[Scenario]:
    """The scenarios in the order they run."""
    if smoke:
        return [
            _fanout_scenario(10, 300, 50, history_variants=True),
            _latency_scenario(5, 200, "500ms", "200ms"),
            _ack_scenario("ack-seq", 1, "300ms"),
            _ack_scenario("ack-100", 100, "300ms"),
            _ack_scenario("ack-seq-2n", 1, "300ms", nodes=2),
            _idle_scenario(200, settle=0.3),
            _connrate_scenario(100),
            *cross_scenarios(smoke),
            *python_scenarios(smoke),
            *_history_scenarios(smoke=True),
        ]
    return [
        _fanout_scenario(100, 10_000, 200, history_variants=True),
        _fanout_scenario(1000, 2_000, 100, history_variants=True),
        _latency_scenario(10, 1000, "3s", "500ms"),
        _latency_scenario(100, 1000, "2s", "500ms"),
        _ack_scenario("ack-seq", 1, "2s"),
        _ack_scenario("ack-100", 100, "2s"),
        _ack_scenario("ack-seq-2n", 1, "2s", nodes=2),
        *(_idle_scenario(n) for n in (1000, 5000, 10_000, 20_000)),
        # The other idle scenarios measure CPU over 0.5 s, before any keepalive PING is due.
        _idle_scenario(10_000, settle=30.0, name="idle-keepalive"),
        _connrate_scenario(3000),
        *cross_scenarios(smoke),
        *python_scenarios(smoke),
        *_history_scenarios(smoke=False),
    ]


# --- topic history (issue 12): fan-out across two nodes, recovery, memory per kept publication. The fan-out
# scenarios marked `history_variants` run on ksps-history & co. next to the same targets with history off.
_HISTORY_ON = ("ksps-history", "ksps-redis-history", "ksps-2n-history")


def _recovery(m: Measurement) -> dict[str, float]:
    result = m.result[0]
    return {
        "recovery_ms": result["recovery_ms"],
        "recovered_per_s": result["recovered_per_s"],
        "first_ms": result["first_ms"],
        "server_cpu_ms_per_recovery": m.server_cpu_s / result["rounds"] * 1e3,
    }


def _recovery_scenario(messages: int, rounds: int, nodes: int = 1) -> Scenario:
    where = ", the recovering connection on the other node" if nodes > 1 else ""
    return Scenario(
        name="history-recover" + ("-2n" if nodes > 1 else ""),
        title=f"recovery of {messages:,} missed publications (subscribe with since -> subscribed), {rounds} times"
        + where,
        subcommand="recover",
        args=["-messages", str(messages), "-rounds", str(rounds)],
        figures=(
            Figure("recovery_ms", f"ms to recover {messages:,} (median of {rounds})", False, 1),
            Figure("recovered_per_s", "recovered publications/s", True),
            Figure("first_ms", "first recovery ms", False, 1),
            Figure("server_cpu_ms_per_recovery", "server CPU ms/recovery", False, 1),
        ),
        compute=_recovery,
        nodes=nodes,
        targets=_HISTORY_ON,
    )


def _kept(m: Measurement) -> dict[str, float]:
    publications = float(m.ready[0]["publications"])
    figures = {"rss_bytes_per_publication": (m.rss_loaded - m.rss_before) / publications}
    if m.redis_memory_before is not None and m.redis_memory_loaded is not None:
        figures["redis_bytes_per_publication"] = (m.redis_memory_loaded - m.redis_memory_before) / publications
    return figures


def _kept_scenario(topics: int, per_topic: int, payload: int) -> Scenario:
    return Scenario(
        name=f"history-kept-{payload}",
        title=f"{topics} topics x {per_topic:,} publications of {payload} bytes, nobody subscribed: memory kept",
        subcommand="keep",
        args=["-topics", str(topics), "-per-topic", str(per_topic), "-payload", str(payload)],
        figures=(
            Figure("rss_bytes_per_publication", "server RSS bytes/publication", False),
            Figure("redis_bytes_per_publication", "Redis used_memory bytes/publication", False),
        ),
        compute=_kept,
        settle=0.5,
        timeout=300.0,
        targets=("ksps", "ksps-history", "ksps-redis", "ksps-redis-history"),
    )


def _history_scenarios(smoke: bool) -> list[Scenario]:
    if smoke:
        return [_recovery_scenario(300, 1), _kept_scenario(5, 40, 110)]
    return [
        _fanout_scenario(100, 10_000, 200, nodes=2, history_variants=True),
        _recovery_scenario(10_000, 3),
        _recovery_scenario(10_000, 3, nodes=2),
        _kept_scenario(100, 1_000, 110),
        _kept_scenario(100, 1_000, 1_000),
    ]


# --- end of topic history
