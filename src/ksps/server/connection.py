"""One WebSocket connection: reads frames into the broker, writes coalesced frames out (docs/architecture.md).

Writes are not sent one by one: `send` appends the pre-built frame bytes to a per-connection list, and the
shared `Outbox` (server/outbox.py) flushes every connection that has something, once per event-loop
iteration, with one `write` each. That is what makes fan-out cheap (docs/performance.md).

Reading applies the limits of spec §13.1: frame and control-frame rates, fragment bounds, RFC 6455 framing
rules; PINGs are answered through the send queue, and reading pauses while writes are backed up.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

from ..broker.permissions import Access, Identity
from ..protocol import CloseCodes, CloseReasons, Frame
from .framing import close_answer, pong_frame
from .listener import BoundedReads

if TYPE_CHECKING:
    from .core import ServerCore

__all__ = ["Connection"]

#: Frames joined into one write at most (`Connection._write_in_parts`): 256 KiB of 1 KiB publications.
_FRAMES_PER_WRITE = 256


class Connection(WSListener):
    """The server side of one client connection; the broker sees it as a `Peer`."""

    # Slots: one per connection, up to 20,000 of them held idle (docs/performance.md). `__dict__` stays
    # for what is set rarely (`forwarded`): it is only allocated for a connection that gets one.
    __slots__ = (
        "__dict__",
        "_budget",
        "_burst",
        "_closing",
        "_control_rate",
        "_control_refilled_at",
        "_control_tokens",
        "_core",
        "_counted",
        "_expiry",
        "_fragment_count",
        "_fragments",
        "_max_fragments",
        "_max_message",
        "_max_send_queue",
        "_outbox",
        "_pending",
        "_pinged_at",
        "_rate",
        "_raw",
        "_reads",
        "_refilled_at",
        "_silent_since",
        "_tokens",
        "_traffic",
        "_transport",
        "access",
        "buffered",
        "client_address",
        "client_id",
        "close_info",
        "identity",
        "lingering",
        "opened_at",
        "remote",
    )

    #: What the upgrade's forwarding headers claimed; set by the server only when trusted proxies are
    #: configured (a class default, so other connections carry no extra attribute).
    forwarded: tuple[str, ...] = ()

    def __init__(self, core: ServerCore, *, identity: Identity | None = None) -> None:
        self.client_id: str | None = None
        #: Who the connection authenticated as, and its compiled permissions (spec §10).
        self.identity = identity
        self.access = core.handler.registrar.access(identity)
        self._expiry: asyncio.TimerHandle | None = None
        #: The client's IP: the socket peer's, or what a trusted proxy reported (spec §12.3); once connected.
        self.client_address = ""
        #: `host:port` of the client, for logs (`client via proxy:port` behind a trusted proxy).
        self.remote = ""
        #: Bytes waiting in the transport when last counted by the server-wide output budget (spec §13.1).
        self.buffered = 0
        #: Closed for breaking a limit, waiting for the peer to read its close frame (`_close_abuser`).
        self.lingering = False
        #: For the line logged when the socket is gone: when it connected, and (code, reason, client ID,
        #: who closed) once a close frame went out; None = the connection was dropped without one.
        self.opened_at = 0.0
        self.close_info: tuple[int, str, str | None, str] | None = None
        self._core = core
        self._transport: WSTransport | None = None
        self._raw: asyncio.Transport | None = None
        #: The picows protocol, whose `heard` flag each read sets, and the keepalive state (server/keepalive.py):
        #: when the last sweep saw data, and when the unanswered PING went out (0 = none out).
        self._reads: BoundedReads | None = None
        self._silent_since = 0.0
        self._pinged_at = 0.0
        self._pending: list[bytes] = []
        self._closing = False
        self._counted = False
        self._outbox = core.outbox
        self._budget = core.output_budget
        self._traffic = core.traffic
        config = core.config
        self._max_send_queue = config.max_send_queue
        self._max_message = config.max_message_size
        self._max_fragments = config.max_message_fragments
        #: The unfinished fragmented message (RFC 6455 §5.4), or None between messages.
        self._fragments: bytearray | None = None
        self._fragment_count = 0
        self._rate = config.max_frames_per_second
        self._burst = float(config.frame_burst)
        self._tokens = self._burst
        self._refilled_at = 0.0
        self._control_rate = config.max_control_frames_per_second
        self._control_tokens = self._control_rate
        self._control_refilled_at = 0.0

    # -- picows callbacks --------------------------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self._transport = transport
        self._raw = transport.underlying_transport
        protocol = self._raw.get_protocol()
        self._reads = protocol if isinstance(protocol, BoundedReads) else None
        self.client_address, self.remote = self._core.proxies.describe(
            self._raw.get_extra_info("peername"), self.forwarded
        )
        self.opened_at = self._refilled_at = self._control_refilled_at = self._silent_since = self._core.loop.time()
        self._counted = True
        self._core.connection_opened(self)
        self._arm_expiry()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if self._closing:
            return
        if self._rate:
            # Token bucket over every frame (data, continuation and control: spec §13.1), refilled only when
            # it runs dry: the common case costs one subtraction.
            tokens = self._tokens - 1
            if tokens < 0:
                tokens = self._refill(tokens)
                if tokens < 0:
                    self._refuse("rate", CloseCodes.RATE_LIMITED, CloseReasons.RATE_LIMITED)
                    return
            self._tokens = tokens
        if frame.rsv1 or frame.rsv2 or frame.rsv3:
            # RFC 6455 §5.2: no extension is negotiated, so a set RSV bit MUST fail the connection.
            self._protocol_error("RSV bits set")
            return
        msg_type = frame.msg_type
        if msg_type is WSMsgType.TEXT or msg_type is WSMsgType.BINARY:
            if self._fragments is not None:
                # RFC 6455 §5.4: only control frames may come between the fragments of a message.
                self._protocol_error("data frame inside a fragmented message")
            elif frame.fin:
                self._core.handler.handle(self, frame.get_payload_as_bytes())
            else:
                self._fragments = bytearray(frame.get_payload_as_memoryview())
                self._fragment_count = 1
                self._check_message_size()
        elif msg_type is WSMsgType.CONTINUATION:
            self._continue(frame)
        else:
            self._control(frame)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self._closing = True
        self._disarm_expiry()
        self._pending.clear()
        self._fragments = None
        self._budget.release(self)
        if self._counted:
            self._counted = False
            self._core.connection_closed(self)

    def pause_writing(self) -> None:
        # The transport's buffer crossed its high-water mark: stop reading this peer until it drains. A client
        # that does not read can then not make us produce more output (PONGs, answers: spec §13.1). The
        # send-queue bound in `flush` still decides when a subscriber is too slow (spec §9.12).
        if self._raw is not None:
            self._raw.pause_reading()

    def resume_writing(self) -> None:
        if self._raw is None:
            return
        if self.lingering:
            # Its backlog and close frame are out: read again, only to see it close (frames are ignored).
            self._raw.resume_reading()
        elif not self._closing:
            self._raw.resume_reading()
            self._budget.update(self, self._raw.get_write_buffer_size())

    # -- reading -----------------------------------------------------------------------------------------

    def _refill(self, tokens: float) -> float:
        now = self._core.loop.time()
        tokens = min(self._burst, tokens + (now - self._refilled_at) * self._rate)
        self._refilled_at = now
        return tokens

    def _continue(self, frame: WSFrame) -> None:
        fragments = self._fragments
        if fragments is None:
            # RFC 6455 §5.4: a continuation frame continues a message started by a data frame with FIN=0.
            self._protocol_error("continuation frame with no message started")
            return
        # Fragments are bounded in bytes and in number, empty ones included (spec §13.1); they are gathered
        # into one buffer, so a fragment costs its bytes and nothing per fragment.
        self._fragment_count += 1
        fragments += frame.get_payload_as_memoryview()
        if self._check_message_size() and frame.fin:
            payload = bytes(fragments)
            self._fragments = None
            self._core.handler.handle(self, payload)

    def _check_message_size(self) -> bool:
        assert self._fragments is not None
        if len(self._fragments) <= self._max_message and self._fragment_count <= self._max_fragments:
            return True
        self._fragments = None
        self._refuse("too-big", CloseCodes.TOO_BIG, CloseReasons.TOO_BIG)
        return False

    def _control(self, frame: WSFrame) -> None:
        if self._control_rate:
            now = self._core.loop.time()
            rate = self._control_rate
            tokens = min(rate, self._control_tokens + (now - self._control_refilled_at) * rate)
            self._control_refilled_at = now
            if tokens < 1:
                self._refuse("control-rate", CloseCodes.RATE_LIMITED, CloseReasons.CONTROL_RATE_LIMITED)
                return
            self._control_tokens = tokens - 1
        msg_type = frame.msg_type
        if msg_type is WSMsgType.PING:
            # Answered here, through the send queue, not by picows straight to the socket: the PONG counts
            # toward the send-queue bound and the output budget like any other output (spec §13.1).
            self._send_bytes(pong_frame(frame.get_payload_as_bytes()))
        elif msg_type is WSMsgType.CLOSE:
            code, reason = close_answer(frame.payload_size, frame.get_close_code().value)
            if code == CloseCodes.PROTOCOL_ERROR:
                self._refuse("protocol", code, reason)
            else:
                self.close(code, reason, by="client")
        # A PONG needs nothing here: the read that brought it already told the keepalive sweep the peer is alive
        # (server/keepalive.py); an unsolicited one is ignored likewise (RFC 6455 §5.5.3).

    def _protocol_error(self, detail: str) -> None:
        self._fragments = None
        self._refuse("protocol", CloseCodes.PROTOCOL_ERROR, f"{CloseReasons.PROTOCOL_ERROR}: {detail}")

    def _refuse(self, kind: str, code: int, reason: str) -> None:
        closes = self._core.limit_closes
        closes[kind] = closes.get(kind, 0) + 1
        self._core.throttled.warning(kind, "closing %s (%s): %d %s", self.remote, self.client_id, code, reason)
        self._close_abuser(code, reason)

    # -- keepalive (spec §1.6; driven by server/keepalive.py) ------------------------------------------------

    def keepalive_check(self, now: float, interval: float, timeout: float) -> bool:
        """One keepalive sweep's look at this connection: PING it if silent; True if it should be dropped."""
        reads = self._reads
        if reads is None or self._closing:
            return False
        if reads.heard:  # any data answers: a PONG, or frames the peer sent on its own
            reads.heard = False
            self._silent_since = now
            self._pinged_at = 0.0
            return False
        if self._pinged_at:
            return now - self._pinged_at >= timeout
        if now - self._silent_since >= interval:
            assert self._transport is not None
            self._transport.send_ping()
            self._pinged_at = now
        return False

    def keepalive_expired(self, timeout: float) -> None:
        """No answer to the PING: a close frame, then drop the socket at once (the peer may be gone: spec §9.15)."""
        if self._closing or self._transport is None or self._raw is None:
            return
        reason = f"peer has not replied to ping/heartbeat request within {timeout:g} second(s)"
        self._transport.send_close(WSCloseCode.GOING_AWAY, reason.encode())
        self._raw.abort()

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

    def _send_bytes(self, data: bytes) -> None:
        """Queue ready WebSocket frame bytes (a PONG), like `send`."""
        if not self._pending:
            if self._closing:
                return
            self._outbox.mark(self)
        self._pending.append(data)

    def flush(self) -> None:
        """Write every queued frame with one call; close the connection if it has fallen too far behind."""
        pending = self._pending
        if not pending or self._raw is None or self._closing:
            return
        raw = self._raw
        # `buffered` (what the last flush left waiting) is 0 for a reader that keeps up: then no extra call.
        if self.buffered and not self._admit(pending, raw.get_write_buffer_size()):
            return
        if len(pending) <= _FRAMES_PER_WRITE:
            data = pending[0] if len(pending) == 1 else b"".join(pending)
            raw.write(data)
            self._traffic.sent += len(data)  # once per write: a whole loop iteration's frames
        elif not self._write_in_parts(raw, pending):
            return
        pending.clear()
        size = raw.get_write_buffer_size()
        if size > self._max_send_queue:
            self._close_slow_consumer()
        elif size or self.buffered:
            self._budget.update(self, size)

    def _write_in_parts(self, raw: asyncio.Transport, pending: list[bytes]) -> bool:
        """Write a long queue as several joined parts; False if the connection was closed on the way (4002).

        Once a part is left waiting (the kernel took what it could), the rest would all stay in memory: it is
        checked like a backlog (`_admit`). And a write the kernel takes only in part keeps its whole buffer
        alive under uvloop (a view of the rest) while get_write_buffer_size() reports only the rest: parts
        bound that to one part (spec §13.1).
        """
        admitted = False
        for start in range(0, len(pending), _FRAMES_PER_WRITE):
            if start and not admitted:
                waiting = raw.get_write_buffer_size()
                if waiting:
                    if not self._admit(pending[start:], waiting):
                        # Closed, but what it holds counts until its socket is gone (the budget may drop it).
                        self._budget.update(self, raw.get_write_buffer_size())
                        return False
                    admitted = True
            part = b"".join(pending[start : start + _FRAMES_PER_WRITE])
            raw.write(part)
            self._traffic.sent += len(part)
        return True

    def _admit(self, pending: list[bytes], waiting: int) -> bool:
        """Whether a connection with a backlog may queue `pending` too; if not, it is closed (4002), unsent.

        With bytes already waiting, nothing more reaches the socket now: all of it would stay in memory. So the
        send-queue bound and the output budget are applied before the bytes are joined and written, not after
        (spec §13.1): under uvloop one loop iteration reads up to 32 chunks of a busy publisher, and writing
        first let one flush put megabytes per subscriber over the budget before it was enforced.
        """
        if not waiting:
            return True
        queued = sum(map(len, pending))
        if waiting + queued > self._max_send_queue:
            self._close_slow_consumer()
            return False
        if self._budget.admits(self, waiting=waiting, queued=queued):
            return True
        if not self._closing:
            self._budget.cut += 1
            self.cut_for_budget()
        return False

    @property
    def closing(self) -> bool:
        """True once the connection is closing: nothing more will be queued."""
        return self._closing

    def waiting(self) -> int:
        """Bytes waiting in this connection's transport (for the output budget)."""
        return self._raw.get_write_buffer_size() if self._raw is not None else 0

    def cut_for_budget(self) -> None:
        """Close as a slow consumer (4002): the server-wide output budget is exceeded and this one is behind."""
        self._core.throttled.warning(
            "output-budget",
            "closing %s (%s): slow consumer, %d bytes waiting, server-wide output over %d bytes (max_output_buffer)",
            self.remote,
            self.client_id,
            self.buffered,
            self._core.config.max_output_buffer,
        )
        self._cut()

    def _close_slow_consumer(self) -> None:
        self._core.throttled.warning(
            "slow-consumer",
            "closing %s (%s): slow consumer, more than %d bytes waiting",
            self.remote,
            self.client_id,
            self._core.config.max_send_queue,
        )
        self._cut()

    def _cut(self) -> None:
        self._core.broker.slow_consumers_closed += 1
        self._pending.clear()
        self._close_abuser(CloseCodes.SLOW_CONSUMER, CloseReasons.SLOW_CONSUMER, flush=False)

    def close(self, code: int, reason: str, flush: bool = True, *, by: str = "server") -> None:
        """Send what is queued (unless told not to), then a close frame, then drop the connection.

        `by` says who began the closing handshake, for the log line: "server", or "client" when this answers
        the client's close frame.
        """
        if self._begin_close(code, reason, flush, by):
            assert self._transport is not None
            self._transport.disconnect()

    def _close_abuser(self, code: int, reason: str, flush: bool = True) -> None:
        """Close a connection that broke a limit, so that its peer still gets the close code.

        Such a peer is often still sending. Closing the socket with unread bytes in it makes the kernel send
        a reset and drop what was not yet delivered, the close frame included. So: the close frame, then a
        FIN after it (half-close), and no more reading; the grace period of `_begin_close` ends it.
        """
        if self._begin_close(code, reason, flush):
            assert self._raw is not None
            if self._raw.can_write_eof():
                self._raw.write_eof()
            self._raw.pause_reading()
            self.lingering = True

    def _begin_close(self, code: int, reason: str, flush: bool, by: str = "server") -> bool:
        if self._closing or self._transport is None:
            return False
        if flush:
            self.flush()
            if self._closing:  # the flush found it too slow and closed it already
                return False
        self._closing = True
        self._disarm_expiry()
        self.close_info = (code, reason, self.client_id, by)
        self._transport.send_close(_close_code(code), reason.encode())
        # A peer that stopped reading would keep the buffered bytes forever: give it a grace period.
        self._core.loop.call_later(self._core.config.handshake_timeout, self._abort)
        # But forget it now: its ID, subscriptions and pending acks must not wait for a socket that may take
        # that whole grace period to go (spec §7.2, §9.14). Deferred, because close() can run inside the
        # broker's fan-out loop over this very connection's topic.
        self._core.loop.call_soon(self._forget)
        return True

    def _forget(self) -> None:
        self._core.broker.disconnect(self)
        self.client_id = None

    def abort(self) -> None:
        """Drop the socket and what it has waiting, now."""
        if self._raw is not None:
            self._raw.abort()

    def drop_for_budget(self) -> None:
        """Drop a closed connection that is not reading its close frame: the output budget is exceeded."""
        self._core.throttled.warning(
            "output-drop",
            "dropping %s (%s): closed but not reading, %d bytes waiting, server-wide output over %d bytes",
            self.remote,
            self.client_id,
            self.buffered,
            self._core.config.max_output_buffer,
        )
        self.abort()

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
