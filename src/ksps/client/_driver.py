"""The asyncio driver of one client: runs a sans-I/O :class:`~ksps.client.core.ClientSession` on picows.

It feeds the session what happens (a link opened, a message, a lost link, a timer, the application's
intents) with the loop's clock in milliseconds, and carries out what the session returns: open a link (after
asking GetToken for a fresh token), send, close, and deliver events to callbacks, hooks, handles and waiting
calls. It keeps one timer, armed at the session's next deadline. Every decision (registration, restore order,
offline queue, backoff, ack state, 4001/4003/4004) is the session's; spec/traces/ pins them.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

from picows import WSError, WSHandshakeError

from ksps.errors import OfflineQueueFull

from ._dispatch import CallbackDispatcher
from ._events import EventHandlers
from ._hooks import Hooks
from ._options import ClientOptions
from ._refresh import TokenRefresher
from ._subscriptions import Confirmation, Subscription, SubscriptionRegistry
from ._tokens import HTTP_UNAUTHORIZED, TokenSource
from ._transport import Link, open_link
from .core import (
    AckAnswer,
    AckDone,
    ClientSession,
    Close,
    Closed,
    Connected,
    Delivery,
    Direct,
    Disconnected,
    ErrorEvent,
    History,
    Join,
    Leave,
    Open,
    Output,
    Presence,
    QueueOverflow,
    Reconnecting,
    Refused,
    Send,
    SessionConfig,
    Status,
    Subscribed,
    SubscriptionReport,
    Unsubscribed,
    is_published_reply,
)

__all__ = ["Driver", "session_config"]

#: Seconds Close waits for the closing handshake before dropping the socket.
CLOSE_TIMEOUT = 2.0


def session_config(options: ClientOptions) -> SessionConfig:
    """The session's settings (milliseconds) from the client's options (seconds)."""
    return SessionConfig(
        id=options.id, address=options.address, path=options.path, secure=options.secure, token=options.token,
        refreshable_token=options.get_token is not None, autorestart=options.autorestart,
        reconnect=options.reconnect, reconnect_initial_delay=_ms(options.reconnect_initial_delay),
        reconnect_factor=options.reconnect_factor, reconnect_max_delay=_ms(options.reconnect_max_delay),
        offline_queue_size=options.offline_queue_size, offline_queue_policy=options.offline_queue_policy,
        connect_timeout=_ms(options.connect_timeout),
    )


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


class Driver(EventHandlers):
    """Owns the session, the current link, the timer, and the objects that events go to."""

    def __init__(self, options: ClientOptions) -> None:
        self.options = options
        self.loop = asyncio.get_running_loop()
        self.session = ClientSession(session_config(options), random=random.random)
        self.encoder = self.session.encoder
        self.hooks = Hooks(options)
        self.registry = SubscriptionRegistry()
        self.tokens = TokenSource(options.token, options.get_token)
        self.refresher = TokenRefresher(self.tokens, self._refresh_token, self.hooks)
        self.dispatcher = CallbackDispatcher(
            self._answer, self.hooks.error, options.max_pending_deliveries, self._pressure
        )
        self.direct: Subscription | None = None
        if options.on_id is not None:
            on_id = options.on_id
            self.direct = Subscription("", lambda message, _unsub: on_id(message), lambda _s: Confirmation(None))
        #: The link being opened or open; messages and ends of any other link are stale and ignored.
        self.link: Link | None = None
        self._opening: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._armed: int | None = None
        self._version = -1
        #: Futures of subscribe/unsubscribe intents still waiting, released when the client closes.
        self._waiters: set[asyncio.Future[Any]] = set()
        self._starting: asyncio.Future[BaseException | None] | None = None
        self._start_error: BaseException | None = None
        self.closed_event = asyncio.Event()
        self._routes: dict[type[Output], Callable[[Any], None]] = {
            Send: self._send, Open: self._open, Close: self._close, Delivery: self._delivery, Direct: self._direct,
            Connected: self._connected, Disconnected: self._disconnected, Closed: self._closed,
            Subscribed: self._settle, Unsubscribed: self._settle, Refused: self._refused,
            AckAnswer: self._ack_answer, AckDone: self._ack_done, Status: self._status, ErrorEvent: self._error,
            QueueOverflow: self._overflow, Reconnecting: self._reconnecting,
            Presence: self._presence, Join: self._member, Leave: self._member,
            History: self._history, SubscriptionReport: self._subscription,
        }

    def now(self) -> int:
        """The loop's clock in milliseconds, the session's time."""
        return int(self.loop.time() * 1000)

    def apply(self, outputs: list[Output]) -> None:
        """Carry out what the session returned, in order, then re-arm the timer."""
        routes = self._routes
        for output in outputs:
            routes[type(output)](output)
        self._rearm()

    def _rearm(self) -> None:
        session = self.session
        if session.deadline_version != self._version:
            # Re-arm only for an earlier deadline: a timer that fires too early finds nothing due and re-arms
            # itself (cheaper than moving the timer each time an ack ends, which moves the deadline later).
            self._version = session.deadline_version
            deadline = session.next_deadline
            if deadline is not None and (self._armed is None or deadline < self._armed):
                self._arm(deadline)

    # -- starting ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """First connection: returns once connected, or (with autorestart) after the first failure, which
        then goes to OnError; raises the failure (ConnectionFailed, AuthError) when the session closed."""
        self._starting = self.loop.create_future()
        self.apply(self.session.start(self.now()))
        error = await self._starting
        if error is not None:
            raise error

    def _end_start(self, error: BaseException | None) -> None:
        starting, self._starting = self._starting, None
        if starting is not None and not starting.done():
            starting.set_result(error)

    # -- the timer ---------------------------------------------------------------------------------------

    def _arm(self, deadline: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed = deadline
        self._timer = self.loop.call_at(deadline / 1000, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._armed = None
        now = self.now()
        deadline = self.session.next_deadline
        if deadline is not None and now < deadline <= now + 2:
            now = deadline  # the loop fires within its clock resolution; ms rounding must not make it early
        self._version = -1  # re-arm for what remains
        self.apply(self.session.timer(now))

    # -- the link ----------------------------------------------------------------------------------------

    def _open(self, output: Open) -> None:
        link = Link(self._on_message, self._on_link_closed)
        self.link = link
        self._opening = asyncio.ensure_future(self._open_link(link, output.url))

    async def _open_link(self, link: Link, url: str) -> None:
        options = self.options
        try:
            self.session.set_token(await self.tokens.fetch())
            await open_link(
                link, url, options.keepalive_interval, options.keepalive_timeout, options.connect_timeout,
                options.ssl_context,
            )
            if link.closed or not link.opened:
                raise ConnectionError("connection closed during the WebSocket handshake")
        except asyncio.CancelledError:
            link.abort()
            raise
        except Exception as exc:  # OSError, picows errors, timeouts, and what the user's GetToken raises
            link.abort()
            if self.link is link:
                self.link = None
                code, reason = _failure(exc)
                self.apply(self.session.lost(code, reason, self.now()))
            return
        finally:
            if self._opening is asyncio.current_task():
                self._opening = None
        if self.link is link:
            self.apply(self.session.opened(self.now()))

    def _on_message(self, link: Link, payload: bytes | memoryview) -> None:
        # The `published` receipt of every publish is dropped here, as `receive` would drop it first thing:
        # at full publishing speed one per publish, not worth a call into the session and a clock read.
        if link is self.link and not is_published_reply(payload):
            outputs = self.session.receive(payload, int(self.loop.time() * 1000))
            if outputs:  # most often empty (the `published` receipt): then nothing changed, not the deadline
                self.apply(outputs)

    def _on_link_closed(self, link: Link, code: int | None, reason: str | None) -> None:
        if link is self.link and self._opening is None:
            self.link = None
            self.apply(self.session.lost(code, reason, self.now()))

    def _send(self, output: Send) -> None:
        if self.link is not None:
            self.link.send(output.frame)

    def _close(self, output: Close) -> None:
        link, self.link = self.link, None
        if self._opening is not None:
            self._opening.cancel()
            self._opening = None
        if link is not None:
            link.close(output.code)

    async def close(self) -> None:
        """Close for good (the application's close): no OnDisconnect, then OnClose. Idempotent."""
        link = self.link
        self.apply(self.session.close(self.now()))
        if link is None or not link.opened:
            return
        # Wait for the closing handshake, dropping the socket after CLOSE_TIMEOUT.
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await link.wait_closed()
        except (TimeoutError, WSError, OSError):
            link.abort()

    def _pressure(self, on: bool) -> None:
        """Pause the socket read while too many deliveries wait for slow async callbacks."""
        if self.link is not None:
            self.link.pause_reading(on)

    def _answer(self, server_ack_id: str, success: bool, error: str) -> None:
        session = self.session
        link = self.link
        if link is not None and session.registered:
            # The hot path of a subscriber's acks: what `session.answer` returns here is exactly this one Send
            # (and it moves no deadline), so the frame goes out without building and routing the output.
            link.send(self.encoder.ack(server_ack_id, success, error))
            return
        self.apply(session.answer(server_ack_id, success, error, self.now()))

    # -- intents -----------------------------------------------------------------------------------------

    def waiter(self) -> asyncio.Future[Any]:
        """A future for an intent's reply, released (None) if the client closes first."""
        future: asyncio.Future[Any] = self.loop.create_future()
        self._waiters.add(future)
        return future

    def publication(self, outputs: list[Output]) -> None:
        """Apply the outputs of a publication; raise OfflineQueueFull when the "raise" policy refused it."""
        if len(outputs) == 1 and type(sent := outputs[0]) is Send:
            # The hot path when ready: one Send, routed without the table (a publication with ack moved the
            # deadline: re-arm as apply does).
            if self.link is not None:
                self.link.send(sent.frame)
            self._rearm()
            return
        self.apply(outputs)
        if self.options.offline_queue_policy == "raise":
            for output in outputs:
                if isinstance(output, QueueOverflow) and output.newest:
                    raise OfflineQueueFull(f"offline queue full ({self.options.offline_queue_size} publications)")


def _failure(exc: BaseException) -> tuple[int | None, str]:
    """The `lost` code and reason of a connection attempt that failed with `exc`."""
    if isinstance(exc, WSHandshakeError) and exc.response is not None and exc.response.status == HTTP_UNAUTHORIZED:
        return HTTP_UNAUTHORIZED, "the server refused the token"
    return None, str(exc) or type(exc).__name__


