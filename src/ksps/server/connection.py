"""One WebSocket connection: reads frames into the broker, writes coalesced frames out (docs/architecture.md).

Writes are not sent one by one: `send` appends the pre-built frame bytes to a per-connection list, and the
shared :class:`Outbox` flushes every connection that has something, once per event-loop iteration, with one
`write` each. That is what makes fan-out cheap (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from typing import TYPE_CHECKING

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

from ..broker.permissions import Access, Identity
from ..protocol import CloseCodes, CloseReasons, Frame

if TYPE_CHECKING:
    from .core import ServerCore

__all__ = ["Connection", "Outbox"]

log = logging.getLogger("ksps.server")


class Outbox:
    """Connections with frames waiting, flushed together at the end of the loop iteration."""

    __slots__ = ("_dirty", "_loop", "_scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._dirty: list[Connection] = []
        self._scheduled = False

    def mark(self, connection: Connection) -> None:
        """Flush `connection` soon."""
        self._dirty.append(connection)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write out every marked connection now."""
        self._scheduled = False
        dirty, self._dirty = self._dirty, []
        for connection in dirty:
            connection.flush()


def _describe_peer(peername: object) -> tuple[str, bool]:
    """(`host:port` for logs, whether the address is loopback) of a socket's peer name."""
    if isinstance(peername, tuple) and peername:
        remote = f"{peername[0]}:{peername[1]}"
        try:
            return remote, ipaddress.ip_address(str(peername[0])).is_loopback
        except ValueError:
            return remote, False
    return str(peername), False


