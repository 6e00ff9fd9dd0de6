"""One WebSocket connection that came through an ASGI server; the broker sees it as a `Peer`.

The ASGI server (uvicorn, hypercorn) owns the socket and the WebSocket framing; this class applies what
spec §13.1 still lets it apply to whole messages: the message-rate token bucket (`max_frames_per_second`,
`frame_burst`: one token per message here, control frames never reach ASGI), `max_message_size` (checked
after the ASGI server read the message: bound its own limit too, docs/asgi.md), a bounded send queue
(`max_send_queue` bytes, else 4002, spec §9.12), the registration deadline (4005, spec §10.3) and token
expiry (4004, spec §10.5).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from ..broker.permissions import Access, Identity
from ..protocol import CloseCodes, CloseReasons, Frame

if TYPE_CHECKING:
    from ..server.core import ServerCore

__all__ = ["AsgiConnection", "Receive", "Send"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


_last: tuple[Frame, str] | None = None


def _text(frame: Frame) -> str:
    """The frame's JSON as text (ASGI sends `str` as a text frame), decoded once per publication.

    The broker hands the same Frame to every subscriber of a publication in a row, so one cached entry
    turns the decode per subscriber into one per publication.
    """
    global _last
    if _last is not None and _last[0] is frame:
        return _last[1]
    text = frame.json.decode()
    _last = (frame, text)
    return text


class AsgiConnection:
    """The server side of one ASGI WebSocket connection (after `websocket.accept`)."""

    def __init__(self, core: ServerCore, send: Send, *, address: str, identity: Identity | None) -> None:
        self.client_id: str | None = None
        self.client_address = address
        self.identity = identity
        self.access = core.handler.registrar.access(identity)
        self._core = core
        self._send = send
        config = core.config
        self._max_send_queue = config.max_send_queue
        self._max_message = config.max_message_size
        self._rate = config.max_frames_per_second
        self._burst = float(config.frame_burst)
        self._tokens = self._burst
        self._loop = asyncio.get_running_loop()
        self._refilled_at = self._loop.time()
        #: Texts waiting for the writer task, and their size in bytes (the send-queue bound).
        self._queue: collections.deque[str] = collections.deque()
        self._queued = 0
        self._wake = asyncio.Event()
        self._close: tuple[int, str] | None = None
        self._closing = False
        self._gone = False
        self._timers: list[asyncio.TimerHandle] = []
        self._expiry: asyncio.TimerHandle | None = None

    # -- reading -----------------------------------------------------------------------------------------

    async def serve(self, receive: Receive) -> None:
        """Read messages into the broker until the client or the server closes; then forget the connection."""
        writer = asyncio.create_task(self._write())
        if (timeout := self._core.config.register_timeout) > 0:
            self._timers.append(self._loop.call_later(timeout, self._registration_due))
        self._arm_expiry()
        try:
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.disconnect":
                    break
                if kind == "websocket.receive" and not self._closing:
                    self._received(message)
        finally:
            self._gone = True
            self._closing = True
            self._wake.set()
            for timer in self._timers:
                timer.cancel()
            self._disarm_expiry()
            self._core.broker.disconnect(self)
            self.client_id = None
            writer.cancel()  # it may wait in a send to a socket that is gone
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    def _received(self, message: Message) -> None:
        if self._rate:
            tokens = self._tokens - 1
            if tokens < 0:
                now = self._loop.time()
                tokens = min(self._burst, tokens + (now - self._refilled_at) * self._rate)
                self._refilled_at = now
                if tokens < 0:
                    self._refuse("rate", CloseCodes.RATE_LIMITED, CloseReasons.RATE_LIMITED)
                    return
            self._tokens = tokens
        text = message.get("text")
        payload = text.encode() if text is not None else message.get("bytes") or b""
        if len(payload) > self._max_message:
            self._refuse("too-big", CloseCodes.TOO_BIG, CloseReasons.TOO_BIG)
            return
        self._core.handler.handle(self, payload)

    def _refuse(self, kind: str, code: int, reason: str) -> None:
        closes = self._core.limit_closes
        closes[kind] = closes.get(kind, 0) + 1
        self._core.throttled.warning(kind, "closing %s (%s): %d %s", self.client_address, self.client_id, code, reason)
        self.close(code, reason)

    def _registration_due(self) -> None:
        if self.client_id is None:
            self.close(CloseCodes.REGISTRATION_TIMEOUT, CloseReasons.REGISTRATION_TIMEOUT)

    # -- identity (spec §10.5) ----------------------------------------------------------------------------

    def authenticate(self, identity: Identity | None, access: Access) -> None:
        """Adopt a new or refreshed identity (the broker's Peer interface); re-arms the expiry timer."""
        self.identity = identity
        self.access = access
        self._arm_expiry()

    def _arm_expiry(self) -> None:
        self._disarm_expiry()
        expires_at = self.identity.expires_at if self.identity is not None else None
        if expires_at is not None and not self._closing:
            delay = max(0.0, expires_at - time.time())  # `exp` is wall-clock time, the loop's clock is not
            self._expiry = self._loop.call_later(
                delay, self.close, CloseCodes.TOKEN_EXPIRED, CloseReasons.TOKEN_EXPIRED
            )

    def _disarm_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None

    # -- writing (the broker's Peer interface) -------------------------------------------------------------

    def send(self, frame: Frame) -> None:
        """Queue a frame for the writer task; a connection over `max_send_queue` bytes is closed (4002)."""
        if self._closing:
            return
        queued = self._queued + len(frame.json)
        if queued > self._max_send_queue:
            self._cut()
            return
        self._queue.append(_text(frame))
        self._queued = queued
        self._wake.set()

    def _cut(self) -> None:
        self._core.broker.slow_consumers_closed += 1
        self._core.throttled.warning(
            "slow-consumer",
            "closing %s (%s): slow consumer, more than %d bytes waiting",
            self.client_address,
            self.client_id,
            self._max_send_queue,
        )
        self._queue.clear()
        self._queued = 0
        self.close(CloseCodes.SLOW_CONSUMER, CloseReasons.SLOW_CONSUMER)

    def close(self, code: int, reason: str) -> None:
        """Send what is queued, then a close frame (spec §7.2); the broker forgets the client at once."""
        if self._closing:
            return
        self._closing = True
        self._close = (code, reason)
        self._disarm_expiry()
        self._wake.set()
        # Deferred: close() can run inside the broker's fan-out loop over this very connection's topic.
        self._loop.call_soon(self._forget)

    def _forget(self) -> None:
        self._core.broker.disconnect(self)
        self.client_id = None

    @property
    def closing(self) -> bool:
        """True once the connection is closing: nothing more will be queued."""
        return self._closing

    async def _write(self) -> None:
        send, queue = self._send, self._queue
        try:
            while True:
                while queue and not self._gone:
                    text = queue.popleft()
                    self._queued -= len(text)
                    await send({"type": "websocket.send", "text": text})
                if self._gone:
                    return
                if self._close is not None:
                    code, reason = self._close
                    await send({"type": "websocket.close", "code": code, "reason": reason})
                    return
                self._wake.clear()
                await self._wake.wait()
        except Exception:
            # The ASGI server reports a socket that went away by raising from send (an OSError per the ASGI
            # spec; uvicorn and hypercorn raise their own types too): the read loop sees the disconnect.
            return
