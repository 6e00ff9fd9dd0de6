"""Raw test clients for the server suite: JSON frames over real sockets, no ksps client code.

`WireClient` wraps a `websockets` connection and speaks the JSON frames of spec/protocol.md directly.
`RawSocket` does the RFC 6455 handshake by hand on a plain TCP socket, then reads only when told to: it is the
slow consumer and the half-open peer that a well-behaved library cannot imitate.

Every wait is bounded by a multiple of one time unit, `KSPS_TEST_TIMEOUT_UNIT` seconds (default 1), so a slow
machine can be given more room without editing tests.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

#: Seconds of one time unit; every timeout in the server tests is a multiple of it.
UNIT = float(os.environ.get("KSPS_TEST_TIMEOUT_UNIT", "1"))

Frame = dict[str, Any]


def units(n: float = 1.0) -> float:
    """`n` time units, in seconds."""
    return n * UNIT


def ms(seconds: float) -> int:
    """Seconds as the integer milliseconds of the `timeout` member (spec §6.2)."""
    return round(seconds * 1000)


class WireClient:
    """One WebSocket connection that sends and receives JSON frames."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        #: The ID the server confirmed in its last `pong`.
        self.id: str | None = None

    @classmethod
    async def open(cls, url: str, **options: Any) -> WireClient:
        """Connect (no proxy, no compression unless asked) and return the client, not yet registered."""
        options.setdefault("proxy", None)
        options.setdefault("compression", None)
        options.setdefault("open_timeout", units(5))
        options.setdefault("close_timeout", units(2))
        return cls(await connect(url, **options))

    # -- sending -----------------------------------------------------------------------------------------

    async def send(self, frame: Frame | str | bytes) -> None:
        """Send a dict as a JSON text frame; a str or bytes goes out as it is (text or binary frame)."""
        await self.ws.send(json.dumps(frame) if isinstance(frame, dict) else frame)

    # -- receiving ---------------------------------------------------------------------------------------

    async def recv(self, timeout: float | None = None) -> Frame:
        """The next frame, which must be a text frame holding one valid JSON object (spec §1.3)."""
        message = await asyncio.wait_for(self.ws.recv(), timeout if timeout is not None else units(2))
        assert isinstance(message, str), f"server sent a binary frame: {message!r}"
        frame = json.loads(message)
        assert isinstance(frame, dict), f"server sent a non-object: {message}"
        return frame

    async def expect(self, action: str, timeout: float | None = None, **fields: Any) -> Frame:
        """The next frame, asserted to have `action` and the given members."""
        frame = await self.recv(timeout)
        assert frame.get("action") == action, f"expected {action!r} with {fields}, got {frame}"
        for key, value in fields.items():
            assert frame.get(key) == value, f"expected {key}={value!r} in {frame}"
        return frame

    async def expect_error(self, text: str, timeout: float | None = None) -> None:
        """The next frame is exactly `{"action":"error","error":text}`."""
        frame = await self.recv(timeout)
        assert frame == {"action": "error", "error": text}, frame

    async def sync(self) -> list[Frame]:
        """Round-trip a `ping` with our own ID; returns every frame that arrived before its `pong`.

        Frames to one connection keep their order (spec §4.3), so an empty list proves nothing else was
        queued for us when the server processed the ping.
        """
        assert self.id is not None, "sync needs a registered client"
        await self.send({"action": "ping", "from": self.id})
        before: list[Frame] = []
        while True:
            frame = await self.recv()
            if frame == {"action": "pong", "id": self.id}:
                return before
            before.append(frame)

    async def closed(self, timeout: float | None = None) -> tuple[int | None, str | None]:
        """Wait for the server to close the connection; returns its (close code, reason).

        Frames still queued before the close are discarded.
        """
        try:
            async with asyncio.timeout(timeout if timeout is not None else units(3)):
                while True:
                    await self.ws.recv()
        except ConnectionClosed:
            pass
        return self.ws.close_code, self.ws.close_reason

    # -- verbs -------------------------------------------------------------------------------------------

    async def register(self, client_id: str | None = None) -> str:
        """`ping` (with `client_id`, or without `from`), then the `pong`; returns the confirmed ID."""
        frame: Frame = {"action": "ping"}
        if client_id is not None:
            frame["from"] = client_id
        await self.send(frame)
        pong = await self.expect("pong")
        self.id = pong["id"]
        return pong["id"]

    async def subscribe(self, topic: str) -> None:
        """Subscribe and wait for the `subscribed` reply."""
        await self.send({"action": "subscribe", "topic": topic})
        await self.expect("subscribed", topic=topic)

    async def publish(self, topic: str, data: Any) -> None:
        """Publish and wait for the `published` reply (the client must not be subscribed to `topic`)."""
        await self.send({"action": "publish", "topic": topic, "data": data})
        await self.expect("published", topic=topic)

    async def ack(self, server_ack_id: str, success: bool = True, error: str = "") -> None:
        """Answer a `publish_ack` the way every ksps client does (spec §6.1)."""
        data: Frame = {"ack_id": server_ack_id, "client_id": self.id, "success": success}
        if error:
            data["error"] = error
        await self.send({"action": "ack", "ack_id": server_ack_id, "data": data})

    async def close(self) -> None:
        await self.ws.close()


