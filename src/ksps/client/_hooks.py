"""Calls the user's hooks (OnConnect, OnDisconnect, OnError, OnClose, OnJoin, OnLeave, OnSubscribed), sync or async.

A hook never breaks the client: what it raises is logged. Async hooks run as tasks that the client keeps
until they finish (and cancels on close), so they are never garbage-collected mid-way.

Logging: errors go to OnError when it is set (and to the `ksps.client` logger at DEBUG only); without it
they are logged at WARNING. The logger has a NullHandler, as a library's should: nothing reaches stderr
through logging's last-resort handler unless the application configured logging.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

from ksps.protocol.history import SubscriptionInfo

from ._options import ClientOptions, Hook

__all__ = ["Hooks", "log"]

log = logging.getLogger("ksps.client")
log.addHandler(logging.NullHandler())


class Hooks:
    """The hooks of one client."""

    def __init__(self, options: ClientOptions) -> None:
        self._on_connect = options.on_connect
        self._on_disconnect = options.on_disconnect
        self._on_error = options.on_error
        self._on_close = options.on_close
        self._on_join = options.on_join
        self._on_leave = options.on_leave
        self._on_subscribed = options.on_subscribed
        self._tasks: set[asyncio.Task[Any]] = set()

    def connected(self) -> None:
        """A connection is registered and restored."""
        self._call(self._on_connect)

    def disconnected(self, code: int | None, reason: str | None) -> None:
        """A ready connection was lost."""
        self._call(self._on_disconnect, code, reason)

    def error(self, exc: BaseException) -> None:
        """Something failed that no caller saw as an exception: OnError, else the log."""
        if self._on_error is None:
            log.warning("ksps client: %s", exc)
            return
        log.debug("ksps client: %s", exc)
        self._call(self._on_error, exc)

    def member(self, joined: bool, topic: str, client_id: str) -> None:
        """A `join` or `leave` event of a topic subscribed with `join_leave` (spec §15.3)."""
        self._call(self._on_join if joined else self._on_leave, topic, client_id)

    def subscribed(self, topic: str, info: SubscriptionInfo) -> None:
        """A topic with history was subscribed or restored (spec §14.3)."""
        self._call(self._on_subscribed, topic, info)

    def closed(self) -> None:
        """The client is closed for good."""
        self._call(self._on_close)

    def _call(self, hook: Hook | None, *args: Any) -> None:
        if hook is None:
            return
        try:
            result = hook(*args)
        except Exception:
            log.exception("ksps client hook %r raised", hook)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(self._await(hook, result))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _await(hook: Hook, awaitable: Any) -> None:
        try:
            await awaitable
        except Exception:
            log.exception("ksps client hook %r raised", hook)

    def cancel_pending(self) -> None:
        """Cancel async hooks still running (the client is closing)."""
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:  # Close() called from inside a callback or hook
                task.cancel()
