"""Encoding of the frames the server sends (spec §3-§8).

Hot-path frames (deliveries) are assembled from pre-encoded pieces so that a publication is encoded once,
whatever the number of subscribers. Every string goes through the JSON encoder, so frames are always valid
JSON (spec §9.1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from . import actions
from .envelope import AckAnswer

__all__ = [
    "Frame",
    "encode_ack_progress",
    "encode_ack_response",
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

_encode = msgspec.json.encode


class Frame:
    """One outgoing JSON message and its unmasked WebSocket text frame (RFC 6455 §5.2).

    The same Frame is handed to every subscriber of a publication, so the framing cost is paid once, and
    `wire` is a plain attribute because the fan-out loop reads it once per subscriber.
    """

    __slots__ = ("json", "wire")

    def __init__(self, json: bytes) -> None:
        self.json = json
        #: The complete server-to-client WebSocket frame (FIN, opcode text, no mask).
        self.wire = _text_frame_header(len(json)) + json

    def __repr__(self) -> str:
        return f"Frame({self.json!r})"


def _text_frame_header(length: int) -> bytes:
    if length < 126:
        return bytes((0x81, length))
    if length < 65536:
        return bytes((0x81, 126)) + length.to_bytes(2, "big")
    return bytes((0x81, 127)) + length.to_bytes(8, "big")


def encode_delivery(
    action: str, topic: str, data: msgspec.Raw | bytes, sender: str, ack_id: str = "", offset: int = 0
) -> Frame:
    """A topic delivery, `publish` or `publish_ack`, with the nested `{data, from}` payload (spec §4.2, §6.1);
    on a topic with history, its `offset` (spec §14.2)."""
    head = b'{"action":"' + action.encode() + b'","topic":' + _encode(topic)
    if ack_id:
        head += b',"ack_id":' + _encode(ack_id)
    if offset:
        head += b',"offset":%d' % offset
    return Frame(head + b',"data":{"data":' + bytes(data) + b',"from":' + _encode(sender) + b"}}")


def encode_direct(sender: str, data: msgspec.Raw) -> Frame:
    """A flat direct message (spec §5.1)."""
    return Frame(b'{"action":"direct_message","from":' + _encode(sender) + b',"data":' + bytes(data) + b"}")


def encode_reply(action: str, **fields: str) -> Frame:
    """A small reply frame with string members; empty members are omitted (spec §2.2)."""
    body: dict[str, Any] = {"action": action}
    for key, value in fields.items():
        if value:
            body[key] = value
    return Frame(_encode(body))


def encode_error(text: str, **members: str) -> Frame:
    """An `error` frame (spec §7.1), with the optional members of spec §11 (`code`, `topic`, `to`, `ack_id`,
    `rid`); empty members are omitted, so without them the frame is the original's, byte for byte."""
    body: dict[str, Any] = {"action": actions.ERROR, "error": text}
    for key, value in members.items():
        if value:
            body[key] = value
    return Frame(_encode(body))


def encode_ack_response(client_ack_id: str, responses: Mapping[str, AckAnswer]) -> Frame:
    """The one aggregated `ack_response` of a client request; `responses` omitted when empty (spec §6.2)."""
    body: dict[str, Any] = {"action": actions.ACK_RESPONSE, "ack_id": client_ack_id}
    if responses:
        body["responses"] = dict(responses)
    return Frame(_encode(body))


def encode_ack_progress(client_ack_id: str, response: AckAnswer) -> Frame:
    """One response as it arrives, for requests that asked for progress (spec §6.3)."""
    return Frame(_encode({"action": actions.ACK_PROGRESS, "ack_id": client_ack_id, "data": response}))


def encode_ack_status(client_ack_id: str, status: Mapping[str, bool], rid: str = "") -> Frame:
    """The reply to `get_ack_status`; `status` omitted when empty (spec §6.5), `rid` when given (spec §11)."""
    body: dict[str, Any] = {"action": actions.ACK_STATUS, "ack_id": client_ack_id}
    if status:
        body["status"] = dict(status)
    if rid:
        body["rid"] = rid
    return Frame(_encode(body))


def encode_presence(topic: str, count: int, ids: list[str], *, truncated: bool, rid: str = "") -> Frame:
    """The reply to `presence` (spec §15.2): `truncated` only when `ids` was cut, `rid` when given."""
    body: dict[str, Any] = {"action": actions.PRESENCE, "topic": topic, "count": count, "ids": ids}
    if truncated:
        body["truncated"] = True
    if rid:
        body["rid"] = rid
    return Frame(_encode(body))


def encode_position_reply(
    action: str, topic: str, position: tuple[int, str] | None, *, rid: str = "", recovered: bool | None = None
) -> Frame:
    """`published` or `subscribed` on a topic with history: the stream position (`offset`, `epoch`; none when
    the engine could not answer), and after a `since` its `recovered` flag (spec §14.2, §14.3)."""
    body: dict[str, Any] = {"action": action, "topic": topic}
    if position is not None:
        body["offset"], body["epoch"] = position
    if recovered is not None:
        body["recovered"] = recovered
    if rid:
        body["rid"] = rid
    return Frame(_encode(body))


_PUBLISHED_AT = b'{"action":"published","topic":%b,"offset":%d,"epoch":%b'


def encode_published(topic: str, offset: int, epoch: str, rid: str = "") -> Frame:
    """The `published` reply on a topic with history, with its position: the bytes of
    `encode_position_reply(PUBLISHED, topic, (offset, epoch), rid=rid)` from one template, not a dict
    (spec §14.2). Every publication on a history topic gets one, and its offset differs each time, so it
    cannot be cached like the plain reply."""
    body = _PUBLISHED_AT % (_encode(topic), offset, _encode(epoch))
    return Frame(body + b',"rid":' + _encode(rid) + b"}" if rid else body + b"}")


def encode_member_event(action: str, topic: str, client_id: str) -> Frame:
    """A `join` or `leave` event of `client_id` on `topic` (spec §15.3)."""
    head = b'{"action":"' + action.encode() + b'","topic":' + _encode(topic)
    return Frame(head + b',"id":' + _encode(client_id) + b"}")


def encode_history(
    topic: str, records: Sequence[tuple[int, bytes, str]], offset: int, epoch: str, rid: str = ""
) -> Frame:
    """The reply to `history` (spec §14.4); payloads are spliced in raw, never decoded."""
    items = b",".join(
        b'{"data":' + data + b',"from":' + _encode(sender) + b',"offset":' + str(number).encode() + b"}"
        for number, data, sender in records
    )
    tail = b',"rid":' + _encode(rid) if rid else b""
    head = b'{"action":"history","topic":' + _encode(topic) + b',"publications":['
    return Frame(head + items + b'],"offset":' + str(offset).encode() + b',"epoch":' + _encode(epoch) + tail + b"}")
