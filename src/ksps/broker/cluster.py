"""What the broker needs from a cluster backplane, and the replicated view of the other nodes (no I/O).

A backplane (Redis, `ksps.cluster`) carries publications, direct messages, acknowledgements, ID claims and
subscriber counts between nodes; spec/cluster.md describes what it puts on the wire.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import msgspec

from ..protocol import AckAnswer
from .presence import MemberList

__all__ = ["Backplane", "ClusterView", "NodeState"]


class Backplane(Protocol):
    """Outbound half of a cluster link; every method returns at once (the I/O layer batches and sends)."""

    node_id: str
    view: ClusterView

    def publish(self, topic: str, data: msgspec.Raw, sender: str, offset: int = 0, epoch: str = "") -> None:
        """Deliver a publication to the other nodes' subscribers of `topic`, with its history position if any."""

    def publish_ack(
        self,
        topic: str,
        ack_id: str,
        data: msgspec.Raw,
        sender: str,
        timeout: float,
        receivers: Callable[[int], None],
    ) -> None:
        """Ask the nodes with subscribers of `topic` to collect acks.

        `receivers(n)` adds n to the nodes that heard the request (and must each answer `exp`); it may be called
        several times, with -1 for a node that turned out to be gone.
        """

    def direct(self, target: str, data: msgspec.Raw, sender: str) -> None:
        """Deliver a direct message to `target` wherever it is connected."""

    def direct_ack(
        self,
        target: str,
        ack_id: str,
        data: msgspec.Raw,
        sender: str,
        timeout: float,
        receivers: Callable[[int], None],
    ) -> None:
        """A direct message with acknowledgement to a client of another node."""

    def ack_expect(self, node: str, ack_id: str, responders: list[str]) -> None:
        """Tell the requesting node which of our responders will answer `ack_id`."""

    def ack_result(self, node: str, ack_id: str, response: AckAnswer) -> None:
        """Forward one response to the requesting node."""

    def claim(self, client_id: str, who: str) -> None:
        """Announce that `client_id` registered here (older holders on other nodes give it up, if `who` may
        take it: "auth", "anon" or "other", see `permissions.claimant`)."""

    def moved(self, node: str, client_id: str, topics: list[str]) -> None:
        """Hand the subscriptions of a client taken over by `node` to it."""

    def topic_changed(self, topic: str, internal: int, ws: int) -> None:
        """Local subscriber counts of `topic` changed."""

    def clients_changed(self, count: int) -> None:
        """The number of local registered clients changed."""

    def presence_of(self, topic: str, local: MemberList, reply: Callable[[MemberList], None]) -> None:
        """Add the other nodes' members of `topic` to `local`, then call `reply` once (spec §15.5)."""


@dataclass
class NodeState:
    """What one other node last told us about itself."""

    clients: int = 0
    #: topic -> (server-side, WebSocket) subscriber counts; absent means none.
    topics: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: Topics with `join_leave` watchers on that node (spec §15.5).
    watching: set[str] = field(default_factory=set)
    seen_at: float = 0.0


class ClusterView:
    """Counts of the other nodes, kept from their state messages; a silent node is dropped after a timeout."""

    def __init__(self) -> None:
        self.nodes: dict[str, NodeState] = {}

    def apply(self, node: str, now: float, clients: int, topics: Mapping[str, Iterable[int]], full: bool) -> None:
        """Merge a state message: `full` replaces the node's topics, otherwise only the listed ones change."""
        state = self.nodes.setdefault(node, NodeState())
        state.seen_at = now
        state.clients = clients
        if full:
            state.topics = {}
        for topic, counts in topics.items():
            internal, ws = counts
            if internal or ws:
                state.topics[topic] = (internal, ws)
            else:
                state.topics.pop(topic, None)

    def apply_watching(self, node: str, changes: Mapping[str, bool], full: bool) -> list[str]:
        """Merge the watched topics of a state message; returns the topics `node` newly watches."""
        state = self.nodes.get(node)
        if state is None:
            return []
        before = state.watching
        after = set(before) if not full else set()
        for topic, on in changes.items():
            if on:
                after.add(topic)
            else:
                after.discard(topic)
        state.watching = after
        return [topic for topic in after if topic not in before]

    def nodes_watching(self, topic: str) -> list[str]:
        """The other nodes with `join_leave` watchers of `topic`."""
        return [node for node, state in self.nodes.items() if topic in state.watching]

    def nodes_with_members(self, topic: str) -> list[str]:
        """The other nodes with WebSocket subscribers of `topic` (presence members, spec §15.1)."""
        return [node for node, state in self.nodes.items() if state.topics.get(topic, (0, 0))[1]]

    def seen(self, node: str, now: float) -> None:
        """A heartbeat from `node`."""
        if node in self.nodes:
            self.nodes[node].seen_at = now

    def forget(self, node: str) -> None:
        """Drop a node that left."""
        self.nodes.pop(node, None)

    def expire(self, now: float, timeout: float) -> list[str]:
        """Drop the nodes not heard from for `timeout` seconds; returns their IDs."""
        gone = [node for node, state in self.nodes.items() if now - state.seen_at > timeout]
        for node in gone:
            del self.nodes[node]
        return gone

    def nodes_with(self, topic: str) -> list[str]:
        """The other nodes that have subscribers of `topic`."""
        return [node for node, state in self.nodes.items() if topic in state.topics]

    def clients(self) -> int:
        """Registered clients on the other nodes."""
        return sum(state.clients for state in self.nodes.values())

    def subscribers(self, topic: str) -> tuple[int, int]:
        """(server-side, WebSocket) subscribers of `topic` on the other nodes."""
        internal = ws = 0
        for state in self.nodes.values():
            counts = state.topics.get(topic)
            if counts is not None:
                internal += counts[0]
                ws += counts[1]
        return internal, ws
