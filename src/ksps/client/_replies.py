"""Waiters for the server's replies to this client's requests: pong, subscribed, unsubscribed, ack_status.

The server answers a connection's frames in the order it read them (spec §4.3), so the waiters for one
(action, key) pair form a FIFO queue. A request sent with a `rid` can also be answered by an `error` frame
carrying that `rid` (spec §11): its waiter then gets the error. When the connection is lost every waiter
is released with None.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

__all__ = ["ReplyWaiters"]


class ReplyWaiters:
    """Futures waiting for `(action, key)` replies; `key` is the topic, ack ID or "" for `pong`."""

    def __init__(self) -> None:
        self._waiting: dict[tuple[str, str], deque[asyncio.Future[Any]]] = {}
        self._by_rid: dict[str, asyncio.Future[Any]] = {}
        self._next_rid = 0

    def new_rid(self) -> str:
        """A fresh request ID, unique on this client (spec §11)."""
        self._next_rid += 1
        return str(self._next_rid)

    def expect(self, action: str, key: str, rid: str = "") -> asyncio.Future[Any]:
        """A future for the next `action` reply about `key`. Register it BEFORE sending the request.

        With a `rid`, an `error` frame carrying it (see :meth:`fail`) settles the future too.
        """
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault((action, key), deque()).append(future)
        if rid:
            self._by_rid[rid] = future
            future.add_done_callback(lambda _future: self._by_rid.pop(rid, None))
        return future

    def fail(self, rid: str, error: BaseException) -> bool:
        """Hand an error frame to the request sent with `rid`; False when no request waits for it."""
        future = self._by_rid.pop(rid, None)
        if future is None or future.done():
            return False
        future.set_result(error)
        return True

    def resolve(self, action: str, key: str, value: Any) -> bool:
        """Hand a reply to the oldest waiter for it; False when nobody waited."""
        queue = self._waiting.get((action, key))
        while queue:
            future = queue.popleft()
            if not queue:
                del self._waiting[(action, key)]
            if not future.done():
                future.set_result(value)
                return True
        return False

    def release_all(self) -> None:
        """Release every waiter with None: the connection that would have answered is gone."""
        waiting, self._waiting = self._waiting, {}
        self._by_rid.clear()
        for queue in waiting.values():
            for future in queue:
                if not future.done():
                    future.set_result(None)


async def wait_reply(future: asyncio.Future[Any], seconds: float) -> Any:
    """The reply, or None after `seconds`; cancelling the caller leaves other waiters intact."""
    try:
        async with asyncio.timeout(seconds):
            return await asyncio.shield(future)
    except TimeoutError:
        return None
