"""One WebSocket connection to the server, on picows (RFC 6455).

The transport only moves frames: each complete text or binary message goes to `on_message` as it is read,
and the end of the connection goes to `on_closed` with the close code the server sent, if any. Keepalive
PINGs (spec §1.6) are picows' auto-ping: a connection silent for `keepalive_interval` seconds is pinged, and
one that does not answer within `keepalive_timeout` seconds is dropped, which detects half-open sockets.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from enum import Enum
from time import monotonic as _monotonic

from picows import WSAutoPingStrategy, WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from ._frames import masked_text_frames

__all__ = ["Link", "open_link"]

#: Largest message the client accepts; bigger ones close the connection (the original Python used 10 MB).
MAX_MESSAGE_SIZE = 16 * 1024 * 1024
#: Seconds between two sends under which they count as a burst (see Link.send).
BURST_GAP = 20e-6
#: Bytes of queued frames that are written at once, without waiting for the end of the loop turn: bounds the
#: queue of a publisher that never yields, and lets the socket's flow control (pause_writing) see the load.
FLUSH_SIZE = 64 * 1024
#: Payloads from this size on are masked and sent by picows (in C) rather than queued: masking in Python is
#: linear too, but a big frame gains nothing from sharing a write.
QUEUE_LIMIT = 4096
#: Seconds a closing link waits for the server's answering CLOSE before dropping the socket (see Link.close).
CLOSE_WAIT = 2.0

_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY
_CONTINUATION = WSMsgType.CONTINUATION
_CLOSE = WSMsgType.CLOSE


class Link(WSListener):
    """picows listener and sender of one connection."""

    def __init__(
        self,
        on_message: Callable[[Link, bytes | memoryview], None],
        on_closed: Callable[[Link, int | None, str | None], None],
    ) -> None:
        super().__init__()
        self._on_message = on_message
        self._on_closed = on_closed
        self._transport: WSTransport | None = None
        self._fragments: list[bytes] | None = None
        self._writable: asyncio.Future[None] | None = None
        #: Payloads of a burst, written together at the end of the loop turn (see send).
        self._queue: list[bytes] = []
        self._queued = 0
        self._last_send = 0.0
        # Kept: `asyncio.get_running_loop()` costs a getpid() syscall on Python 3.11, once per burst otherwise.
        self._loop = asyncio.get_running_loop()
        #: True while the socket's write buffer is over its high-water mark (asyncio flow control).
        self.paused = False
        self.closed = False
        #: The close code and reason the server sent, once closed (None when no close frame came).
        self.close_code: int | None = None
        self.close_reason: str | None = None

    # -- picows callbacks --------------------------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        """picows: the handshake completed."""
        self._transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        """picows: one frame arrived; complete messages go to `on_message` (RFC 6455 §5.4 fragments)."""
        msg_type = frame.msg_type
        if msg_type is _TEXT or msg_type is _BINARY:
            if frame.fin:
                # The memoryview is only valid during this call; the handler decodes it at once.
                self._on_message(self, frame.get_payload_as_memoryview())
            else:
                self._fragments = [frame.get_payload_as_bytes()]
        elif msg_type is _CONTINUATION and self._fragments is not None:
            self._fragments.append(frame.get_payload_as_bytes())
            if frame.fin:
                payload, self._fragments = b"".join(self._fragments), None
                self._on_message(self, payload)
        elif msg_type is _CLOSE:
            # Report at once, so that nothing more is handed to a link that is going away (picows drops
            # frames sent after a CLOSE), then answer the closing handshake (RFC 6455 §5.5.1) after what was
            # already sent.
            self._flush()
            self._report_closed(transport)
            if not transport.is_close_frame_sent:  # else this answers our own CLOSE (see close)
                transport.send_close(WSCloseCode.OK)
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        """picows: the socket is gone; report the close code the server sent, if any."""
        self._report_closed(transport)

    def _report_closed(self, transport: WSTransport) -> None:
        if self.closed:
            return
        self.closed = True
        self.paused = False
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        code: int | None = None
        reason: str | None = None
        handshake = transport.close_handshake
        if handshake is not None and handshake.recv is not None:
            received = handshake.recv.code
            code = int(received.value) if isinstance(received, Enum) else int(received)
            reason = handshake.recv.reason
        self.close_code, self.close_reason = code, reason
        self._on_closed(self, code, reason)

    def pause_writing(self) -> None:
        """asyncio flow control: the write buffer is over its high-water mark."""
        self.paused = True
        if self._writable is None or self._writable.done():
            self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        """asyncio flow control: the write buffer drained below its low-water mark."""
        self.paused = False
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    # -- used by the session -----------------------------------------------------------------------------

    def send(self, payload: bytes) -> None:
        """Send one JSON message as a text frame (spec §1.3). Does nothing once the connection is gone.

        A lone message leaves at once, through picows, with no extra work (the request/response path). When
        messages follow each other within BURST_GAP seconds (a publisher's loop, the answers to the frames of
        one socket read, many requests in flight), the next ones are queued and written together at the end
        of the event-loop turn: one `send` syscall and full TCP segments for the burst instead of one of each
        per frame (with TCP_CORK, a third of the client's CPU at 100 acks in flight). Order is kept: while a
        burst is queued every message joins it, and a big one flushes it first.
        """
        transport = self._transport
        if transport is None or self.closed:
            return
        if len(payload) < QUEUE_LIMIT:
            queue = self._queue
            now = _monotonic()
            if queue or now - self._last_send < BURST_GAP:
                if not queue:
                    self._loop.call_soon(self._flush)
                queue.append(payload)
                self._queued += len(payload)
                self._last_send = now
                if self._queued >= FLUSH_SIZE:
                    self._flush()
                return
            self._last_send = now
        else:
            self._flush()
        transport.send(_TEXT, payload)

    def _flush(self) -> None:
        """Write the queued burst in one go (masked as RFC 6455 §5.3 asks of a client)."""
        queue = self._queue
        if not queue:
            return
        self._queue = []
        self._queued = 0
        transport = self._transport
        if transport is None or self.closed or transport.is_close_frame_sent:
            return  # gone meanwhile: nothing more may be sent (as picows drops frames after a CLOSE)
        transport.underlying_transport.write(masked_text_frames(queue))

    def pause_reading(self, on: bool) -> None:
        """Stop (True) or resume (False) reading from the socket: flow control for slow callbacks."""
        transport = self._transport
        if transport is None or transport.is_disconnected:
            return
        if on:
            transport.underlying_transport.pause_reading()
        else:
            transport.underlying_transport.resume_reading()

    @property
    def opened(self) -> bool:
        """True once the WebSocket handshake completed."""
        return self._transport is not None

    async def writable(self) -> None:
        """Wait until the write buffer drained below its low-water mark (or the connection ended)."""
        if self._writable is not None:
            await asyncio.shield(self._writable)

    def close(self, code: int = 1000) -> None:
        """Start the closing handshake; `on_closed` follows when the socket is gone."""
        transport = self._transport
        if transport is not None and not transport.is_disconnected:
            self._flush()  # what was sent before Close leaves before the CLOSE frame
            if not transport.is_close_frame_sent:
                transport.send_close(WSCloseCode(code) if code in _KNOWN_CODES else WSCloseCode.OK)
            # Keep reading until the server answers with its CLOSE and drops the connection (RFC 6455 §5.5.1;
            # on_ws_frame then disconnects), CLOSE_WAIT at most. Closing the socket at once, with frames still
            # unread in it (the `published` receipts of the last publications), makes the kernel reset the
            # connection, and the server loses the frames it had not read yet: the last publications.
            self._loop.call_later(CLOSE_WAIT, self.abort)

    def abort(self) -> None:
        """Drop the socket at once, without a closing handshake."""
        self._queue = []
        self._queued = 0
        if self._transport is not None and not self._transport.is_disconnected:
            self._transport.disconnect(graceful=False)

    async def wait_closed(self) -> None:
        """Wait until the socket is gone."""
        if self._transport is not None and not self._transport.is_disconnected:
            await self._transport.wait_disconnected()


_KNOWN_CODES = {int(code.value) for code in WSCloseCode}


async def open_link(
    link: Link,
    url: str,
    keepalive_interval: float,
    keepalive_timeout: float,
    handshake_timeout: float,
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """Open the WebSocket connection of `link`. Raises OSError or a picows error when it fails."""
    keepalive = keepalive_interval > 0
    await ws_connect(
        lambda: link,
        url,
        ssl_context=ssl_context,
        websocket_handshake_timeout=handshake_timeout,
        enable_auto_ping=keepalive,
        auto_ping_idle_timeout=keepalive_interval if keepalive else 10.0,
        auto_ping_reply_timeout=min(keepalive_timeout, keepalive_interval) if keepalive else 10.0,
        auto_ping_strategy=WSAutoPingStrategy.PING_WHEN_IDLE,
        max_frame_size=MAX_MESSAGE_SIZE,
    )
