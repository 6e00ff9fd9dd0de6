"""Fixtures of the server suite: in-process servers on free ports and raw clients connected to them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from ksps import Server
from ksps.testing import serve_for_tests

from .wire import RawSocket, WireClient

#: Starts one more server with the given ServerConfig options; stopped after the test.
StartServer = Callable[..., Awaitable[Server]]
#: Opens a raw client; `register=True` (default) also sends the first `ping`.
Connect = Callable[..., Awaitable[WireClient]]
#: Opens a hand-made WebSocket on a bare socket to `server` (see `RawSocket.open` for the options).
OpenRaw = Callable[..., Awaitable[RawSocket]]


@pytest.fixture
async def start_server() -> AsyncIterator[StartServer]:
    async with contextlib.AsyncExitStack() as stack:

        async def start(**options: Any) -> Server:
            return await stack.enter_async_context(serve_for_tests(**options))

        yield start


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "server_options(**options): ServerConfig options of the `server` fixture for this test"
    )


@pytest.fixture
async def server(start_server: StartServer, request: pytest.FixtureRequest) -> Server:
    """A server with the default configuration, or with the test's `server_options` marker."""
    marker = request.node.get_closest_marker("server_options")
    return await start_server(**(marker.kwargs if marker else {}))


@pytest.fixture
async def connect(server: Server) -> AsyncIterator[Connect]:
    """Open raw clients to `server` (or to another server's URL); all are closed after the test."""
    clients: list[WireClient] = []

    async def open_client(
        client_id: str | None = None, *, register: bool = True, url: str | None = None, **options: Any
    ) -> WireClient:
        client = await WireClient.open(url or server.url, **options)
        clients.append(client)
        if register:
            await client.register(client_id)
        return client

    yield open_client
    for client in clients:
        await client.close()


@pytest.fixture
async def open_raw(server: Server) -> AsyncIterator[OpenRaw]:
    """Open `RawSocket`s to `server`; all are closed after the test, before the server stops."""
    sockets: list[RawSocket] = []

    async def open_socket(**options: Any) -> RawSocket:
        raw = await RawSocket.open("127.0.0.1", server.port, server.config.path, **options)
        sockets.append(raw)
        return raw

    yield open_socket
    for raw in sockets:
        raw.close()