class Inbox:
    """Collects what a server-side callback (Subscribe, OnID, OnServerData) receives; tests await it."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()

    def __call__(self, message: Any, unsub: Any = None) -> None:
        self.queue.put_nowait(message)

    async def get(self) -> Any:
        """The next message, within two time units."""
        return await asyncio.wait_for(self.queue.get(), units(2))

    def empty(self) -> bool:
        return self.queue.empty()


# -- a hand-made WebSocket client on a bare socket --------------------------------------------------------

_OP_TEXT, _OP_CLOSE, _OP_PING = 0x1, 0x8, 0x9


class RawSocket:
    """A WebSocket client that reads from its socket only when asked, and never answers PINGs."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = bytearray()
        self._loop = asyncio.get_running_loop()

    @classmethod
    async def open(cls, host: str, port: int, path: str, receive_buffer: int = 0) -> RawSocket:
        """Connect and upgrade; a small `receive_buffer` (SO_RCVBUF) makes the kernel absorb little."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        raw = cls(sock)
        await asyncio.wait_for(raw._loop.sock_connect(sock, (host, port)), units(2))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await raw._loop.sock_sendall(sock, request.encode())
        head = await raw._read_until(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return raw

    async def send_json(self, frame: Frame) -> None:
        """One masked text frame holding `frame` as JSON."""
        await self.send_frame(json.dumps(frame).encode())

    async def send_frame(self, payload: bytes, opcode: int = _OP_TEXT) -> None:
        """One masked frame, bytes as given (RFC 6455 §5.3: client frames are masked)."""
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        length = len(payload)
        if length < 126:
            header = bytes((0x80 | opcode, 0x80 | length))
        elif length < 65536:
            header = bytes((0x80 | opcode, 0x80 | 126)) + struct.pack("!H", length)
        else:
            header = bytes((0x80 | opcode, 0x80 | 127)) + struct.pack("!Q", length)
        await self._loop.sock_sendall(self.sock, header + mask + masked)

    async def read_frame(self, timeout: float | None = None) -> tuple[int, bytes] | None:
        """The next (opcode, payload), or None at end of stream."""
        async with asyncio.timeout(timeout if timeout is not None else units(2)):
            head = await self._read_exactly(2)
            if head is None:
                return None
            length = head[1] & 0x7F
            if length == 126:
                extended = await self._read_exactly(2)
                assert extended is not None
                length = struct.unpack("!H", extended)[0]
            elif length == 127:
                extended = await self._read_exactly(8)
                assert extended is not None
                length = struct.unpack("!Q", extended)[0]
            assert not head[1] & 0x80, "server frames must not be masked"
            payload = await self._read_exactly(length) if length else b""
            assert payload is not None
            return head[0] & 0x0F, payload

    async def read_json(self, timeout: float | None = None) -> Frame:
        """The next text frame as JSON, skipping the server's keepalive PINGs (which we never answer)."""
        while True:
            frame = await self.read_frame(timeout)
            assert frame is not None, "connection closed"
            opcode, payload = frame
            if opcode == _OP_TEXT:
                result = json.loads(payload)
                assert isinstance(result, dict)
                return result
            assert opcode == _OP_PING, f"unexpected opcode {opcode}"

    async def read_to_end(self, timeout: float | None = None) -> tuple[int, int | None, bytes]:
        """Read until the server drops the connection: (text frames seen, close code or None, close reason)."""
        texts, code, reason = 0, None, b""
        while (frame := await self.read_frame(timeout)) is not None:
            opcode, payload = frame
            if opcode == _OP_TEXT:
                texts += 1
            elif opcode == _OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                reason = payload[2:]
        return texts, code, reason

    def close(self) -> None:
        self.sock.close()

    async def _read_exactly(self, n: int) -> bytes | None:
        while len(self._buffer) < n:
            chunk = await self._loop.sock_recv(self.sock, 65536)
            if not chunk:
                return None
            self._buffer += chunk
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out

    async def _read_until(self, marker: bytes) -> bytes:
        async with asyncio.timeout(units(2)):
            while (end := self._buffer.find(marker)) < 0:
                chunk = await self._loop.sock_recv(self.sock, 4096)
                assert chunk, "connection closed during the handshake"
                self._buffer += chunk
        out = bytes(self._buffer[: end + len(marker)])
        del self._buffer[: end + len(marker)]
        return out
