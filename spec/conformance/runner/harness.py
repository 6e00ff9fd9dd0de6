"""The conformance runner's tools: adapter processes, the in-process server, and the time unit.

Every wait has a timeout expressed in UNIT seconds (env `KSPS_CONFORMANCE_UNIT`, default 1.0): raise it on a
slow machine, and every wait of the suite scales with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest

from ksps import Server
from ksps.protocol import CloseCodes
from ksps.server import Reject, UpgradeRequest
from ksps.server.server import core_of
from ksps.testing import RestartableServer, free_port

#: The tunable time unit, in seconds.
UNIT = float(os.environ.get("KSPS_CONFORMANCE_UNIT", "1.0"))
#: Default wait for a reply or an event.
WAIT = 5 * UNIT
REPO = Path(__file__).resolve().parents[3]
#: How RunnerServer serves clients: "picows" (its own listener) or "asgi" (ksps.asgi under uvicorn); set
#: from the runner's `--server` option (server-api).
SERVER_TARGET = os.environ.get("KSPS_CONFORMANCE_SERVER", "picows")
_ASGI_SERVERS: dict[str, Literal["uvicorn", "hypercorn"]] = {"asgi": "uvicorn", "asgi-hypercorn": "hypercorn"}


class AdapterError(AssertionError):
    """An adapter answered `ok: false`, or did not answer in time."""


class Adapter:
    """One running adapter process (spec/conformance/ADAPTER.md): commands in, replies and events out."""

    def __init__(self, label: str, process: asyncio.subprocess.Process) -> None:
        self.label = label
        self.process = process
        self.events: list[dict[str, Any]] = []
        self._taken: set[int] = set()
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next_id = 0
        self._changed = asyncio.Event()
        self.stderr: list[str] = []
        self._reader = asyncio.create_task(self._read_stdout())
        self._stderr_reader = asyncio.create_task(self._read_stderr())

    @classmethod
    async def start(cls, label: str, command: list[str], cwd: Path) -> Adapter:
        """Start an adapter process."""
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=cwd,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=64 * 1024 * 1024,
        )
        return cls(label, process)

    async def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            try:
                message = json.loads(line)
            except ValueError:
                self.stderr.append(f"[non-JSON stdout] {line!r}")
                continue
            if "event" in message:
                self.events.append(message)
                self._changed.set()
            elif (future := self._replies.pop(message.get("id"), None)) is not None and not future.done():
                future.set_result(message)
        self._changed.set()
        for future in self._replies.values():
            if not future.done():
                future.set_exception(AdapterError(f"{self.label}: adapter exited; stderr:\n{self.stderr_text()}"))

    async def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.stderr.append(line.decode(errors="replace").rstrip())

    def stderr_text(self) -> str:
        """The last lines the adapter wrote to stderr (for failure messages)."""
        return "\n".join(self.stderr[-40:])

    # -- commands ----------------------------------------------------------------------------------------

    def send(self, cmd: str, **args: Any) -> asyncio.Future[dict[str, Any]]:
        """Send a command; the future gets its reply (`ok` true or false). For commands that block."""
        assert self.process.stdin is not None
        self._next_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[self._next_id] = future
        line = json.dumps({"id": self._next_id, "cmd": cmd, "args": args}) + "\n"
        self.process.stdin.write(line.encode())
        return future

    async def reply(self, future: asyncio.Future[dict[str, Any]], timeout: float = WAIT) -> dict[str, Any]:
        """The reply a `send` future gets, within `timeout` seconds."""
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            raise AdapterError(
                f"{self.label}: no reply within {timeout:.1f} s; stderr:\n{self.stderr_text()}"
            ) from None

    async def call(self, cmd: str, timeout: float = WAIT, **args: Any) -> dict[str, Any]:
        """Run a command and return its `result`; an `ok: false` reply fails the test."""
        reply = await self.reply(self.send(cmd, **args), timeout)
        if not reply.get("ok"):
            raise AdapterError(f"{self.label}: {cmd} failed: {reply.get('error')}")
        result: dict[str, Any] = reply.get("result") or {}
        return result

    async def result_of(self, future: asyncio.Future[dict[str, Any]], timeout: float = WAIT) -> dict[str, Any]:
        """The `result` of a command started with `send`; an `ok: false` reply fails the test."""
        reply = await self.reply(future, timeout)
        if not reply.get("ok"):
            raise AdapterError(f"{self.label}: command failed: {reply.get('error')}")
        result: dict[str, Any] = reply.get("result") or {}
        return result

    # -- events ------------------------------------------------------------------------------------------

    def _find(self, kind: str, match: dict[str, Any], where: Callable[[dict[str, Any]], bool] | None) -> int:
        for index, event in enumerate(self.events):
            if index in self._taken or event.get("event") != kind:
                continue
            if all(event.get(key) == value for key, value in match.items()) and (where is None or where(event)):
                return index
        return -1

    async def event(
        self,
        kind: str,
        timeout: float = WAIT,
        where: Callable[[dict[str, Any]], bool] | None = None,
        **match: Any,
    ) -> dict[str, Any]:
        """The oldest event of `kind` with these fields not returned before; waits up to `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            index = self._find(kind, match, where)
            if index >= 0:
                self._taken.add(index)
                return self.events[index]
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.process.returncode is not None:
                raise AdapterError(
                    f"{self.label}: no {kind} event matching {match} within {timeout:.1f} s; events so far: "
                    f"{self.events}; stderr:\n{self.stderr_text()}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def untaken(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        """Events of `kind` with these fields not returned by `event` yet."""
        return [
            event
            for index, event in enumerate(self.events)
            if index not in self._taken
            and event.get("event") == kind
            and all(event.get(key) == value for key, value in match.items())
        ]

    async def quiet(self, kind: str, within: float, **match: Any) -> None:
        """Assert that no (new) event of `kind` with these fields arrives for `within` seconds.

        Used only where absence is the behaviour under test and no later event can mark it.
        """
        with contextlib.suppress(AdapterError):
            event = await self.event(kind, timeout=within, **match)
            raise AssertionError(f"{self.label}: unexpected {kind} event {event}")

    # -- end ---------------------------------------------------------------------------------------------

    async def stop(self) -> None:
        """Close stdin (the adapter closes its client and exits); kill it after 5 s."""
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 5)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        self._reader.cancel()
        self._stderr_reader.cancel()


class RunnerServer(RestartableServer):
    """A real ksps server in the runner's event loop, restartable on the same port.

    It records what its OnID and OnServerData handlers receive, and can keep clients away (`refuse_connections`)
    and cut one client's connection (`drop`) while it runs.
    """

    def __init__(self, *, own_listener: bool = False, **options: Any) -> None:
        """`options` are ServerConfig fields (e.g. `jwt_secret` for the `auth.*` scenarios).

        `own_listener=True` serves through the server's own picows listener whatever `--server` says: for a
        server with `redis_url`, which needs `start()` to join Redis; the ASGI mount never starts the server and
        refuses to serve one with `redis_url` (docs/asgi.md; history.recover_after_restart_redis in scenarios.md).
        """
        asgi = None if own_listener else _ASGI_SERVERS.get(SERVER_TARGET)
        super().__init__(configure=self._hook, asgi=asgi, server_id="conformance-server", **options)
        self.server_id = "conformance-server"
        self.direct: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.server_data: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        #: While set, every WebSocket upgrade is refused with 503 (see `refuse_connections`).
        self.refusing = False

    def _hook(self, server: Server) -> None:
        server.OnID(self.direct.put_nowait)
        server.OnServerData(self.server_data.put_nowait)
        server.use(self._gate)

    def _gate(self, request: UpgradeRequest, call_next: Callable[[UpgradeRequest], Reject | None]) -> Reject | None:
        # 503, not 401/403: clients treat it as "try again later" and keep retrying with their backoff.
        return Reject(503, "refused by the conformance runner") if self.refusing else call_next(request)

    def refuse_connections(self) -> None:
        """Refuse new WebSocket connections (503) until `accept_connections`; open ones stay.

        With `drop`, it keeps a client away for as long as a scenario needs (publications made while it is
        disconnected) without stopping the server, which would change every epoch of the memory engine.
        """
        self.refusing = True

    def accept_connections(self) -> None:
        """Accept WebSocket connections again."""
        self.refusing = False

    def drop(self, client_id: str) -> None:
        """Close the connection of `client_id` from the server side (1000, as a shutdown does): the client
        reconnects as after any lost connection; the server keeps running."""
        peer = core_of(self.s).broker.clients.get(client_id)
        assert peer is not None, f"no connection registered as {client_id!r}"
        peer.close(CloseCodes.SHUTDOWN, "dropped by the conformance runner")


async def next_item(queue: asyncio.Queue[dict[str, Any]], timeout: float = WAIT) -> dict[str, Any]:
    """The next item of a server-side queue, within `timeout` seconds."""
    try:
        return await asyncio.wait_for(queue.get(), timeout)
    except TimeoutError:
        raise AssertionError(f"nothing arrived within {timeout:.1f} s") from None


def python_executable() -> str:
    """The interpreter running the runner (the `{python}` placeholder of adapters.json)."""
    return sys.executable


async def eventually(condition: Callable[[], bool], timeout: float = WAIT, what: str = "condition") -> None:
    """Wait until `condition()` holds, checking every 20 ms (for server state that has no event)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout:.1f} s")
        await asyncio.sleep(0.02)


class HeldSubscriber:
    """A server-side async subscriber that does not return until `release()`; records each call."""

    def __init__(self) -> None:
        self._release = asyncio.Event()
        self.calls: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def __call__(self, message: dict[str, Any], unsub: Any) -> None:
        self.calls.put_nowait(message)
        await self._release.wait()

    def release(self) -> None:
        """Let every pending and future call return."""
        self._release.set()


class RedisServer:
    """A throwaway `redis-server` on 127.0.0.1, on a free port, persisting nothing; started by the runner.

    A missing `redis-server` fails the scenario with how to install it (never a skip): scripts/test.sh installs
    the Debian package.
    """

    def __init__(self) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            pytest.fail(
                "redis-server is not on PATH: the history.* scenarios with Redis need a real Redis "
                "(Debian/Ubuntu: `sudo apt-get install redis-server`; scripts/test.sh installs it)",
                pytrace=False,
            )
        self.executable = executable
        self.port = 0
        self.process: asyncio.subprocess.Process | None = None
        self.log: list[str] = []
        self._drain: asyncio.Task[None] | None = None

    def url(self, db: int = 0) -> str:
        """`redis://127.0.0.1:PORT/DB`."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    async def start(self) -> RedisServer:
        """Start on a free port (another one if that was taken meanwhile); returns once it accepts connections."""
        for _ in range(3):
            self.port, self.log = free_port(), []
            process = self.process = await asyncio.create_subprocess_exec(
                self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                "no", "--daemonize", "no",
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            assert process.stdout is not None
            try:
                async with asyncio.timeout(10 * UNIT):
                    while line := await process.stdout.readline():
                        self.log.append(line.decode(errors="replace").rstrip())
                        if "Ready to accept connections" in self.log[-1]:
                            self._drain = asyncio.create_task(self._read_rest(process.stdout))
                            return self
            except TimeoutError:
                pass
            await self.stop()
            if not any("Address already in use" in line for line in self.log):
                break
        log = "\n".join(self.log[-20:])
        raise AssertionError(f"redis-server did not start; its output:\n{log}")

    async def _read_rest(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():  # read on, so that a full pipe never blocks Redis
            self.log.append(line.decode(errors="replace").rstrip())

    async def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL after 5 s)."""
        process, self.process = self.process, None
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._drain is not None:
            self._drain.cancel()
            self._drain = None
