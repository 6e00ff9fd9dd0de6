"""Broker-level limits: what one connection may make the broker hold (spec §13.2, docs/reliability.md).

A limit refuses the one operation with an `error` frame carrying `code:"limit"`; the connection stays open
and keeps everything it already has. Each limit is logged at warning once per connection, so a client that
retries in a loop cannot fill the disk.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..protocol import ErrorCodes, Frame, encode_error
from ..protocol.actions import Errors
from .acks import AckTracker
from .interfaces import Peer
from .topics import TopicRegistry

__all__ = ["BrokerLimits", "LimitGuard"]

log = logging.getLogger("ksps.broker")


@dataclass(frozen=True)
class BrokerLimits:
    """How much broker state clients may create; 0 means unlimited (spec §13.2)."""

    #: Topics one connection may be subscribed to at once.
    max_topics_per_connection: int = 10_000
    #: Pending `publish_with_ack` / `publish_to_id_with_ack` requests one connection may have.
    max_pending_acks_per_connection: int = 1_000
    #: Pending ack requests on this node, of every client, the server API and other cluster nodes.
    max_pending_acks: int = 100_000


class LimitGuard:
    """Checks the broker limits before an operation and builds the refusal (spec §13.2)."""

    def __init__(self, limits: BrokerLimits, topics: TopicRegistry, acks: AckTracker) -> None:
        self.limits = limits
        self._topics = topics
        self._acks = acks
        #: (connection, limit) pairs already logged; a connection's pairs go when it does.
        self._warned: dict[Peer, set[str]] = {}
        #: Refusals sent since the start, per limit (tests and operators read it).
        self.refused: dict[str, int] = {}

    def subscribe(self, peer: Peer, topic: str, *, rid: str = "") -> Frame | None:
        """The refusal of `peer` subscribing to `topic` (answering request `rid`), or None when it may."""
        limit = self.limits.max_topics_per_connection
        if not limit or self._topics.is_subscribed(topic, peer) or self._topics.count_of(peer) < limit:
            return None
        text = Errors.TOO_MANY_TOPICS.format(limit=limit)
        return self._refuse(peer, "max_topics_per_connection", text, topic=topic, rid=rid)

    def ack_request(
        self, peer: Peer, client_ack_id: str, *, topic: str = "", to: str = "", rid: str = ""
    ) -> Frame | None:
        """The refusal of a new ack request of `peer`, or None when it may open one.

        Reusing the ack ID of a pending request replaces that request (spec §6.2), so it is never refused.
        """
        limits = self.limits
        acks = self._acks
        if acks.find(peer, client_ack_id) is not None:
            return None
        if limits.max_pending_acks_per_connection and acks.owned(peer) >= limits.max_pending_acks_per_connection:
            name, value = "max_pending_acks_per_connection", limits.max_pending_acks_per_connection
            text = Errors.TOO_MANY_PENDING_ACKS.format(limit=value)
        elif limits.max_pending_acks and len(acks) >= limits.max_pending_acks:
            name, value = "max_pending_acks", limits.max_pending_acks
            text = Errors.SERVER_PENDING_ACKS.format(limit=value)
        else:
            return None
        return self._refuse(peer, name, text, topic=topic, to=to, ack_id=client_ack_id, rid=rid)

    def forget(self, peer: Peer) -> None:
        """A connection is gone: a new one with the same client ID is warned about again."""
        self._warned.pop(peer, None)

    def _refuse(self, peer: Peer, name: str, text: str, **members: str) -> Frame:
        self.refused[name] = self.refused.get(name, 0) + 1
        warned = self._warned.setdefault(peer, set())
        if name not in warned:
            warned.add(name)
            log.warning("refused for client %s: %s (%s; logged once per connection)", peer.client_id, text, name)
        return encode_error(text, code=ErrorCodes.LIMIT, **members)
