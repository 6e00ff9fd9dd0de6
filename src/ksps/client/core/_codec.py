"""Client-side codec: the frames a client sends and the decoding of what the server sends (spec §2-§8).

Sans-I/O. Outgoing frames are assembled from pre-encoded pieces: the client's own `from` member is encoded
once per client, so a publication costs one encoder call for its topic and one for its payload.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ksps.protocol import AckResponse
from ksps.protocol import actions as act
from ksps.protocol.history import StreamPosition

__all__ = ["AckResponse", "FrameEncoder", "ServerFrame", "decode_server_frame", "is_published_reply"]

_encode = msgspec.json.Encoder().encode


class ServerFrame(msgspec.Struct, gc=False):
    """One frame received from the server. Absent members keep their empty defaults (spec §2.2)."""

    action: str = ""
    topic: str = ""
    data: Any = None
    from_: str | None = msgspec.field(default=None, name="from")
    id: str = ""
    error: str = ""
    ack_id: str = ""
    status: dict[str, bool] | None = None
    responses: dict[str, AckResponse] | None = None
    #: The request ID of the client frame this one answers (spec §11).
    rid: str = ""
    #: Machine-readable class of an `error` frame: "forbidden", "id_taken", "limit" (spec §11).
    code: str = ""
    # -- presence (spec §15.2): read leniently, a wrong type must not make the frame undecodable.
    count: Any = None
    ids: Any = None
    truncated: Any = None
    # -- history (spec §14): the stream position of a delivery, `subscribed` or `history` reply; read leniently.
    offset: Any = None
    epoch: Any = None
    recovered: Any = None
    publications: Any = None


_decoder = msgspec.json.Decoder(ServerFrame)
_PUBLISHED_PREFIX = b'{"action":"published"'


def decode_server_frame(payload: bytes | memoryview) -> ServerFrame:
    """Decode one server frame; raises `msgspec.MsgspecError` when it is not a valid envelope."""
    return _decoder.decode(payload)


def is_published_reply(payload: bytes | memoryview) -> bool:
    """True for the `published` receipt the server sends after every publish (spec §4.2).

    The client has no use for it, so it is recognised by its prefix and never decoded: at high publish
    rates this halves the decoding work.
    """
    return payload[:21] == _PUBLISHED_PREFIX


def _member(name: bytes, value: str) -> bytes:
    """`,"name":"value"`, or nothing for an empty value (optional members stay off the wire)."""
    return b',"' + name + b'":' + _encode(value) if value else b""


def _since(position: StreamPosition) -> bytes:
    """`,"since":{"offset":N,"epoch":E}` (spec §14.3)."""
    return b',"since":{"offset":' + _encode(position[0]) + b',"epoch":' + _encode(position[1]) + b"}"


class FrameEncoder:
    """Encodes the frames of one client. Every frame carries `from` for servers that still read it."""

    __slots__ = ("_ack_tail", "_from_tail", "client_id")

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        # Closing piece of most frames: `,"from":"<id>"}`.
        self._from_tail = b',"from":' + _encode(client_id) + b"}"
        self._ack_tail = b',"client_id":' + _encode(client_id) + b',"success":'

    def ping(self, token: str = "", rid: str = "") -> bytes:
        """Registration, or an in-place token refresh with `token` (spec §3.1, §10)."""
        return b'{"action":"ping"' + _member(b"token", token) + _member(b"rid", rid) + self._from_tail

    def subscribe(
        self, topic: str, rid: str = "", *, join_leave: bool = False, since: StreamPosition | None = None
    ) -> bytes:
        """Subscribe to a topic (spec §4.1); `rid` matches a refusal to this request (spec §11);
        `join_leave` asks for the topic's `join`/`leave` events too (spec §15.3); `since` asks for the
        publications after that position first (recovery, spec §14.3)."""
        flag = b',"join_leave":true' if join_leave else b""
        if since is not None:
            flag += _since(since)
        return b'{"action":"subscribe","topic":' + _encode(topic) + flag + _member(b"rid", rid) + self._from_tail

    def history(
        self, topic: str, rid: str, *, since: StreamPosition | None = None, limit: int | None = None,
        reverse: bool = False,
    ) -> bytes:
        """Read a topic's kept publications (spec §14.4); `limit` 0 asks for the position only."""
        members = _since(since) if since is not None else b""
        if limit is not None:
            members += b',"limit":' + _encode(limit)
        if reverse:
            members += b',"reverse":true'
        return b'{"action":"history","topic":' + _encode(topic) + members + _member(b"rid", rid) + self._from_tail

    def presence(self, topic: str, rid: str) -> bytes:
        """Ask who subscribes to a topic (spec §15.2)."""
        return b'{"action":"presence","topic":' + _encode(topic) + _member(b"rid", rid) + self._from_tail

    def unsubscribe(self, topic: str, rid: str = "") -> bytes:
        """Unsubscribe from a topic (spec §4.1)."""
        return b'{"action":"unsubscribe","topic":' + _encode(topic) + _member(b"rid", rid) + self._from_tail

    def publish(self, topic: str, data: Any) -> bytes:
        """Publish to a topic (spec §4.2). Raises `TypeError` for data JSON cannot carry."""
        return (
            b'{"action":"publish","topic":' + _encode(topic) + b',"data":' + _encode(data) + self._from_tail
        )

    def direct(self, target_id: str, data: Any) -> bytes:
        """A direct message to one client, or to the server's OnID handler (spec §5.1)."""
        return (
            b'{"action":"direct_message","to":' + _encode(target_id) + b',"data":' + _encode(data)
            + self._from_tail
        )

    def publish_with_ack(self, topic: str, data: Any, ack_id: str, timeout_ms: int) -> bytes:
        """Publish with acknowledgement; asks for `ack_progress` frames (spec §6.1-§6.3)."""
        return self._with_ack(act.PUBLISH_WITH_ACK, b'"topic":' + _encode(topic), data, ack_id, timeout_ms)

    def publish_to_id_with_ack(self, target_id: str, data: Any, ack_id: str, timeout_ms: int) -> bytes:
        """A direct message with acknowledgement (spec §6.4)."""
        target = b'"to":' + _encode(target_id)
        return self._with_ack(act.PUBLISH_TO_ID_WITH_ACK, target, data, ack_id, timeout_ms)

    def _with_ack(self, action: str, target: bytes, data: Any, ack_id: str, timeout_ms: int) -> bytes:
        return (
            b'{"action":"' + action.encode() + b'",' + target + b',"data":' + _encode(data)
            + b',"ack_id":' + _encode(ack_id) + b',"timeout":' + str(timeout_ms).encode()
            + b',"progress":true' + self._from_tail
        )

    def ack(self, server_ack_id: str, success: bool, error: str = "") -> bytes:
        """A subscriber's answer to a `publish_ack` (spec §6.1)."""
        ack_id = _encode(server_ack_id)
        error_member = b',"error":' + _encode(error) if error else b""
        outcome = b"true}" if success else b"false" + error_member + b"}"
        return (
            b'{"action":"ack","ack_id":' + ack_id + b',"data":{"ack_id":' + ack_id + self._ack_tail + outcome
            + self._from_tail
        )

    def get_ack_status(self, ack_id: str, rid: str = "") -> bytes:
        """Ask for the status of one of this client's requests (spec §6.5)."""
        return b'{"action":"get_ack_status","ack_id":' + _encode(ack_id) + _member(b"rid", rid) + self._from_tail

    def cancel_ack(self, ack_id: str) -> bytes:
        """End one of this client's requests at once (spec §6.5)."""
        return b'{"action":"cancel_ack","ack_id":' + _encode(ack_id) + self._from_tail

    def publish_to_server(self, address: str, data: Any, secure: bool) -> bytes:
        """Ask the server to relay `data` to another server (spec §8.1)."""
        return (
            b'{"action":"publish_to_server","to":' + _encode(address) + b',"data":' + _encode(data)
            + b',"status":{"is_secure":' + (b"true" if secure else b"false") + b"}" + self._from_tail
        )
