"""ASGI servers in the test's event loop, serving a ksps.asgi app on a free 127.0.0.1 port."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config as HypercornConfig

from ..server.wire import units


@contextlib.asynccontextmanager
async def under_uvicorn(app: Any, *, lifespan: str = "off", max_size: int = 16 * 2**20) -> AsyncIterator[int]:
    """Serve `app` with uvicorn; yields the port once it listens, stops it (lifespan shutdown) on exit."""
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=0, lifespan=lifespan, log_level="warning", ws="websockets-sansio",
            ws_max_size=max_size,
        )
    )
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(units(10)):
        while not server.started:  # uvicorn has no event for it
            assert not task.done(), task.result()
            await asyncio.sleep(0.01)
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, units(10))


@contextlib.asynccontextmanager
async def under_hypercorn(app: Any) -> AsyncIterator[int]:
    """Serve `app` with hypercorn on a socket bound here (connections wait in its backlog until it accepts)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    config = HypercornConfig()
    config.bind = [f"fd://{sock.fileno()}"]
    config.loglevel = "WARNING"
    stop = asyncio.Event()
    task = asyncio.create_task(hypercorn_serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    try:
        yield int(sock.getsockname()[1])
    finally:
        stop.set()
        await asyncio.wait_for(task, units(10))  # hypercorn closes the socket it was given
