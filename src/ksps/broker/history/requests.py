"""The history frames of a client (spec §14.3, §14.4): `subscribe` on a history topic, and `history`. No I/O.

Called by `FrameHandler` once the topic and the permissions of the frame were checked; the replies go out
when the engine answers (at once in memory, later with Redis).
"""

from __future__ import annotations

from ...protocol import Envelope, ErrorCodes, Errors, encode_error, encode_history, encode_position_reply
from ...protocol import actions as act
from ..interfaces import Peer
from ..permissions import Gate
from ..topics import PeerSubscriptions
from .service import TopicHistory
from .stream import Page, Position

__all__ = ["read_history", "subscribe_with_history"]


def subscribe_with_history(
    history: TopicHistory, topics: PeerSubscriptions, gate: Gate, peer: Peer, envelope: Envelope, topic: str
) -> None:
    """`subscribed` with the stream position; with `since`, the recovery first (spec §14.3)."""
    since = envelope.since
    rid = envelope.rid or ""

    def reply(top: Position | None, recovered: bool | None) -> None:
        # `top` is None when the engine could not answer: subscribed, nothing recovered (spec §14.5).
        peer.send(encode_position_reply(act.SUBSCRIBED, topic, top, rid=rid, recovered=recovered))

    # Recovery reads history: without that right it degrades to "nothing recovered" (spec §14.6).
    may_read = since is not None and gate.allows(peer, peer.access.history.allows(topic), act.HISTORY, topic)
    history.subscribe(
        peer,
        topic,
        topics,
        since=Position(since.offset, since.epoch) if since is not None else None,
        strict=since is not None and since.strict,
        may_read=may_read,
        reply=reply,
    )


def read_history(history: TopicHistory | None, peer: Peer, envelope: Envelope, topic: str) -> None:
    """Answer `history` with kept publications and the position, or an error (spec §14.4)."""
    rid = envelope.rid or ""
    if history is None or history.policy(topic) is None:
        text = Errors.NO_HISTORY.format(topic=topic)
        peer.send(encode_error(text, code=ErrorCodes.NO_HISTORY, topic=topic, rid=rid))
        return
    since = envelope.since
    position = Position(since.offset, since.epoch) if since is not None else None
    reverse = bool(envelope.reverse)
    query = history.read_query(since=position, limit=envelope.limit, reverse=reverse)

    def answer(page: Page | None) -> None:
        if page is None:
            peer.send(encode_error(Errors.HISTORY_UNAVAILABLE, code=ErrorCodes.NO_HISTORY, topic=topic, rid=rid))
            return
        # Offsets of another epoch mean nothing in this one: no publications, the position tells why.
        records = page.records if position is None or position.epoch == page.top.epoch else []
        if reverse:
            records = records[::-1]
        peer.send(encode_history(topic, records, page.top.offset, page.top.epoch, rid))

    history.engine.read(topic, query, answer)
