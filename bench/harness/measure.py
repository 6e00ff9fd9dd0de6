"""One measurement: a fresh target, the load generator's two phases, and the server sampled around the second.

The server's CPU time is read from /proc just before the load generator is told to go and just after it
reports; its memory once the connections are set up (and settled). The CPU the rest of the machine used in
that window is recorded too, as the noise figure: other test suites share this box.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from . import system
from .loadgen import Loadgen
from .scenarios import ANY_NODES, Measurement, Scenario
from .targets import BASELINE_ENV, RunningTarget, Target, TargetError


def measure(target: Target, scenario: Scenario, profile_to: Path | None = None) -> dict[str, Any]:
    """Run `scenario` once against a fresh `target`; returns its figures and the run's conditions.

    With `profile_to`, py-spy records the server during the measured phase (raw collapsed stacks), or the load
    generator for the scenarios that profile it (`Scenario.profiled`, the Python client's).
    """
    with ExitStack() as stack:
        server = _start(target)
        stack.callback(server.stop)
        pid = server.process.pid
        rss_before = server.rss_bytes()
        redis_before = server.redis_used_memory()
        open_before, limit = system.open_files(pid), system.open_file_limit(pid)
        loadgens = []
        for extra in scenario.processes or [[]]:
            second = _placement(scenario, server)
            args = ["-url", server.url, *second, *target.loadgen_args, *scenario.args, *extra]
            loadgen = Loadgen(scenario.subcommand, args, scenario.loadgen, _loadgen_env(target, scenario))
            stack.callback(loadgen.stop)
            loadgens.append(loadgen)
        ready = [loadgen.ready(scenario.timeout) for loadgen in loadgens]
        settle_cpu = server.cpu_seconds()
        if scenario.settle:
            time.sleep(scenario.settle)  # memory settles; nothing to wait on
        settle_cpu = server.cpu_seconds() - settle_cpu
        server.check_alive()
        rss_loaded = server.rss_bytes()
        redis_loaded = server.redis_used_memory()
        profiled = loadgens[0].process.pid if scenario.profiled == "loadgen" else pid
        profiler = _start_profiler(profiled, profile_to) if profile_to else None
        cpu_before, machine_before, started = server.cpu_seconds(), system.MachineCpu.now(), time.monotonic()
        for loadgen in loadgens:
            loadgen.go()
        result = [loadgen.result(scenario.timeout) for loadgen in loadgens]
        server_cpu = server.cpu_seconds() - cpu_before
        machine_busy = system.MachineCpu.now().busy_since(machine_before)
        wall = time.monotonic() - started
        if profiler:
            _stop_profiler(profiler)
        for loadgen in loadgens:
            loadgen.finish()
        server.check_alive()
    measurement = Measurement(
        ready,
        result,
        server_cpu,
        rss_before,
        rss_loaded,
        open_before,
        limit,
        settle_cpu,
        scenario.settle,
        redis_memory_before=redis_before,
        redis_memory_loaded=redis_loaded,
    )
    loadgen_cpu = sum(part["loadgen_cpu_s"] for part in result)
    return {
        "figures": scenario.compute(measurement),
        "server_cpu_s": server_cpu,
        "wall_s": wall,
        # Cores the rest of the machine (other test suites...) kept busy during the measured phase.
        "others_cores": max(0.0, machine_busy - server_cpu - loadgen_cpu) / wall if wall > 0 else 0.0,
        "load_average_1m": os.getloadavg()[0],
        "loadgen_ready": ready,
        "loadgen": result,
    }


def _loadgen_env(target: Target, scenario: Scenario) -> dict[str, str] | None:
    """The environment of the load generator: the Python one imports ksps from ${BASELINE_ENV} too when the
    target is a baseline (`ksps-base*`), so the pyclient scenarios compare the client before/after as well as
    the server; everything else inherits the harness's environment (the venv's ksps)."""
    baseline = os.environ.get(BASELINE_ENV)
    if scenario.loadgen != "python" or not baseline or not target.name.startswith("ksps-base"):
        return None
    return {**os.environ, "PYTHONPATH": baseline}


def _start(target: Target, attempts: int = 3) -> RunningTarget:
    """Start the target; again on a fresh port when another process took the free one before it could bind
    (other suites share this box: 3 of 30 runs of one batch failed that way)."""
    for attempt in range(attempts):
        try:
            return RunningTarget(target)
        except TargetError as exc:
            if "already in use" not in str(exc) or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _placement(scenario: Scenario, server: RunningTarget) -> list[str]:
    """Where the load generator puts the other end of a cross-node scenario: the second node's URL, and with
    workers behind one port, the workers' pids (it places connections by the process that accepted them)."""
    crosses = scenario.nodes > 1 or (scenario.nodes == ANY_NODES and server.url2)
    if not crosses:
        return []
    pids = ["-server-pids", ",".join(map(str, server.server_pids))] if server.target.workers > 1 else []
    return ["-url2", server.url2, *pids]


def _start_profiler(pid: int, output: Path) -> subprocess.Popen[bytes]:
    py_spy = Path(os.environ.get("PY_SPY", str(Path(sys.executable).parent / "py-spy")))
    process = subprocess.Popen(
        [str(py_spy), "record", "-p", str(pid), "-f", "raw", "-r", "250", "-o", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(0.5)  # py-spy has no "attached" signal; it needs a moment to start sampling
    return process


def _stop_profiler(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
