"""Fixtures of the client suite: real in-process servers (restartable on the same port) and clients."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from ksps.client import Client
from ksps.testing import RestartableServer

#: One tunable time unit (seconds) for every wait of this suite; raise it on a slow machine.
UNIT = float(os.environ.get("KSPS_TEST_TIMEOUT_UNIT", "1.0"))
#: Fast reconnection, so restarts are quick to observe.
FAST_RETRY: dict[str, Any] = {"ReconnectInitialDelay": 0.02, "ReconnectMaxDelay": 0.2}


@pytest.fixture
async def server() -> AsyncIterator[RestartableServer]:
    # The `proxy` fixture sits in front of it on another port: 127.0.0.1 on any port is its name (spec §12.4).
    restartable = await RestartableServer(server_id="test-server", allowed_hosts=("127.0.0.1",)).start()
    yield restartable
    await restartable.stop()


NewClient = Callable[..., Awaitable[Client]]


@pytest.fixture
async def new_client(server: RestartableServer) -> AsyncIterator[NewClient]:
    """`await new_client(Id="A", ...)`: a client of `server` (fast reconnect); all closed after the test."""
    clients: list[Client] = []

    async def create(**options: Any) -> Client:
        options = {"Address": server.address, **FAST_RETRY, **options}
        client = await Client.NewClient(**options)
        clients.append(client)
        return client

    yield create
    for client in clients:
        await client.Close()


class Hooks:
    """Lifecycle hooks that record each call in a queue, to be awaited by the test."""

    def __init__(self) -> None:
        self.connects: asyncio.Queue[None] = asyncio.Queue()
        self.disconnects: asyncio.Queue[tuple[int | None, str | None]] = asyncio.Queue()
        self.errors: asyncio.Queue[BaseException] = asyncio.Queue()
        self.closes: asyncio.Queue[None] = asyncio.Queue()

    def options(self) -> dict[str, Any]:
        return {
            "OnConnect": lambda: self.connects.put_nowait(None),
            "OnDisconnect": lambda code, reason: self.disconnects.put_nowait((code, reason)),
            "OnError": self.errors.put_nowait,
            "OnClose": lambda: self.closes.put_nowait(None),
        }


async def next_item(queue: asyncio.Queue[Any], timeout: float = 5 * UNIT) -> Any:
    """The next item of `queue` within `timeout` seconds, else the test fails."""
    try:
        return await asyncio.wait_for(queue.get(), timeout)
    except TimeoutError:
        raise AssertionError(f"nothing arrived within {timeout:.1f} s") from None


async def within(awaitable: Awaitable[Any], timeout: float = 5 * UNIT) -> Any:
    """Await with a deadline: a hang fails the test instead of blocking it."""
    return await asyncio.wait_for(awaitable, timeout)


class BlackholeProxy:
    """A TCP proxy to the server; `freeze()` makes current connections silently swallow all traffic.

    This reproduces a half-open connection (a peer that vanished without closing): nothing is closed, data
    just stops flowing. New connections made after `freeze()` are forwarded normally.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._links: list[dict[str, Any]] = []

    async def start(self) -> BlackholeProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        link: dict[str, Any] = {"frozen": False, "writers": (writer, up_writer)}
        self._links.append(link)
        await asyncio.gather(self._pump(reader, up_writer, link), self._pump(up_reader, writer, link))

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: dict[str, Any]) -> None:
        try:
            while data := await reader.read(65536):
                if not link["frozen"]:
                    writer.write(data)
        except OSError:
            pass
        if not link["frozen"]:
            writer.close()

    def freeze(self) -> None:
        """Swallow everything on the connections open now, in both directions."""
        for link in self._links:
            link["frozen"] = True

    def cut(self) -> None:
        """Drop the connections open now abruptly (TCP reset), as a crashed peer would."""
        for link in self._links:
            for writer in link["writers"]:
                writer.transport.abort()

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def proxy(server: RestartableServer) -> AsyncIterator[BlackholeProxy]:
    blackhole = await BlackholeProxy(server.port).start()
    yield blackhole
    await blackhole.stop()
