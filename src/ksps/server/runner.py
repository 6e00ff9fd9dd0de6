"""Runs server-side callbacks (subscribers, OnID, OnServerData) off the socket read loop, in order per lane.

Sync callbacks run from `call_soon`, so a frame handler never waits for them; async callbacks get one task
each and hold their lane until they finish, so deliveries to one subscriber keep their order.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from ..broker.interfaces import Completion

__all__ = ["CallbackRunner"]

log = logging.getLogger("ksps.server")

_Item = tuple[Callable[[], Any], Completion | None]


def error_text(exc: BaseException) -> str:
    """The text an error ack carries for a callback that raised: its message, as every client sends (spec §6.1)."""
    return str(exc) or type(exc).__name__


class CallbackRunner:
    """The broker's `Runner`, on an asyncio loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lanes: dict[object, deque[_Item]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def run(self, lane: object, call: Callable[[], Any], done: Completion | None) -> None:
        queue = self._lanes.get(lane)
        if queue is not None:
            queue.append((call, done))
            return
        self._lanes[lane] = deque([(call, done)])
        self._loop.call_soon(self._drain, lane)

    def _drain(self, lane: object) -> None:
        queue = self._lanes[lane]
        while queue:
            call, done = queue.popleft()
            try:
                result = call()
            except Exception as exc:
                self._finish(done, exc)
                continue
            if inspect.isawaitable(result):
                task = self._loop.create_task(self._await(lane, result, done))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                return
            self._finish(done, None)
        del self._lanes[lane]

    async def _await(self, lane: object, awaitable: Awaitable[Any], done: Completion | None) -> None:
        try:
            await awaitable
        except asyncio.CancelledError:
            self._finish(done, RuntimeError("server shutting down"))
            raise
        except Exception as exc:
            self._finish(done, exc)
        else:
            self._finish(done, None)
        self._drain(lane)

    @staticmethod
    def _finish(done: Completion | None, exc: BaseException | None) -> None:
        if exc is not None:
            log.warning("server callback raised %s", error_text(exc), exc_info=exc)
        if done is not None:
            done(exc is None, "" if exc is None else error_text(exc))

    async def drain(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for running callbacks, then cancel what is left."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        self._lanes.clear()
