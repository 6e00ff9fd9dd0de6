"""Client WebSocket frames built in Python, for the bursts the link writes in one go (see Link.send).

picows builds and masks each frame in C but writes it at once, one `send` syscall per frame. A burst of small
frames is cheaper as one write, so the link frames those itself: a text frame, FIN set, masked with a fresh
32-bit key per frame (RFC 6455 §5.2, §5.3). The keys come from the operating system's random source, one
`os.urandom` call per burst: RFC 6455 §10.3 asks for keys an application cannot predict (masking protects
intermediaries from payloads crafted to look like other traffic), which Python's `random` does not give.
"""

from __future__ import annotations

import os
import struct

__all__ = ["masked_text_frames"]

#: FIN + opcode 1 (text), then MASK + the length: 7 bits, or 126 + 16 bits, or 127 + 64 bits; then the key.
_SHORT = struct.Struct(">BBI").pack
_MEDIUM = struct.Struct(">BBHI").pack
_LONG = struct.Struct(">BBQI").pack
_FIN_TEXT = 0x81
_MASK = 0x80

#: n -> the integer of n copies of the bytes 00 00 00 01: a key times it repeats the key n times (a
#: multiplication is cheaper than building the repeated bytes).
_REPEAT: dict[int, int] = {}


def masked_text_frames(payloads: list[bytes]) -> bytes:
    """The masked text frames of `payloads`, in order, as one buffer."""
    frames: list[bytes] = []
    append = frames.append
    repeat = _REPEAT
    keys = os.urandom(4 * len(payloads))
    for index, payload in enumerate(payloads):
        size = len(payload)
        key = int.from_bytes(keys[4 * index : 4 * index + 4], "big")
        if size < 126:
            append(_SHORT(_FIN_TEXT, _MASK | size, key))
        elif size < 65536:
            append(_MEDIUM(_FIN_TEXT, _MASK | 126, size, key))
        else:
            append(_LONG(_FIN_TEXT, _MASK | 127, size, key))
        if not size:
            continue
        words = (size + 3) >> 2
        ones = repeat.get(words)
        if ones is None:
            ones = repeat[words] = int.from_bytes(b"\0\0\0\1" * words, "big")
        # The payload XOR the key repeated over it, as big integers: the key stream is `words` keys, cut to
        # `size` bytes by dropping its last bytes.
        stream = (key * ones) >> ((words << 5) - (size << 3))
        append((int.from_bytes(payload, "big") ^ stream).to_bytes(size, "big"))
    return b"".join(frames)
