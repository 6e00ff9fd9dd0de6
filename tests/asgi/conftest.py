"""ASGI servers in the test's event loop, serving a ksps.asgi app on a free 127.0.0.1 port."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Literal

from ksps.testing import HypercornRunner, UvicornRunner

from ..server.wire import units


@contextlib.asynccontextmanager
async def under_uvicorn(
    app: Any, *, lifespan: Literal["on", "off"] = "off", max_size: int = 16 * 2**20
) -> AsyncIterator[int]:
    """Serve `app` with uvicorn; yields the port once it listens, stops it (lifespan shutdown) on exit."""
    runner = UvicornRunner(app, lifespan=lifespan, max_size=max_size)
    port = await runner.start(units(10))
    try:
        yield port
    finally:
        await runner.stop(units(10))


@contextlib.asynccontextmanager
async def under_hypercorn(app: Any) -> AsyncIterator[int]:
    """Serve `app` with hypercorn on a socket bound here (connections wait in its backlog until it accepts)."""
    runner = HypercornRunner(app)
    port = await runner.start()
    try:
        yield port
    finally:
        await runner.stop(units(10))