class Connection(WSListener):
    """The server side of one client connection; the broker sees it as a `Peer`."""

    def __init__(self, core: ServerCore, *, identity: Identity | None = None) -> None:
        self.client_id: str | None = None
        self.is_loopback = False
        #: Who the connection authenticated as, and its compiled permissions (spec §10).
        self.identity = identity
        self.access = core.handler.registrar.access(identity)
        self._expiry: asyncio.TimerHandle | None = None
        #: `host:port` of the client, for logs; known once connected.
        self.remote = ""
        self._core = core
        self._transport: WSTransport | None = None
        self._raw: asyncio.Transport | None = None
        self._pending: list[bytes] = []
        self._closing = False
        self._fragments: list[bytes] = []
        self._fragment_bytes = 0
        self._outbox = core.outbox
        self._max_send_queue = core.config.max_send_queue
        self._rate = core.config.max_frames_per_second
        self._tokens = float(core.config.frame_burst)
        self._refilled_at = 0.0

    # -- picows callbacks --------------------------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self._transport = transport
        self._raw = transport.underlying_transport
        self.remote, self.is_loopback = _describe_peer(self._raw.get_extra_info("peername"))
        self._refilled_at = self._core.loop.time()
        self._core.connection_opened(self)
        self._arm_expiry()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        msg_type = frame.msg_type
        if msg_type is WSMsgType.TEXT or msg_type is WSMsgType.BINARY:
            if not frame.fin:
                self._fragments = [frame.get_payload_as_bytes()]
                self._fragment_bytes = frame.payload_size
                return
            self._receive(frame.get_payload_as_bytes())
        elif msg_type is WSMsgType.CONTINUATION:
            self._continue(frame)
        elif msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self._closing = True
        self._disarm_expiry()
        self._pending.clear()
        self._core.connection_closed(self)

    def pause_writing(self) -> None:
        # The transport's buffer crossed its high-water mark. Nothing to pause: the send queue bound in
        # `flush` decides when a reader is too slow (spec §9.12). Defined so picows does not warn.
        pass

    def resume_writing(self) -> None:
        pass

    # -- reading -----------------------------------------------------------------------------------------

    def _continue(self, frame: WSFrame) -> None:
        if not self._fragments:
            return  # a continuation with no message started: picows already rejects it; be safe
        self._fragment_bytes += frame.payload_size
        if self._fragment_bytes > self._core.config.max_message_size:
            self._fragments = []
            self.close(CloseCodes.TOO_BIG, CloseReasons.TOO_BIG)
            return
        self._fragments.append(frame.get_payload_as_bytes())
        if frame.fin:
            payload = b"".join(self._fragments)
            self._fragments = []
            self._receive(payload)

    def _receive(self, payload: bytes) -> None:
        if self._closing:
            return
        if self._rate:
            # Token bucket, refilled only when it runs dry: the common case costs one subtraction.
            tokens = self._tokens - 1
            if tokens < 0:
                now = self._core.loop.time()
                tokens = min(self._core.config.frame_burst, tokens + (now - self._refilled_at) * self._rate)
                self._refilled_at = now
                if tokens < 0:
                    log.warning("closing %s (%s): rate limit exceeded", self.remote, self.client_id)
                    self.close(CloseCodes.RATE_LIMITED, CloseReasons.RATE_LIMITED)
                    return
            self._tokens = tokens
        self._core.handler.handle(self, payload)

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
            # `expires_at` is wall-clock time (a token's `exp`); the loop's clock is monotonic.
            delay = max(0.0, expires_at - time.time())
            self._expiry = self._core.loop.call_later(delay, self._expired)

    def _disarm_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None

    def _expired(self) -> None:
        self._expiry = None
        self.close(CloseCodes.TOKEN_EXPIRED, CloseReasons.TOKEN_EXPIRED)

    # -- writing (the broker's Peer interface) -------------------------------------------------------------

    def send(self, frame: Frame) -> None:
        """Queue a frame; flushed with the others at the end of this loop iteration.

        This runs once per subscriber per publication, so it does the least it can: the queue bound is
        checked in `flush`. Between two flushes a queue grows by at most what one read brought in.
        """
        pending = self._pending
        if not pending:
            if self._closing:
                return
            self._outbox.mark(self)
        pending.append(frame.wire)

    def flush(self) -> None:
        """Write every queued frame with one call; close the connection if it has fallen too far behind."""
        pending = self._pending
        if not pending or self._raw is None or self._closing:
            return
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        pending.clear()
        raw = self._raw
        raw.write(data)
        if raw.get_write_buffer_size() > self._max_send_queue:
            self._close_slow_consumer()

    def _close_slow_consumer(self) -> None:
        self._core.broker.slow_consumers_closed += 1
        log.warning(
            "closing %s (%s): slow consumer, more than %d bytes waiting",
            self.remote,
            self.client_id,
            self._core.config.max_send_queue,
        )
        self._pending.clear()
        self.close(CloseCodes.SLOW_CONSUMER, CloseReasons.SLOW_CONSUMER, flush=False)

    def close(self, code: int, reason: str, flush: bool = True) -> None:
        """Send what is queued (unless told not to), then a close frame, then drop the connection."""
        if self._closing or self._transport is None:
            return
        if flush:
            self.flush()
        self._closing = True
        self._disarm_expiry()
        log.info("closing %s (%s): %d %s", self.remote, self.client_id, code, reason)
        self._transport.send_close(_close_code(code), reason.encode())
        self._transport.disconnect()
        # A peer that stopped reading would keep the buffered bytes forever: give it a grace period.
        self._core.loop.call_later(self._core.config.handshake_timeout, self._abort)
        # But forget it now: its ID, subscriptions and pending acks must not wait for a socket that may take
        # that whole grace period to go (spec §7.2, §9.14). Deferred, because close() can run inside the
        # broker's fan-out loop over this very connection's topic.
        self._core.loop.call_soon(self._forget)

    def _forget(self) -> None:
        self._core.broker.disconnect(self)
        self.client_id = None

    def _abort(self) -> None:
        # Still connected after the grace period: the peer is not reading its close frame; cut it off.
        if self._raw is not None and self._transport is not None and not self._transport.is_disconnected:
            self._raw.abort()


def _close_code(code: int) -> WSCloseCode:
    try:
        return WSCloseCode(code)
    except ValueError:
        # picows' enum lists only the RFC codes; its C layer takes any int, the annotation does not.
        return code  # type: ignore[return-value]
