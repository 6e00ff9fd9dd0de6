"""`ClientSession`: the connection lifecycle of one client, without I/O (spec §3, §4, §6, §7.2, §10, §11).

Every method takes the current time in milliseconds (any origin) and returns the outputs the driver must
act on, in order (see `_outputs`); afterwards :attr:`ClientSession.next_deadline` says when to call
:meth:`~ClientSession.timer`. Randomness (reconnect jitter) is injected; request and ack IDs come from
counters, so the same inputs always give the same outputs: spec/traces/ records them as JSON.

States: idle -> connecting (`Open` asked) -> registering (`ping` sent) -> restoring (`pong` received, the
recorded subscriptions sent again) -> ready (every restore confirmed, offline queue sent, `Connected`)
-> waiting (backoff after a loss, `Reconnecting`) -> connecting ...; closed is final.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from ksps.errors import AuthError, ConnectionFailed, ConnectionReplaced, NotConnected

from ._acks import AckBook
from ._backoff import ReconnectPolicy
from ._codec import FrameEncoder
from ._config import SessionConfig
from ._errors import ServerErrorReply
from ._incoming import IncomingFrames
from ._intents import Intents
from ._offline import OfflineQueue
from ._outputs import (
    Close,
    Closed,
    Connected,
    Disconnected,
    ErrorEvent,
    Open,
    Output,
    Reconnecting,
    Refused,
    Send,
    Unsubscribed,
)
from ._positions import Cursor
from ._requests import RequestBook

__all__ = ["ClientSession", "State"]

#: Close codes after which the client does not come back on its own (spec §7.2, §10).
CLOSE_REPLACED = 4001
CLOSE_UNAUTHORIZED = 4003
CLOSE_TOKEN_EXPIRED = 4004
#: The HTTP status of a refused token at the upgrade; drivers report it as the `lost` code (spec §10).
HTTP_UNAUTHORIZED = 401


class State(Enum):
    """Where the session is in its lifecycle."""

    IDLE = "idle"
    CONNECTING = "connecting"
    REGISTERING = "registering"
    RESTORING = "restoring"
    READY = "ready"
    WAITING = "waiting"
    CLOSED = "closed"


_LINKED = (State.CONNECTING, State.REGISTERING, State.RESTORING, State.READY)


class ClientSession(IncomingFrames, Intents):
    """The state machine of one client; the asyncio client and the trace tests are its drivers."""

    def __init__(self, config: SessionConfig, *, random: Callable[[], float]) -> None:
        self.config = config
        self.client_id = config.id
        self.encoder = FrameEncoder(config.id)
        #: The token the next registration sends; the driver replaces it when it fetched a new one.
        self.token = config.token
        self.state = State.IDLE
        #: True while the state is READY: publications go straight out (the driver's fast-path test).
        self.ready = False
        self._policy = ReconnectPolicy(
            config.reconnect_initial_delay, config.reconnect_factor, config.reconnect_max_delay, random
        )
        self._queue = OfflineQueue(config.offline_queue_size, config.offline_queue_policy)
        #: topic -> the handle of its not yet confirmed subscribe intent (None once confirmed), in order.
        self._topics: dict[str, object] = {}
        #: The recorded topics subscribed with join_leave: restored with the flag (spec §15.3).
        self._join_leave: set[str] = set()
        #: topic -> the stream position of a recorded topic with history (spec §14.2): restores ask `since` it.
        self._positions: dict[str, Cursor] = {}
        self._requests = RequestBook()
        self._acks = AckBook(config.id)
        self._restoring = 0
        self._connected = False
        self._ever_connected = False
        self._connect_at: int | None = None
        self._retry_at: int | None = None
        self._out: list[Output] = []
        #: Incremented whenever a deadline is added or moved EARLIER (deadlines that end or move later need no
        #: new timer: one that fires early finds nothing due). Drivers compare it to skip re-arming.
        self.deadline_version = 0

    # -- state -------------------------------------------------------------------------------------------

    @property
    def registered(self) -> bool:
        """True once the server answered `ping` on the current connection: requests may go out."""
        return self.state is State.RESTORING or self.state is State.READY

    @property
    def closed(self) -> bool:
        """True once closed for good."""
        return self.state is State.CLOSED

    @property
    def next_deadline(self) -> int | None:
        """When the driver must call :meth:`timer` next (absolute ms), or None."""
        deadline = self._acks.next_deadline()
        connect_at, retry_at = self._connect_at, self._retry_at
        if connect_at is not None and (deadline is None or connect_at < deadline):
            deadline = connect_at
        if retry_at is not None and (deadline is None or retry_at < deadline):
            deadline = retry_at
        return deadline

    @property
    def queued(self) -> int:
        """Publications waiting in the offline queue."""
        return len(self._queue)

    @property
    def next_ack_id(self) -> str:
        """The ack ID (`client_ack_<id>_<n>`) the next publication with acknowledgement gets."""
        return self._acks.next_id

    def subscribed_topics(self) -> list[str]:
        """Every recorded topic, in the order they are restored."""
        return list(self._topics)

    def _take(self) -> list[Output]:
        out, self._out = self._out, []
        return out

    # -- connection inputs -------------------------------------------------------------------------------

    def start(self, now: int) -> list[Output]:
        """Begin: the first connection attempt."""
        if self.state is State.IDLE:
            self._open(now)
        return self._take()

    def opened(self, now: int) -> list[Output]:
        """The WebSocket connection asked by `Open` is up: register (spec §3.1, §10.3)."""
        if self.state is State.CONNECTING:
            self.state = State.REGISTERING
            request = self._requests.add("ping")
            self._out.append(Send(self.encoder.ping(self.token, request.rid)))
            self._connect_at = now + self.config.connect_timeout
            self.deadline_version += 1
        return self._take()

    def lost(self, code: int | None, reason: str | None, now: int) -> list[Output]:
        """The connection ended or could not be opened; `code` is the server's close code, if any."""
        if self.state in _LINKED:
            self._gone(code, reason, now)
        return self._take()

    def timer(self, now: int) -> list[Output]:
        """A deadline passed: a connection attempt times out, a reconnect delay ends, acks expire."""
        if self._connect_at is not None and now >= self._connect_at:
            self._out.append(Close(1000, "connect timeout"))
            timed_out = ConnectionFailed(f"cannot connect to {self.config.url()}: timed out")
            self._gone(None, "connect timeout", now, failure=timed_out)
        if self._retry_at is not None and now >= self._retry_at:
            self._open(now)
        for record in self._acks.expired(now):
            self._end_ack(record, complete=False)
        return self._take()

    def close(self, now: int) -> list[Output]:
        """The application closes the client for good; no `Disconnected` follows (only `Closed`)."""
        if self.state is not State.CLOSED:
            if self.state in _LINKED:
                self._out.append(Close(1000, ""))
            self._finish()
        return self._take()

    def set_token(self, token: str) -> None:
        """Use `token` from the next registration on (a driver with GetToken sets it before each attempt)."""
        self.token = token

    def refresh_token(self, token: str, now: int) -> list[Output]:
        """Send a new token on the ready connection (`ping`, spec §10.5); a refusal is an `AuthError` event."""
        self.token = token
        if self.state is State.READY:
            request = self._requests.add("refresh")
            self._out.append(Send(self.encoder.ping(token, request.rid)))
        return self._take()

    # -- lifecycle steps ---------------------------------------------------------------------------------

    def _open(self, now: int) -> None:
        self.state = State.CONNECTING
        self._retry_at = None
        self._connect_at = now + self.config.connect_timeout
        self.deadline_version += 1
        self._out.append(Open(self.config.url()))

    def _registered(self) -> None:
        """`pong` arrived: subscribe again to every recorded topic, in order (spec §4.1)."""
        self.state = State.RESTORING
        self._policy.reset()
        for topic, handle in self._topics.items():
            request = self._requests.add("restore", topic, handle)
            cursor = self._positions.get(topic)
            since = None if cursor is None else cursor.position()
            request.recovering = since is not None
            frame = self.encoder.subscribe(topic, request.rid, join_leave=topic in self._join_leave, since=since)
            self._out.append(Send(frame))
        self._restoring = len(self._topics)
        if not self._restoring:
            self._ready()

    def _restored_one(self) -> None:
        self._restoring -= 1
        if self._restoring <= 0 and self.state is State.RESTORING:
            self._ready()

    def _ready(self) -> None:
        """Every subscription is restored: send the queued publications, then publish directly."""
        self.state = State.READY
        self.ready = True
        self._connect_at = None
        for frame, handle in self._queue.drain():
            if handle is not None:
                record = self._acks.by_handle(handle)
                if record is None:
                    continue  # the request ended (cancel, timeout) while queued: nobody waits for it
                record.sent = True
            self._out.append(Send(frame))
        self._connected = self._ever_connected = True
        self._out.append(Connected())

    def _refused_registration(self, error: ServerErrorReply, now: int) -> None:
        """An `error` answered `ping` (e.g. `id_taken`, spec §10.6): this attempt failed."""
        self._out.append(Close(1000, "registration refused"))
        failure = ConnectionFailed(f"the server refused the registration: {error.text}")
        failure.__cause__ = error
        self._gone(None, "registration refused", now, failure=failure, code_of_failure=error.code)

    def _gone(
        self, code: int | None, reason: str | None, now: int, *,
        failure: Exception | None = None, code_of_failure: str = "",
    ) -> None:
        """The current connection is over: release what it carried, then retry or close."""
        was_connected = self._connected
        self.state = State.WAITING
        self.ready = self._connected = False
        self._connect_at = None
        self._restoring = 0
        if was_connected:
            self._out.append(Disconnected(code, reason))
        self._release_requests()
        for record in self._acks.sent():
            self._end_ack(record, complete=False)  # the server forgot them with the connection (spec §6.2)
        if code == CLOSE_REPLACED:
            # Another connection took this ID; coming back would kick it out in turn (spec §3.3, §7.2).
            error = ConnectionReplaced(f"client {self.client_id!r} replaced by a newer connection; closed")
            self._out.append(ErrorEvent(error, code=code))
            self._finish()
        elif code in (CLOSE_UNAUTHORIZED, CLOSE_TOKEN_EXPIRED, HTTP_UNAUTHORIZED):
            self._out.append(ErrorEvent(_auth_error(code, reason), code=code))
            first_failed = not self._ever_connected and not self.config.autorestart
            if not self.config.refreshable_token or first_failed:
                self._finish()  # the same token would be refused again (spec §7.2); or a first connection failed
            else:
                self._retry(now, at_once=code == CLOSE_TOKEN_EXPIRED)
        elif not was_connected:
            if failure is None:
                failure = ConnectionFailed(f"cannot connect to {self.config.url()}: {reason or 'connection failed'}")
            self._out.append(ErrorEvent(failure, code=code_of_failure))
            if not self._ever_connected and not self.config.autorestart:
                self._finish()
            else:
                self._retry(now)
        elif not self.config.reconnect:
            self._finish()
        else:
            self._retry(now)

    def _release_requests(self) -> None:
        for request in self._requests.take_all():
            if request.handle is None:
                continue
            if request.kind == "unsubscribe":
                self._out.append(Unsubscribed(request.handle))  # the server forgot it with the connection
            elif request.kind in ("status", "presence", "history"):
                self._out.append(Refused(request.handle, NotConnected("connection lost"), ""))
            # A pending subscribe keeps its handle in _topics: the restore on the next connection confirms it.

    def _retry(self, now: int, *, at_once: bool = False) -> None:
        delay = 0 if at_once else self._policy.next_delay()
        self.state = State.WAITING
        self._retry_at = now + delay
        self.deadline_version += 1
        self._out.append(Reconnecting(delay))

    def _finish(self) -> None:
        """Closed for good: every pending handle is over, nothing else follows."""
        self.state = State.CLOSED
        self.ready = self._connected = False
        self._connect_at = self._retry_at = None
        self._requests.take_all()
        self._acks.clear()
        self._queue.drain()
        self._topics.clear()
        self._join_leave.clear()
        self._positions.clear()
        self._out.append(Closed())


def _auth_error(code: int, reason: str | None) -> AuthError:
    if code == CLOSE_TOKEN_EXPIRED:
        return AuthError(f"the token expired: {reason or 'token expired'}", code=code)
    if code == HTTP_UNAUTHORIZED:
        return AuthError(f"the server refused the token: HTTP 401 {reason or ''}".rstrip(), code=code)
    return AuthError(f"the server refused the credentials: {reason or 'unauthorized'}", code=code)
