"""What the asyncio driver does with each event of the session: callbacks, hooks, handles, waiting calls."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ksps.errors import ConnectionFailed, OfflineQueueFull
from ksps.protocol.history import HistoryPage, SubscriptionInfo
from ksps.protocol.presence import PresenceInfo

from ._acks import ClientAck
from ._hooks import log
from .core import (
    AckAnswer,
    AckDone,
    Closed,
    Connected,
    Delivery,
    Direct,
    Disconnected,
    ErrorEvent,
    History,
    Member,
    Output,
    Presence,
    QueueOverflow,
    Reconnecting,
    Refused,
    Status,
    Subscribed,
    SubscriptionReport,
    Unsubscribed,
)

if TYPE_CHECKING:
    from ._dispatch import CallbackDispatcher
    from ._hooks import Hooks
    from ._options import ClientOptions
    from ._refresh import TokenRefresher
    from ._subscriptions import Subscription, SubscriptionRegistry
    from .core import ClientSession

__all__ = ["EventHandlers"]


class EventHandlers:
    """The event half of :class:`~ksps.client._driver.Driver`."""

    if TYPE_CHECKING:
        options: ClientOptions
        session: ClientSession
        hooks: Hooks
        registry: SubscriptionRegistry
        dispatcher: CallbackDispatcher
        refresher: TokenRefresher
        direct: Subscription | None
        closed_event: asyncio.Event
        _opening: asyncio.Task[None] | None
        _timer: asyncio.TimerHandle | None
        _armed: int | None
        _waiters: set[asyncio.Future[Any]]
        _starting: asyncio.Future[BaseException | None] | None
        _start_error: BaseException | None

        def apply(self, outputs: list[Output]) -> None: ...
        def now(self) -> int: ...
        def _end_start(self, error: BaseException | None) -> None: ...

    def _delivery(self, event: Delivery) -> None:
        subscription = self.registry.get(event.topic)
        if subscription is not None:
            self.dispatcher.deliver(subscription, event.message, event.ack_id)
        else:
            self.dispatcher.no_subscriber(event.ack_id)

    def _direct(self, event: Direct) -> None:
        if self.direct is not None:
            self.dispatcher.deliver(self.direct, event.message, event.ack_id)
        else:
            self.dispatcher.no_subscriber(event.ack_id)

    def _connected(self, _event: Connected) -> None:
        log.debug("ksps client %s connected to %s", self.session.client_id, self.options.url())
        self._end_start(None)
        self.refresher.schedule()
        self.hooks.connected()

    def _disconnected(self, event: Disconnected) -> None:
        self.refresher.cancel()
        self.hooks.disconnected(event.code, event.reason)

    def _refresh_token(self, token: str) -> None:
        self.apply(self.session.refresh_token(token, self.now()))

    def _closed(self, _event: Closed) -> None:
        self.refresher.cancel()
        if self._opening is not None:
            self._opening.cancel()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._armed = None
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()
        self.dispatcher.cancel_all()
        self.registry.clear()
        self.hooks.cancel_pending()
        self.closed_event.set()
        if self._starting is not None:
            self._end_start(self._start_error or ConnectionFailed(f"cannot connect to {self.options.url()}"))
        else:
            self.hooks.closed()

    def _settle(self, event: Subscribed | Unsubscribed) -> None:
        handle = event.handle
        if isinstance(handle, asyncio.Future):
            self._waiters.discard(handle)
            if not handle.done():
                handle.set_result(None)

    def _refused(self, event: Refused) -> None:
        handle = event.handle
        if isinstance(handle, ClientAck):
            handle._on_refused(event.exception)
        elif isinstance(handle, asyncio.Future):
            self._waiters.discard(handle)
            if not handle.done():
                handle.set_result(event.exception)

    def _presence(self, event: Presence) -> None:
        handle = event.handle
        if isinstance(handle, asyncio.Future):
            self._waiters.discard(handle)
            if not handle.done():
                handle.set_result(PresenceInfo(event.count, event.ids, event.truncated))

    def _history(self, event: History) -> None:
        handle = event.handle
        if isinstance(handle, asyncio.Future):
            self._waiters.discard(handle)
            if not handle.done():
                handle.set_result(HistoryPage(event.publications, event.offset, event.epoch))

    def _subscription(self, event: SubscriptionReport) -> None:
        self.hooks.subscribed(event.topic, SubscriptionInfo(event.position, event.recovering, event.recovered))

    def _member(self, event: Member) -> None:
        self.hooks.member(event.kind == "join", event.topic, event.client_id)

    def _ack_answer(self, event: AckAnswer) -> None:
        if isinstance(event.handle, ClientAck):
            event.handle._on_response(event.response)

    def _ack_done(self, event: AckDone) -> None:
        if isinstance(event.handle, ClientAck):
            event.handle._on_done(event.complete)

    def _status(self, event: Status) -> None:
        if isinstance(event.handle, ClientAck):
            event.handle._on_status(event.status)

    def _error(self, event: ErrorEvent) -> None:
        if self._starting is not None:
            self._start_error = event.exception  # raised by start(), or reported once it returns
            return
        self.hooks.error(event.exception)

    def _overflow(self, event: QueueOverflow) -> None:
        which = "new" if event.newest else "oldest queued"
        size = self.options.offline_queue_size
        self.hooks.error(OfflineQueueFull(f"offline queue full ({size} publications): dropped the {which} one"))

    def _reconnecting(self, event: Reconnecting) -> None:
        if self._starting is not None:  # autorestart: connect() returns, the failure goes to OnError
            error, self._start_error = self._start_error, None
            self._end_start(None)
            if error is not None:
                self.hooks.error(error)
        log.debug("ksps client %s reconnecting in %d ms", self.session.client_id, event.delay)
