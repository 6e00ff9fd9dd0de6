"""Hand-made WebSocket frames (RFC 6455 §5.2), valid or broken on purpose, the raw socket that sends them, and
the log handler that keeps every ERROR record the server emits."""

from __future__ import annotations

import logging
import secrets
import struct

from ..server.wire import RawSocket

OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def encode_frame(
    payload: bytes,
    opcode: int = OP_TEXT,
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bool = True,
    long_length: bool = False,
) -> bytes:
    """One WebSocket frame as bytes (RFC 6455 §5.2), which the caller may have made invalid on purpose.

    `long_length` uses the 64-bit length form whatever the size: for less than 64 KiB that breaks §5.2 ("the
    minimal number of bytes MUST be used to encode the length").
    """
    first = (0x80 if fin else 0) | (rsv & 0x7) << 4 | opcode & 0xF
    mask_bit = 0x80 if mask else 0
    length = len(payload)
    if long_length or length >= 65536:
        header = bytes((first, mask_bit | 127)) + struct.pack("!Q", length)
    elif length >= 126:
        header = bytes((first, mask_bit | 126)) + struct.pack("!H", length)
    else:
        header = bytes((first, mask_bit | length))
    if not mask:
        return header + payload
    key = secrets.token_bytes(4)
    stream = (key * (length // 4 + 1))[:length]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(length, "big")
    return header + key + masked


class FuzzSocket(RawSocket):
    """A `RawSocket` that also sends bytes exactly as given (frames the caller built, valid or not)."""

    async def send_bytes(self, data: bytes) -> None:
        await self._loop.sock_sendall(self.sock, data)


class ErrorLog(logging.Handler):
    """Keeps every ERROR (or worse) record of any logger: tracebacks, 'Exception in callback', picows errors.

    picows' own lines about a frame it refuses ("WS parser error") arrive at warning (`ksps.logs.PeerLogFilter`):
    a bad frame is the client's fault. Anything at ERROR is a server bug.
    """

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()}" + (f" ({r.exc_info[1]!r})" if r.exc_info else "") for r in self.records]
