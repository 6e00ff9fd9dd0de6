"""Real processes for the cluster suite: a `redis-server` and `ksps serve` nodes, with their logs watched.

Nothing here sleeps to synchronise: a thread reads each process's output line by line, and tests wait for
the line that proves what they need ("Ready to accept connections", "listening on", "is back").
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from typing import IO

import pytest

from ksps.testing import free_port

from .wire import units

#: Seconds between two state messages of a node, and of silence before the others forget it (fast tests).
HEARTBEAT = 0.2
NODE_TIMEOUT = 1.0
#: Log lines of a node losing Redis and getting it back.
LOST = r"lost the redis connection|redis write failed"
BACK = r"redis connection to \S+ is back"
#: The longest pause of a node's reconnection backoff (spec/cluster.md §7).
MAX_BACKOFF = 5.0


def clean_env() -> dict[str, str]:
    """This environment without KSPS_* settings, which would change what `ksps serve` does."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("KSPS_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


class LogWatcher:
    """Collects the output lines of a process in a thread; `wait_for` blocks until a line shows up."""

    def __init__(self, stream: IO[str], name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self.ended = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), name=f"log-{name}", daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self.ended = True
            self._changed.notify_all()

    def count(self, pattern: str) -> int:
        """Lines seen so far that match the regular expression `pattern`."""
        with self._changed:
            return len(self._matching(pattern))

    def _matching(self, pattern: str) -> list[str]:
        return [line for line in self.lines if re.search(pattern, line)]

    def wait_for(self, pattern: str, timeout: float, count: int = 1) -> list[str]:
        """Block until `count` lines match the regular expression `pattern`; returns them, or fails with the log."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._matching(pattern)) >= count or self.ended, timeout=timeout)
            found = self._matching(pattern)
            if len(found) < count:
                tail = "\n".join(self.lines[-30:])
                state = "exited" if self.ended else f"still running after {timeout:.1f} s"
                seen = f"{pattern!r} seen {len(found)}/{count} times ({state})"
                raise AssertionError(f"{self.name}: {seen}; log:\n{tail}")
            return found


def _stop(process: subprocess.Popen[str], timeout: float) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class RedisProcess:
    """A throwaway `redis-server` on 127.0.0.1; can be killed and restarted on its port.

    It persists nothing, unless `persist`: then every write is in its append-only file before Redis answers
    (`appendonly yes`, `appendfsync always`), so a kill and a restart keep the history (docs/history.md).
    """

    def __init__(self, port: int | None = None, *, persist: bool = False) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            pytest.fail(
                "redis-server is not on PATH: the cluster tests need a real Redis "
                "(Debian/Ubuntu: `sudo apt-get install redis-server`)",
                pytrace=False,
            )
        self.executable = executable
        self.port = port or free_port()
        self.process: subprocess.Popen[str] | None = None
        self.log: LogWatcher | None = None
        self._data = tempfile.TemporaryDirectory(prefix="ksps-redis-") if persist else None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisProcess:
        """Start and wait until it accepts connections."""
        command = [self.executable, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--daemonize", "no"]
        if self._data is None:
            command += ["--appendonly", "no"]
        else:
            command += ["--appendonly", "yes", "--appendfsync", "always", "--dir", self._data.name]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True
        )
        assert self.process.stdout is not None
        self.log = LogWatcher(self.process.stdout, f"redis:{self.port}")
        self.log.wait_for("Ready to accept connections", units(10))
        return self

    def start_on_a_free_port(self) -> RedisProcess:
        """`start`, on another free port if the one picked was taken meanwhile."""
        for _ in range(3):
            try:
                return self.start()
            except AssertionError:
                assert self.log is not None and self.process is not None
                if not self.log.count("Address already in use"):
                    raise
                self.process.wait()
                self.port = free_port()
        raise AssertionError("redis-server: no free port after 3 tries")

    def kill(self) -> None:
        """SIGKILL: every connection drops at once, as when the Redis host dies."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def pause(self) -> None:
        """SIGSTOP: Redis hangs; what clients send meanwhile waits in its socket buffers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def unpause(self) -> None:
        """SIGCONT: Redis goes on, and runs what was sent while it hung."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            self.unpause()
            _stop(self.process, units(5))
        if self._data is not None:
            self._data.cleanup()


class NodeProcess:
    """One `python -m ksps serve --redis ...` node on a free port of 127.0.0.1."""

    def __init__(
        self,
        redis_url: str,
        prefix: str,
        server_id: str,
        extra: Sequence[str] = (),
        port: int | None = None,
        workers: int = 1,
    ) -> None:
        self._fixed_port = port is not None
        self.port = port or free_port()
        self.server_id = server_id
        self.workers = workers
        self._options = (redis_url, prefix, tuple(extra))
        self._spawn()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"ws://{self.address}/ws/bus"

    def _spawn(self) -> None:
        redis_url, prefix, extra = self._options
        command = [sys.executable, "-m", "ksps", "serve", "--address", self.address, "--redis", redis_url]
        command += ["--redis-prefix", prefix, "--cluster-heartbeat", str(HEARTBEAT)]
        command += ["--cluster-node-timeout", str(NODE_TIMEOUT), "--log-level", "info"]
        if self.server_id:
            command += ["--server-id", self.server_id]
        if self.workers > 1:
            command += ["--workers", str(self.workers)]
        command += list(extra)
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=clean_env(),
        )
        assert self.process.stderr is not None
        self.log = LogWatcher(self.process.stderr, f"node:{self.server_id or self.port}")

    def wait_ready(self) -> NodeProcess:
        """Block until every worker logged that it listens."""
        for _ in range(3):
            try:
                self.log.wait_for("listening on", units(15), count=self.workers)
                return self
            except AssertionError:
                # The free port we picked was taken meanwhile (by another test's client, say): pick another.
                if self._fixed_port or not self.log.ended or not self.log.count("address already in use"):
                    raise
                self.process.wait()
                self.port = free_port()
                self._spawn()
        raise AssertionError(f"{self.server_id}: no free port after 3 tries")

    @property
    def node_ids(self) -> list[str]:
        """The cluster node IDs this process joined as (one per worker), from its log."""
        return [m.group(1) for line in self.log.lines if (m := re.search(r'as node ([^\s"]+)', line))]

    def kill(self) -> None:
        """SIGKILL: no goodbye to the other nodes, no closing handshake with the clients."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        _stop(self.process, units(10))
