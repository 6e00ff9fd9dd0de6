"""Builds the Go programs of the suite and drives the load generator (bench/loadgen) through its two phases.

The load generator prints `{"event":"ready",...}` once its connections are set up, waits for a line on its
stdin, runs the measured phase and prints `{"event":"result",...}`: the harness samples the server in between.
"""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import tempfile
import threading
from typing import Any

from .targets import BENCH, BUILD


class LoadgenError(RuntimeError):
    """The load generator failed or did not answer in time."""


def build(packages: list[str]) -> None:
    """`go build` the load generator and the Go targets into bench/.build/ (versions pinned by bench/go.mod)."""
    BUILD.mkdir(exist_ok=True)
    command = ["go", "build", "-o", f"{BUILD}/", "./loadgen", *packages]
    done = subprocess.run(command, cwd=BENCH, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise LoadgenError(f"{' '.join(command)} failed:\n{done.stderr.strip()}")


#: The load generators by kind (`Scenario.loadgen`): the Go one, and the Python one (bench/pyloadgen) for the
#: scenarios whose load must be Python (the ksps client library, bare picows clients).
PROGRAMS = {"go": [str(BUILD / "loadgen")], "python": [sys.executable, str(BENCH / "pyloadgen")]}


class Loadgen:
    """One load generator process running one scenario."""

    def __init__(
        self, subcommand: str, args: list[str], kind: str = "go", env: dict[str, str] | None = None
    ) -> None:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the process; closed in stop)
        self.process = subprocess.Popen(
            [*PROGRAMS[kind], subcommand, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=env,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _event(self, name: str, timeout: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise LoadgenError(f"no {name} from the load generator within {timeout:.0f} s") from None
        if line is None:
            self.process.wait(5)
            raise LoadgenError(f"load generator exited ({self.process.returncode}): {self.stderr_tail()}")
        event: dict[str, Any] = json.loads(line)
        if event.pop("event", None) != name:
            raise LoadgenError(f"expected {name}, got {line.strip()}")
        return event

    def ready(self, timeout: float) -> dict[str, Any]:
        """Wait until the connections are set up; returns what the load generator reports about them."""
        return self._event("ready", timeout)

    def go(self) -> None:
        """Start the measured phase."""
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def result(self, timeout: float) -> dict[str, Any]:
        """Wait for the measured phase to end; the figures, with the load generator's own CPU time."""
        return self._event("result", timeout)

    def finish(self) -> None:
        """Let the load generator exit (closing its connections) once the server has been sampled."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            raise LoadgenError("the load generator did not exit within 30 s of its result") from None

    def stderr_tail(self, size: int = 1500) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-size:].strip() or "(no output)"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None and not stream.closed:
                with contextlib.suppress(OSError):
                    stream.close()
        self._stderr.close()
