"""Who is subscribed to what: WebSocket connections and server-side callbacks, per topic (spec §4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from .interfaces import Message, Peer

__all__ = ["PeerSubscriptions", "ServerCallback", "ServerSubscription", "TopicRegistry"]

#: A server-side subscriber: called with the message and a function that ends the subscription.
ServerCallback = Callable[[Message, Callable[[], None]], Any]


class ServerSubscription:
    """One server-side subscription; its responder ID in acknowledgements is `internal_<n>` (spec §6.1)."""

    __slots__ = ("active", "callback", "number", "responder_id", "topic")

    def __init__(self, number: int, topic: str, callback: ServerCallback) -> None:
        self.number = number
        self.topic = topic
        self.callback = callback
        self.responder_id = f"internal_{number}"
        self.active = True


class PeerSubscriptions(Protocol):
    """What a deferred subscription (a recovery, spec §14.3) needs: :class:`TopicRegistry`, or the broker's
    view that also tracks presence (spec §15.3)."""

    def add_peer(self, topic: str, peer: Peer) -> None: ...
    def peers(self, topic: str) -> dict[Peer, None] | None: ...


class TopicRegistry:
    """Subscriptions by topic and by connection. Insertion-ordered, so fan-out order is stable."""

    def __init__(self) -> None:
        self._peers: dict[str, dict[Peer, None]] = {}
        self._topics_of: dict[Peer, dict[str, None]] = {}
        self._server: dict[str, dict[int, ServerSubscription]] = {}
        #: Called with a topic whose subscriber counts may have changed (the cluster backplane listens).
        self.on_change: Callable[[str], None] | None = None

    def _changed(self, topic: str) -> None:
        if self.on_change is not None:
            self.on_change(topic)

    def add_peer(self, topic: str, peer: Peer) -> None:
        """Subscribe a connection; idempotent (spec §4.1)."""
        peers = self._peers.setdefault(topic, {})
        if peer not in peers:
            peers[peer] = None
            self._topics_of.setdefault(peer, {})[topic] = None
            self._changed(topic)

    def remove_peer(self, topic: str, peer: Peer) -> None:
        """Unsubscribe a connection; harmless when it was not subscribed."""
        peers = self._peers.get(topic)
        if peers is not None and peers.pop(peer, 0) is None:
            if not peers:
                del self._peers[topic]
            self._changed(topic)
        topics = self._topics_of.get(peer)
        if topics is not None:
            topics.pop(topic, None)
            if not topics:
                del self._topics_of[peer]

    def drop_peer(self, peer: Peer) -> list[str]:
        """Remove every subscription of a connection; returns its topics in subscription order."""
        topics = list(self._topics_of.pop(peer, ()))
        for topic in topics:
            peers = self._peers.get(topic)
            if peers is not None:
                peers.pop(peer, None)
                if not peers:
                    del self._peers[topic]
                self._changed(topic)
        return topics

    def move_peer(self, old: Peer, new: Peer) -> None:
        """Give `old`'s subscriptions to `new` (ID takeover keeps subscriptions, spec §3.3)."""
        for topic in self.drop_peer(old):
            self.add_peer(topic, new)

    def peers(self, topic: str) -> dict[Peer, None] | None:
        """The connections subscribed to `topic`, or None."""
        return self._peers.get(topic)

    def topics_of(self, peer: Peer) -> list[str]:
        """The topics a connection is subscribed to."""
        return list(self._topics_of.get(peer, ()))

    def count_of(self, peer: Peer) -> int:
        """How many topics a connection is subscribed to (spec §13.2)."""
        return len(self._topics_of.get(peer, ()))

    def is_subscribed(self, topic: str, peer: Peer) -> bool:
        """Whether `peer` is subscribed to `topic`."""
        peers = self._peers.get(topic)
        return peers is not None and peer in peers

    def add_server(self, subscription: ServerSubscription) -> None:
        """Add a server-side subscription."""
        self._server.setdefault(subscription.topic, {})[subscription.number] = subscription
        self._changed(subscription.topic)

    def remove_server(self, subscription: ServerSubscription) -> None:
        """Remove one server-side subscription; idempotent."""
        subscription.active = False
        subs = self._server.get(subscription.topic)
        if subs is not None and subs.pop(subscription.number, None) is not None:
            if not subs:
                del self._server[subscription.topic]
            self._changed(subscription.topic)

    def remove_server_topic(self, topic: str) -> int:
        """Remove every server-side subscription of `topic` (spec §9.17); returns how many."""
        subs = self._server.pop(topic, {})
        for subscription in subs.values():
            subscription.active = False
        if subs:
            self._changed(topic)
        return len(subs)

    def server_subscriptions(self, topic: str) -> dict[int, ServerSubscription] | None:
        """The server-side subscriptions of `topic`, or None."""
        return self._server.get(topic)

    def topics(self) -> set[str]:
        """Every topic with at least one subscriber."""
        return self._peers.keys() | self._server.keys()

    def totals(self) -> tuple[int, int, int]:
        """(topics, WebSocket subscriptions, server-side subscriptions); walks every topic, for `/metrics`."""
        ws = sum(map(len, self._peers.values()))
        internal = sum(map(len, self._server.values()))
        return len(self._peers.keys() | self._server.keys()), ws, internal

    def count(self, topic: str) -> tuple[int, int]:
        """(server-side, WebSocket) subscriber counts of `topic`."""
        return len(self._server.get(topic, ())), len(self._peers.get(topic, ()))
