"""The servers under test, as a registry: adding one is a few lines in `TARGETS`.

Each target runs as a fresh subprocess on a free loopback port for every measurement, with its defaults
(keepalive on). A target may need helper processes (Redis); their CPU counts as the server's.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ksps.testing import free_port

from . import centrifugo, system
from .scenarios import ANY_NODES

BENCH = Path(__file__).resolve().parent.parent
BUILD = BENCH / ".build"


@dataclass(frozen=True)
class Helper:
    """A process a target needs next to it (Redis), started first on its own port."""

    name: str
    command: Callable[[int], list[str]]


@dataclass(frozen=True)
class Target:
    """One server under test."""

    name: str
    #: One line for the docs: what it is and how it runs.
    summary: str
    #: argv for a port; `helpers` maps each helper's name to its port.
    command: Callable[[int, Mapping[str, int]], list[str]]
    helpers: tuple[Helper, ...] = ()
    #: Why the target cannot run on this machine now, or None.
    unavailable: Callable[[], str | None] = lambda: None
    #: Scenarios (by name) this target does not run, and why; shown in the table instead of a figure.
    skips: Mapping[str, str] = field(default_factory=dict)
    #: Run by default, and in --smoke.
    default: bool = True
    smoke: bool = False
    #: Built by `go build` before the suite starts.
    go_package: str | None = None
    #: Server processes: 2 = two cluster nodes sharing the helpers (`url2` is the second's), for the
    #: cross-node scenarios; those run only on such targets, and they run nothing else.
    nodes: int = 1
    #: Topic history on (issue 12): a variant of another target that runs only the scenarios marked
    #: `history_variants` (and those that name it), against the same target with history off.
    history: bool = False
    #: An HTTP path polled after the port opens until it answers 200: a ksps node accepts connections before
    #: it has joined Redis (docs/performance.md, "Topic history"); a run should measure a joined node.
    ready_path: str | None = None
    #: Seconds to wait after `ready_path` answers: a node that just joined Redis sends every history `pub` to
    #: all nodes for two heartbeats (spec/cluster.md §11, rule 5); a run should measure the steady state, and
    #: that window is defined by time, so time is what is waited for.
    settle_s: float = 0.0
    #: Processes behind one port (`ksps serve --workers N`): one command starts them all and `url2` is `url`;
    #: the load generator is given their pids to place connections on different ones (bench/loadgen/placement.go).
    workers: int = 1
    #: Text the target writes to its output once it is fully up (all workers listening), waited for after the port.
    ready_text: str = ""
    #: The only scenarios it runs, if set (a baseline made for a few); the others show `runs_only_reason`.
    runs_only: tuple[str, ...] = ()
    runs_only_reason: str = ""
    #: Where the server serves WebSocket clients.
    ws_path: str = "/ws/bus"
    #: Extra load generator flags for every scenario (its `-protocol`, for a server that does not speak KSPS).
    loadgen_args: tuple[str, ...] = ()
    #: The load generator subcommands this target can be measured with (None: all); others are shown as n/a.
    subcommands: frozenset[str] | None = None
    #: Called once before the suite when the target is chosen: a build of its own (slow, so cached), raising
    #: an exception that says why it failed.
    prepare: Callable[[], None] | None = None

    def skip_reason(self, scenario_name: str, scenario_nodes: int, subcommand: str = "") -> str | None:
        """Why this target does not run that scenario, or None."""
        if scenario_name in self.skips:
            return self.skips[scenario_name]
        if self.runs_only and scenario_name not in self.runs_only:
            return self.runs_only_reason or "n/a"
        if subcommand and self.subcommands is not None and subcommand not in self.subcommands:
            return f"n/a: no `{subcommand}` for this server in the load generator"
        if scenario_nodes == ANY_NODES:
            return None
        if scenario_nodes != self.nodes:
            return "n/a: cross-node scenario" if scenario_nodes > 1 else "n/a: two-node target"
        return None


#: The load generators open up to 20,000 connections from 127.0.0.1 and publish unpaced: the per-address
#: connection limit and the frame rate limit (docs/reliability.md) are lifted; the open-file limit still applies.
_KSPS_BENCH_LIMITS = ("--max-connections-per-address", "0", "--max-connections", "0", "--max-frames-per-second", "0")


def _ksps(port: int, helpers: Mapping[str, int], *extra: str) -> list[str]:
    address = f"127.0.0.1:{port}"
    limits = _KSPS_BENCH_LIMITS
    return [sys.executable, "-m", "ksps", "serve", "--address", address, "--log-level", "error", *limits, *extra]


#: A source tree (its `src` directory) of another ksps version, run as target `ksps-base` with this
#: repository's venv: same Python, same dependencies, so a change is measured against its base in one run.
BASELINE_ENV = "KSPS_BENCH_BASELINE"


def _ksps_base(port: int, helpers: Mapping[str, int], *extra: str) -> list[str]:
    # `env` execs Python in place: the pid is the server's, and PYTHONPATH comes before the editable install.
    return ["env", f"PYTHONPATH={os.environ.get(BASELINE_ENV, '')}", *_ksps(port, helpers, *extra)]


def _baseline_missing() -> str | None:
    path = os.environ.get(BASELINE_ENV)
    if not path:
        return f"set {BASELINE_ENV} to the src directory of the ksps version to compare with"
    return None if (Path(path) / "ksps" / "__main__.py").is_file() else f"{BASELINE_ENV}={path} holds no ksps"


def _redis(port: int) -> list[str]:
    return ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]


def _redis_missing() -> str | None:
    if shutil.which("redis-server") is None:
        return "redis-server is not on PATH"
    help_text = subprocess.run(
        [sys.executable, "-m", "ksps", "serve", "--help"], capture_output=True, text=True, check=False
    ).stdout
    return None if "--redis" in help_text else "this ksps has no --redis option yet"


def _go_missing() -> str | None:
    return None if shutil.which("go") else "go is not on PATH"


_NO_ACKS = "n/a: no acknowledgement logic"

# --- topic history (issue 12, docs/performance.md "Topic history"): ksps, ksps-redis and ksps-2n with history
# on for every topic. The recovery scenario needs 10,000 publications kept and recovered in one go; the memory
# scenarios keep 100,000 publications of up to 1,000 bytes (about 120 MB), past the 64 MiB --history-max-bytes.
HISTORY_OPTIONS = (
    "--history-size",
    "10000",
    "--history-recover-max",
    "10000",
    "--history-max-bytes",
    str(1 << 30),
)


#: Two heartbeats of `ksps serve` (1 s each) and a margin: a history node's cold window after its join.
_COLD_WINDOW_S = 2.5


def _redis_url(helpers: Mapping[str, int]) -> tuple[str, str]:
    return ("--redis", f"redis://127.0.0.1:{helpers['redis']}/0")


_HISTORY_TARGETS = (
    Target(
        name="ksps-history",
        summary="`ksps` with `--history-size 10000 --history-recover-max 10000` (memory engine)",
        command=lambda port, helpers: _ksps(port, helpers, *HISTORY_OPTIONS),
        history=True,
        smoke=True,
    ),
    Target(
        name="ksps-redis-history",
        summary="`ksps-redis` with the history options of `ksps-history` (Redis engine)",
        command=lambda port, helpers: _ksps(port, helpers, *_redis_url(helpers), *HISTORY_OPTIONS),
        helpers=(Helper("redis", _redis),),
        unavailable=_redis_missing,
        history=True,
        ready_path="/readyz",
        settle_s=_COLD_WINDOW_S,
    ),
    Target(
        name="ksps-2n-history",
        summary="`ksps-2n` with the history options of `ksps-history` (Redis engine, shared by both nodes)",
        command=lambda port, helpers: _ksps(port, helpers, *_redis_url(helpers), *HISTORY_OPTIONS),
        helpers=(Helper("redis", _redis),),
        unavailable=_redis_missing,
        history=True,
        ready_path="/readyz",
        settle_s=_COLD_WINDOW_S,
        nodes=2,
    ),
    # The baseline source tree ($KSPS_BENCH_BASELINE) with the same history options: before/after a change.
    Target(
        name="ksps-base-history",
        summary="`ksps-base` with the history options of `ksps-history` (memory engine)",
        command=lambda port, helpers: _ksps_base(port, helpers, *HISTORY_OPTIONS),
        unavailable=_baseline_missing,
        history=True,
        default=False,
    ),
    Target(
        name="ksps-base-redis-history",
        summary="`ksps-base-redis` with the history options of `ksps-history` (Redis engine)",
        command=lambda port, helpers: _ksps_base(port, helpers, *_redis_url(helpers), *HISTORY_OPTIONS),
        helpers=(Helper("redis", _redis),),
        unavailable=lambda: _baseline_missing() or _redis_missing(),
        history=True,
        default=False,
        ready_path="/readyz",
        settle_s=_COLD_WINDOW_S,
    ),
)
# --- end of topic history

TARGETS: dict[str, Target] = {
    target.name: target
    for target in (
        Target(
            name="ksps",
            summary="`python -m ksps serve`, this repository, one process",
            command=_ksps,
            smoke=True,
        ),
        Target(
            name="ksps-redis",
            summary="`python -m ksps serve --redis ...`, one process joined to a local Redis (its CPU counted too)",
            command=lambda port, helpers: _ksps(port, helpers, "--redis", f"redis://127.0.0.1:{helpers['redis']}/0"),
            helpers=(Helper("redis", _redis),),
            unavailable=_redis_missing,
        ),
        Target(
            name="ksps-base",
            summary=f"`python -m ksps serve` from the source tree in ${BASELINE_ENV} (a before/after baseline; the"
            " Python load generator's client comes from there too)",
            command=_ksps_base,
            unavailable=_baseline_missing,
            default=False,
        ),
        Target(
            name="ksps-base-redis",
            summary="`ksps-base` joined to a local Redis, like `ksps-redis`",
            command=lambda port, helpers: _ksps_base(
                port, helpers, "--redis", f"redis://127.0.0.1:{helpers['redis']}/0"
            ),
            helpers=(Helper("redis", _redis),),
            unavailable=lambda: _baseline_missing() or _redis_missing(),
            default=False,
        ),
        Target(
            name="ksps-2n",
            summary="two `python -m ksps serve --redis ...` nodes on one local Redis (CPU of all three counted)",
            command=lambda port, helpers: _ksps(port, helpers, "--redis", f"redis://127.0.0.1:{helpers['redis']}/0"),
            helpers=(Helper("redis", _redis),),
            unavailable=_redis_missing,
            nodes=2,
        ),
        Target(
            name="ksps-base-2n",
            summary="`ksps-2n` with the source tree in $KSPS_BENCH_BASELINE",
            command=lambda port, helpers: _ksps_base(
                port, helpers, "--redis", f"redis://127.0.0.1:{helpers['redis']}/0"
            ),
            helpers=(Helper("redis", _redis),),
            unavailable=lambda: _baseline_missing() or _redis_missing(),
            default=False,
            nodes=2,
        ),
        Target(
            name="ksmux",
            summary="the original KSPS Go server, `github.com/kamalshkeir/ksmux/ksps` v0.9.5 (bench/targets/ksmux)",
            command=lambda port, helpers: [str(BUILD / "ksmux"), f"127.0.0.1:{port}"],
            unavailable=_go_missing,
            go_package="./targets/ksmux",
        ),
        # --- centrifugo: the leading real-time server as a peer (bench/harness/centrifugo.py).
        Target(
            name="centrifugo",
            summary=f"Centrifugo {centrifugo.version()}, `{centrifugo.PACKAGE}` built from its module"
            " (bench/targets/centrifugo), anonymous clients allowed to subscribe and publish, no history or presence",
            command=centrifugo.command,
            # No `unavailable`: without Go its build fails in `prepare`, which stops a run that named the target
            # and skips it with a note in a default run.
            skips={"ack-seq": _NO_ACKS, "ack-100": _NO_ACKS},
            ws_path=centrifugo.WS_PATH,
            loadgen_args=("-protocol", "centrifugo"),
            subcommands=centrifugo.SUBCOMMANDS,
            prepare=centrifugo.build,
        ),
        # --- server-api: the ASGI mount (docs/asgi.md); not in the default run: `--targets ksps,ksps-asgi`.
        Target(
            name="ksps-asgi",
            summary="bench/targets/ksps_asgi.py: `ksps.asgi.ASGIApp` under uvicorn (uvloop, websockets-sansio)",
            command=lambda port, helpers: [sys.executable, str(BENCH / "targets" / "ksps_asgi.py"), str(port)],
            default=False,
        ),
        Target(
            name="picows-ceiling",
            summary="bench/baselines/picows_broadcast.py: bare picows broadcast, coalesced writes, no pub/sub logic",
            command=lambda port, helpers: [sys.executable, str(BENCH / "baselines" / "picows_broadcast.py"), str(port)],
            skips={"ack-seq": _NO_ACKS, "ack-100": _NO_ACKS, "cross-ack-seq": _NO_ACKS},
            smoke=True,
        ),
        # --- workers: `ksps serve --workers 2`, one port, the kernel spreads the connections (SO_REUSEPORT).
        Target(
            name="ksps-workers",
            summary="`python -m ksps serve --workers 2 --redis ...`: two worker processes on one port (SO_REUSEPORT)"
            " and a local Redis (CPU of all counted)",
            command=lambda port, helpers: _ksps(
                port, helpers, "--redis", f"redis://127.0.0.1:{helpers['redis']}/0", "--workers", "2"
            ),
            helpers=(Helper("redis", _redis),),
            unavailable=_redis_missing,
            skips={"ack-seq-2n": "n/a: see cross-ack-seq (the same exchange, across workers)"},
            nodes=2,
            workers=2,
            ready_text="serving on",
            smoke=True,
        ),
        # --- the Python client's ceiling (bench/pyloadgen's client-publish): a server that does nothing.
        Target(
            name="picows-sink",
            summary="bench/baselines/picows_sink.py: bare picows that answers ping and publish_with_ack and drops the"
            " rest: the Python client's own ceiling",
            command=lambda port, helpers: [sys.executable, str(BENCH / "baselines" / "picows_sink.py"), str(port)],
            runs_only=("pyclient-publish",),
            runs_only_reason="n/a: a sink (the client's ceiling)",
            smoke=True,
        ),
        *_HISTORY_TARGETS,
    )
}


class TargetError(RuntimeError):
    """A target did not start or died."""


class RunningTarget:
    """A started target: its port, its processes, and how to stop them."""

    def __init__(self, target: Target, startup_timeout: float = 20.0) -> None:
        self.target = target
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}{target.ws_path}"
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the target; closed in stop)
        self._helpers: list[subprocess.Popen[bytes]] = []
        ports: dict[str, int] = {}
        self._helper_ports = ports
        try:
            for helper in target.helpers:
                ports[helper.name] = free_port()
                self._helpers.append(self._spawn(helper.command(ports[helper.name])))
                self._wait(self._helpers[-1], ports[helper.name], startup_timeout, helper.name, server=False)
            self.process = self._spawn(target.command(self.port, ports))
            self._wait(self.process, self.port, startup_timeout, target.name)
            self.url2 = ""
            if target.workers > 1:
                self.url2 = self.url  # the same port; the load generator places connections by worker pid
            elif target.nodes == 2:
                port2 = free_port()
                self._helpers.append(self._spawn(target.command(port2, ports)))
                self._wait(self._helpers[-1], port2, startup_timeout, target.name + " (second node)")
                self.url2 = f"ws://127.0.0.1:{port2}{target.ws_path}"
        except BaseException:
            self.stop()
            raise

    def _spawn(self, argv: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)

    def _wait(
        self, process: subprocess.Popen[bytes], port: int, timeout: float, name: str, server: bool = True
    ) -> None:
        if not system.wait_for_port(port, timeout, lambda: process.poll() is None):
            raise TargetError(f"{name} did not start: {self.log_tail()}")
        path = self.target.ready_path if server else None
        if path and not system.wait_for_http(port, path, timeout):
            raise TargetError(f"{name} did not answer 200 on {path}: {self.log_tail()}")
        if server and self.target.settle_s:
            time.sleep(self.target.settle_s)
        if process is getattr(self, "process", None) and self.target.ready_text:
            self._wait_for_text(self.target.ready_text, timeout, process)

    def _wait_for_text(self, text: str, timeout: float, process: subprocess.Popen[bytes]) -> None:
        """Poll the target's output for `text` (a worker listens before the others do: the port alone is not
        enough); the output is a file, so there is no event to wait on."""
        deadline = time.monotonic() + timeout
        while text not in self.log_tail(size=1 << 16):
            if time.monotonic() > deadline or process.poll() is not None:
                raise TargetError(f"{self.target.name} never said {text!r}: {self.log_tail()}")
            time.sleep(0.05)

    @property
    def server_pids(self) -> list[int]:
        """The server's own processes (workers included, helpers such as Redis not)."""
        return system.process_tree(self.process.pid)

    @property
    def pids(self) -> list[int]:
        """Every process whose CPU counts as the server's: the server, its children, its helpers."""
        roots = [self.process.pid, *(helper.pid for helper in self._helpers)]
        return [pid for root in roots for pid in system.process_tree(root)]

    def cpu_seconds(self) -> float:
        return sum(system.cpu_seconds(pid) for pid in self.pids)

    def rss_bytes(self) -> int:
        """Memory of the server processes (helpers such as Redis excluded)."""
        return sum(system.rss_bytes(pid) for pid in system.process_tree(self.process.pid))

    def redis_used_memory(self) -> int | None:
        """Redis's `used_memory` (bytes its allocator holds for data), or None when the target has no Redis."""
        port = self._helper_ports.get("redis")
        if port is None:
            return None
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            connection.sendall(b"INFO memory\r\n")
            reply = b""
            # A RESP bulk string: `$<length>\r\n<text>\r\n`.
            while b"\r\n" not in reply or len(reply) < reply.index(b"\r\n") + 4 + int(reply[1 : reply.index(b"\r\n")]):
                chunk = connection.recv(65536)
                if not chunk:
                    raise TargetError("Redis closed the connection during INFO")
                reply += chunk
        for line in reply.decode().splitlines():
            if line.startswith("used_memory:"):
                return int(line.split(":", 1)[1])
        raise TargetError(f"no used_memory in Redis's INFO: {reply[:200]!r}")

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise TargetError(f"{self.target.name} exited with {self.process.returncode}: {self.log_tail()}")

    def log_tail(self, size: int = 2000) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-size:].strip() or "(no output)"

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s; helpers after the server."""
        for process in [getattr(self, "process", None), *reversed(self._helpers)]:
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        self._log.close()
