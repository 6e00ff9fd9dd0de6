"""What other cluster nodes ask of this broker (spec/cluster.md). Called by the backplane's I/O layer."""

from __future__ import annotations

import msgspec

from ..protocol import AckAnswer, CloseCodes, CloseReasons, encode_direct
from .acks import AckRequest
from .core import Broker
from .permissions import may_take_over

__all__ = ["RemoteInbox"]


class RemoteInbox:
    """Applies publications, direct messages, ack traffic and ID claims that arrive from other nodes."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    def publication(self, topic: str, data: msgspec.Raw, sender: str, offset: int = 0) -> None:
        """A publication made on another node: deliver to this node's subscribers (with its offset, §14.2)."""
        self.broker.deliver(topic, data, sender, offset)

    def direct(self, target: str, data: msgspec.Raw, sender: str) -> None:
        """A direct message for a client of this node, or for this node's `OnID`; others are ignored."""
        broker = self.broker
        if target == broker.server_id:
            broker.publish_to_id(target, data, sender)
        elif (peer := broker.clients.get(target)) is not None:
            peer.send(encode_direct(sender, data))

    def publish_ack(
        self, origin: str, ack_id: str, topic: str, data: msgspec.Raw, sender: str, timeout: float
    ) -> list[str]:
        """Deliver a publication with acknowledgement here; returns the responders the origin must expect."""
        broker = self.broker
        peers = tuple(broker.topics.peers(topic) or ())
        subs = tuple((broker.topics.server_subscriptions(topic) or {}).values())
        suffix = self._responder_suffix()
        expected = [p.client_id for p in peers if p.client_id is not None]
        expected += [s.responder_id + suffix for s in subs]
        if expected:
            self._forward(origin, ack_id, expected, timeout)
            broker.deliver_with_ack(topic, data, sender, ack_id, peers, subs, suffix)
        return expected

    def direct_ack(
        self, origin: str, ack_id: str, target: str, data: msgspec.Raw, sender: str, timeout: float
    ) -> list[str]:
        """A direct message with acknowledgement for a client of this node, or for its `OnID` (spec §6.4).

        Returns the responder the origin must expect: `[target]`, `[internal_<n>@<node>]`, or none.
        """
        broker = self.broker
        if target == broker.server_id:
            responder = broker.new_responder_id() + self._responder_suffix()
            self._forward(origin, ack_id, [responder], timeout)
            broker.run_on_id_with_ack(data, sender, ack_id, responder)
            return [responder]
        peer = broker.clients.get(target)
        if peer is None:
            return []
        self._forward(origin, ack_id, [target], timeout)
        broker.deliver_direct_ack(peer, data, sender, ack_id)
        return [target]

    def _responder_suffix(self) -> str:
        """Qualifies this node's `internal_<n>` responders in other nodes' requests: each node counts from 1."""
        backplane = self.broker.backplane
        assert backplane is not None
        return "@" + backplane.node_id

    def _forward(self, origin: str, ack_id: str, expected: list[str], timeout: float) -> None:
        backplane = self.broker.backplane
        assert backplane is not None

        def forward(request: AckRequest, response: AckAnswer | None) -> None:
            if response is not None:
                backplane.ack_result(origin, ack_id, response)

        self.broker.acks.open(ack_id, expected, timeout=timeout, listener=forward)

    def ack_expect(self, ack_id: str, responders: list[str]) -> None:
        """Another node told us whom it expects to answer one of our requests."""
        self.broker.acks.add_expected(ack_id, responders)

    def ack_result(self, ack_id: str, response: AckAnswer) -> None:
        """One answer to one of our requests, forwarded by the node of its responder."""
        self.broker.acks.respond(ack_id, response)

    def claim(self, client_id: str) -> list[str] | None:
        """A newer connection took `client_id` on another node: close ours with 4001, return its topics."""
        broker = self.broker
        peer = broker.clients.get(client_id)
        if peer is None:
            return None
        topics = broker.topics.topics_of(peer)
        broker.disconnect(peer)
        peer.client_id = None
        peer.close(CloseCodes.REPLACED, CloseReasons.REPLACED)
        return topics

    def keeps(self, client_id: str, who: str) -> bool:
        """Whether our holder of `client_id` refuses another node's claim by `who` (spec §10.6)."""
        holder = self.broker.clients.get(client_id)
        return holder is not None and not may_take_over(who, holder.identity, self.broker.takeover_replace)

    def taken(self, client_id: str) -> None:
        """Another node's holder refused our claim: our newcomer gives the ID up and is closed with 4003."""
        broker = self.broker
        peer = broker.clients.get(client_id)
        if peer is None:
            return
        broker.disconnect(peer)
        peer.client_id = None
        peer.close(CloseCodes.UNAUTHORIZED, CloseReasons.UNAUTHORIZED.format(detail=CloseReasons.ID_HELD))

    def moved(self, client_id: str, topics: list[str]) -> None:
        """The subscriptions of a client we took over from another node (spec §3.3)."""
        peer = self.broker.clients.get(client_id)
        if peer is not None:
            for topic in topics:
                self.broker.add_subscription(topic, peer)
