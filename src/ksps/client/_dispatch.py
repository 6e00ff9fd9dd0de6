"""Runs subscription callbacks and the OnId handler: sync or async, in order per subscription.

A sync callback runs inline as its frame is read: no task, no queue, the fastest path. A callback that
returns an awaitable gets one task that awaits it and then drains, in order, the deliveries that arrived for
the same subscription meanwhile. So a slow async callback delays only its own subscription: other topics
and the socket read go on. Sync callbacks share the event loop: keep them short (or `await
asyncio.to_thread(...)` from an async callback for blocking work).

Each delivery that carried a server ack id is answered once its callback finished (spec §6.1):
`success:true`, or `success:false` with the exception text; the exception reaches OnError as the `__cause__`
of a :class:`~ksps.errors.CallbackError`.

Deliveries waiting behind async callbacks are bounded: past `max_pending` the dispatcher asks for the socket
read to pause (`on_pressure(True)`), and lets it resume once half of them ran. The server then buffers, and
eventually drops a client that stays behind (close 4002, spec §7.2), instead of this process growing forever.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from ksps.errors import CallbackError
from ksps.protocol import actions as act

from ._hooks import log
from ._options import Message
from ._subscriptions import Subscription

__all__ = ["CallbackDispatcher", "error_text"]

#: Sends the answer to a `publish_ack`: `(server_ack_id, success, error_text)`.
AckSender = Callable[[str, bool, str], None]


def error_text(exc: BaseException) -> str:
    """The text an error ack carries for a callback that raised: the exception's message."""
    return str(exc) or type(exc).__name__


class CallbackDispatcher:
    """Delivers messages to subscriptions; see the module docstring for the ordering rules."""

    def __init__(
        self,
        send_ack: AckSender,
        report_error: Callable[[BaseException], None],
        max_pending: int,
        on_pressure: Callable[[bool], None],
    ) -> None:
        self._send_ack = send_ack
        self._report_error = report_error
        self._tasks: set[asyncio.Task[None]] = set()
        self._max_pending = max_pending
        self._on_pressure = on_pressure
        self._pressed = False
        #: Deliveries queued behind running async callbacks, all subscriptions together.
        self.pending = 0

    def deliver(self, subscription: Subscription, message: Message, ack_id: str = "") -> None:
        """Run the callback for one delivery now, or after the ones still running for it."""
        backlog = subscription.backlog
        if backlog is not None:
            backlog.append((message, ack_id))
            self.pending += 1
            if self.pending >= self._max_pending and not self._pressed:
                self._pressed = True
                self._on_pressure(True)
            return
        try:
            result = subscription.callback(message, subscription.unsub)
        except Exception as exc:
            self._finish(subscription, ack_id, exc)
            return
        if result is None or not inspect.isawaitable(result):
            if ack_id:
                self._send_ack(ack_id, True, "")
            return
        subscription.backlog = deque()
        task = asyncio.ensure_future(self._drain(subscription, result, ack_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def no_subscriber(self, ack_id: str) -> None:
        """Answer a `publish_ack` for a topic this client does not follow (spec §6.1)."""
        if ack_id:
            self._send_ack(ack_id, False, act.NO_SUBSCRIBER)

    async def _drain(self, subscription: Subscription, awaitable: Awaitable[Any], ack_id: str) -> None:
        backlog = subscription.backlog
        assert backlog is not None
        try:
            while True:
                try:
                    await awaitable
                except Exception as exc:
                    self._finish(subscription, ack_id, exc)
                else:
                    if ack_id:
                        self._send_ack(ack_id, True, "")
                next_item = self._run_until_awaitable(subscription, backlog)
                if next_item is None:
                    return
                awaitable, ack_id = next_item
        finally:
            self._dequeued(len(backlog))  # what a cancelled drain leaves behind
            subscription.backlog = None

    def _run_until_awaitable(
        self, subscription: Subscription, backlog: deque[tuple[Message, str]]
    ) -> tuple[Awaitable[Any], str] | None:
        """Run queued sync deliveries; stop at the first callback that returns an awaitable."""
        while backlog:
            message, ack_id = backlog.popleft()
            self._dequeued(1)
            if not subscription.active:
                self.no_subscriber(ack_id)
                continue
            try:
                result = subscription.callback(message, subscription.unsub)
            except Exception as exc:
                self._finish(subscription, ack_id, exc)
                continue
            if result is not None and inspect.isawaitable(result):
                return result, ack_id
            if ack_id:
                self._send_ack(ack_id, True, "")
        return None

    def _dequeued(self, count: int) -> None:
        self.pending -= count
        if self._pressed and self.pending <= self._max_pending // 2:
            self._pressed = False
            self._on_pressure(False)

    def _finish(self, subscription: Subscription, ack_id: str, exc: Exception) -> None:
        log.debug("ksps client callback raised", exc_info=exc)
        if ack_id:
            self._send_ack(ack_id, False, error_text(exc))
        # OnError gets a CallbackError (the same class in the three clients), the exception as its cause.
        self._report_error(CallbackError(subscription.topic, exc))

    def cancel_all(self) -> None:
        """Cancel running async callbacks (the client is closing)."""
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:  # Close() called from inside a callback or hook
                task.cancel()
