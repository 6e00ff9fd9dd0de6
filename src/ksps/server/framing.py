"""RFC 6455 rules that picows leaves to its user: close codes, the answer to a close, PONG frames.

picows already fails the connection (1002) on bad opcodes, fragmented control frames, unmasked client frames,
control frames over 125 bytes and the close codes below 3000 it does not know; what is left is here
(spec §13.1, docs/reliability.md "Connection and transport").
"""

from __future__ import annotations

from ..protocol import CloseCodes, CloseReasons

__all__ = ["close_answer", "pong_frame"]

_NORMAL = 1000

#: Codes a close frame may carry below 3000 (RFC 6455 §7.4.1 and the IANA registry of §11.7). 1004 is
#: reserved; 1005, 1006 and 1015 are for reporting only and "MUST NOT be set as a status code in a Close
#: control frame by an endpoint".
_DEFINED = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})


def close_answer(payload_size: int, code: int) -> tuple[int, str]:
    """(code, reason) of the close frame that answers a client's close frame.

    RFC 6455 §5.5.1: the answer typically echoes the status code received. A close frame with no body has no
    code (§7.1.5 reports it as 1005, which may not be sent): answer 1000, never 0. A code that is not valid on
    the wire (§7.4.1: below 1000, reserved, 1016-2999 unassigned, 5000 and up) fails the connection: 1002.
    """
    if payload_size == 0:
        return _NORMAL, ""
    if code in _DEFINED or 3000 <= code <= 4999:
        return code, ""
    return CloseCodes.PROTOCOL_ERROR, f"{CloseReasons.PROTOCOL_ERROR}: invalid close code {code}"


def pong_frame(payload: bytes) -> bytes:
    """The unmasked server PONG frame answering a PING with `payload` (RFC 6455 §5.5.3; at most 125 bytes)."""
    return bytes((0x8A, len(payload))) + payload
