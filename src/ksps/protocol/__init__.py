"""The sans-I/O ksps protocol: actions, error texts, close codes, frame decoding and encoding.

Nothing here performs I/O or imports asyncio; the server and the client drive it (spec/protocol.md).
"""

from . import actions
from .actions import CloseCodes, CloseReasons, ErrorCodes, Errors
from .envelope import (
    NULL,
    AckAnswer,
    AckPayload,
    AckResponse,
    DecodeError,
    Envelope,
    Since,
    decode_ack_payload,
    decode_envelope,
    decode_json_or_text,
)
from .frames import (
    Frame,
    encode_ack_progress,
    encode_ack_response,
    encode_ack_status,
    encode_delivery,
    encode_direct,
    encode_error,
    encode_history,
    encode_member_event,
    encode_position_reply,
    encode_presence,
    encode_published,
    encode_reply,
)
from .history import HistoryPage, StreamPosition

__all__ = [
    "NULL",
    "AckAnswer",
    "AckPayload",
    "AckResponse",
    "CloseCodes",
    "CloseReasons",
    "DecodeError",
    "Envelope",
    "ErrorCodes",
    "Errors",
    "Frame",
    "HistoryPage",
    "Since",
    "StreamPosition",
    "actions",
    "decode_ack_payload",
    "decode_envelope",
    "decode_json_or_text",
    "encode_ack_progress",
    "encode_ack_response",
    "encode_ack_status",
    "encode_delivery",
    "encode_direct",
    "encode_error",
    "encode_history",
    "encode_member_event",
    "encode_position_reply",
    "encode_presence",
    "encode_published",
    "encode_reply",
]
