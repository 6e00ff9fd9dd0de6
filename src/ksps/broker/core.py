"""The broker: the verbs of ksps (subscribe, publish, direct messages, acknowledgements) with no I/O.

Both the WebSocket frame handler (`handler.py`) and the in-process server API call these methods, so a
publication from a socket and one from server code take the same path (docs/architecture.md).
"""

from __future__ import annotations

import functools
import itertools
import time
import uuid
from collections.abc import Callable, Collection
from typing import Any

import msgspec

from ..protocol import (
    AckAnswer,
    CloseCodes,
    CloseReasons,
    encode_ack_progress,
    encode_ack_response,
    encode_delivery,
    encode_direct,
)
from ..protocol import actions as act
from ..protocol.envelope import decode_data
from .acks import AckListener, AckRequest, AckTracker
from .cluster import Backplane
from .history import HistoryPolicy, Position, TopicHistory
from .interfaces import Message, Peer, Runner, Scheduler
from .limits import BrokerLimits, LimitGuard
from .permissions import claimant
from .presence import MemberList, PresenceTracker
from .stats import BrokerStats
from .topics import PeerSubscriptions, ServerCallback, ServerSubscription, TopicRegistry

__all__ = ["Broker"]

_decode_any = decode_data  # RecursionError-safe (spec §13.1)


class Broker:
    """Routing state of one server: registered clients, topics, server-side subscribers and ack requests."""

    def __init__(
        self,
        server_id: str,
        scheduler: Scheduler,
        runner: Runner,
        default_ack_timeout: float = 5.0,
        *,
        limits: BrokerLimits | None = None,
    ):
        self.server_id = server_id
        self.scheduler = scheduler
        self.runner = runner
        self.default_ack_timeout = default_ack_timeout
        self.topics = TopicRegistry()
        self.acks = AckTracker(scheduler)
        #: Members, `join_leave` watchers and their events (spec §15).
        self.presence = PresenceTracker(self.topics, scheduler)
        #: Per-connection and node-wide limits on topics and ack requests (spec §13.2).
        self.guard = LimitGuard(limits or BrokerLimits(), self.topics, self.acks)
        self.clients: dict[str, Peer] = {}
        self.on_id: Callable[[Message], Any] | None = None
        self._numbers = itertools.count(1)
        # Unique across the nodes of a cluster too: start time plus randomness.
        self._ack_epoch = f"{time.time_ns()}{uuid.uuid4().hex[:6]}"
        #: The cluster link, when the server runs as one node of several (spec/cluster.md).
        self.backplane: Backplane | None = None
        #: Connections closed because their send queue stayed full (spec §9.12).
        self.slow_consumers_closed = 0
        #: Whether an unauthenticated connection may take an unauthenticated one's ID (spec §10.6).
        self.takeover_replace = True
        #: What went through, counted in bulk (one addition per publication, not per delivery); read by
        #: `/metrics` at scrape time (docs/observability.md).
        self.stats = BrokerStats()
        #: Topic history (spec §14); None when no topic keeps any, so other topics pay one attribute read.
        self.history: TopicHistory | None = None

    # -- connections (spec §3) -------------------------------------------------------------------------

    def register(self, peer: Peer, requested_id: str) -> str:
        """Register or rename `peer`; an ID held by another connection is taken over (spec §3.3)."""
        client_id = requested_id or str(uuid.uuid4())
        current = peer.client_id
        if current == client_id:
            return client_id
        if current is not None:  # rename: the old ID's state goes (spec §3.1, §9.13), its members leave (§15.3)
            self._drop_subscriptions(peer, current)
            self._forget_id(current, peer)
        previous = self.clients.get(client_id)
        if previous is not None and previous is not peer:
            # The ID keeps its subscriptions, so it neither leaves nor joins (spec §15.3).
            self.topics.move_peer(previous, peer)
            self.presence.move(previous, peer)
            previous.client_id = None
            previous.close(CloseCodes.REPLACED, CloseReasons.REPLACED)
            self.acks.owner_gone(previous)
        self.clients[client_id] = peer
        peer.client_id = client_id
        self.stats.registrations += 1
        if self.backplane is not None:
            self.backplane.claim(client_id, claimant(peer.identity, client_id))
            self.backplane.clients_changed(len(self.clients))
        return client_id

    def disconnect(self, peer: Peer) -> None:
        """Forget a closed connection: its subscriptions, its ID and its pending requests."""
        client_id = peer.client_id
        self._drop_subscriptions(peer, client_id)
        self.acks.owner_gone(peer)
        self.guard.forget(peer)
        if self.history is not None and self.history.pending:
            self.history.forget(peer)
        if client_id is not None:
            self._forget_id(client_id, peer)

    def _drop_subscriptions(self, peer: Peer, client_id: str | None) -> None:
        """Unsubscribe `peer` from everything; `client_id` leaves each topic (queued, spec §15.4)."""
        presence = self.presence
        presence.drop(peer)
        topics = self.topics.drop_peer(peer)
        if client_id is not None:
            for topic in topics:
                presence.left(topic, client_id)

    def _forget_id(self, client_id: str, peer: Peer) -> None:
        if self.clients.get(client_id) is peer:
            del self.clients[client_id]
            if self.backplane is not None:
                self.backplane.clients_changed(len(self.clients))
        self.acks.responder_gone(client_id)

    # -- subscriptions (spec §4.1) ---------------------------------------------------------------------

    def add_subscription(self, topic: str, peer: Peer, *, join_leave: bool | None = None) -> None:
        """Subscribe a registered connection (idempotent); a new member joins (spec §4.1, §15.3).

        `join_leave` says whether `peer` also receives the topic's `join`/`leave` events from now on; None
        leaves that as it was.
        """
        new = not self.topics.is_subscribed(topic, peer)
        self.topics.add_peer(topic, peer)
        presence = self.presence
        if join_leave is not None:
            presence.watch(topic, peer, join_leave)
        if new and peer.client_id is not None:
            presence.joined(topic, peer.client_id, peer)

    def subscriptions(self, *, join_leave: bool) -> PeerSubscriptions:
        """The topic registry as a deferred subscription (a recovery, spec §14.3) uses it: adding a peer is
        :meth:`add_subscription` with `join_leave`, so the member joins when it is really subscribed."""
        return _MemberSubscriptions(self, join_leave)

    def remove_subscription(self, topic: str, peer: Peer) -> None:
        """Unsubscribe a connection (harmless when it was not subscribed); a member leaves (spec §15.3)."""
        was = self.topics.is_subscribed(topic, peer)
        self.presence.watch(topic, peer, False)
        self.topics.remove_peer(topic, peer)
        if was and peer.client_id is not None:
            self.presence.left(topic, peer.client_id)

    def subscribe_server(self, topic: str, callback: ServerCallback) -> ServerSubscription:
        """Add a server-side subscriber; keep the returned subscription to end it."""
        subscription = ServerSubscription(next(self._numbers), topic, callback)
        self.topics.add_server(subscription)
        return subscription

    # -- publications (spec §4.2, §5) ------------------------------------------------------------------

    def publish(
        self, topic: str, data: msgspec.Raw, sender: str, done: Callable[[Position | None], None] | None = None
    ) -> None:
        """Deliver to every subscriber of `topic`, on this node and the others.

        On a topic with history the publication is kept first and delivered with its offset (spec §14.2);
        `done` then gets its position (None if the engine could not keep it). Without history, `done` is
        not called.
        """
        self.stats.published += 1
        history = self.history
        if history is not None and (policy := history.policy(topic)) is not None:
            if history.add_now is not None:  # the memory engine answers at once: no callback to build
                position = self._publish_kept(topic, data, sender, policy, history.add_now)
                if done is not None:
                    done(position)
                return
            recorded = functools.partial(self._recorded, topic, data, sender, done)
            history.engine.append(topic, policy, bytes(data), sender, recorded)
            return
        self.deliver(topic, data, sender)
        if self.backplane is not None:
            self.backplane.publish(topic, data, sender)

    def _publish_kept(
        self,
        topic: str,
        data: msgspec.Raw,
        sender: str,
        policy: HistoryPolicy,
        add: Callable[[str, HistoryPolicy, bytes, str], Position],
    ) -> Position:
        """Keep a publication with an engine that answers at once (`TopicHistory.add_now`), deliver it with its
        offset, and return its position."""
        position = add(topic, policy, bytes(data), sender)
        self.deliver(topic, data, sender, position[0])
        if self.backplane is not None:
            self.backplane.publish(topic, data, sender, position[0], position[1])
        return position

    def _recorded(
        self,
        topic: str,
        data: msgspec.Raw,
        sender: str,
        done: Callable[[Position | None], None] | None,
        position: Position | None,
    ) -> None:
        if position is None:
            # Not kept now (Redis away): delivered here without an offset; the engine keeps it and sends it to
            # the other nodes once stored, with its offset (spec/cluster.md §11). Never sent twice.
            self.deliver(topic, data, sender)
        else:
            self.deliver(topic, data, sender, position.offset)
            if self.backplane is not None:
                self.backplane.publish(topic, data, sender, position.offset, position.epoch)
        if done is not None:
            done(position)

    def deliver(self, topic: str, data: msgspec.Raw, sender: str, offset: int = 0) -> None:
        """Deliver to this node's subscribers: the frame is encoded once for all connections.

        `offset` is the publication's place in the topic's history (0 = none, spec §14.2); connections still
        recovering the topic get it after their recovered publications.
        """
        peers: Collection[Peer] | None = self.topics.peers(topic)
        history = self.history
        if offset and history is not None:  # rare: only around a recovery (spec §14.3)
            if topic in history.pending:
                history.hold(topic, offset, encode_delivery(act.PUBLISH, topic, data, sender, offset=offset))
            if peers and topic in history.seams:
                peers = history.past_seam(topic, offset, peers)
        if peers:
            frame = encode_delivery(act.PUBLISH, topic, data, sender, offset=offset)
            self.stats.delivered += len(peers)
            for peer in peers:
                peer.send(frame)
        subs = self.topics.server_subscriptions(topic)
        if subs:
            message: Message = {"data": _decode_any(data), "from": sender}
            for sub in tuple(subs.values()):
                self._run_server_callback(sub, message, None)

    def publish_to_id(self, target: str, data: msgspec.Raw, sender: str) -> None:
        """A direct message: to a connection, or to the `OnID` handler for the server's ID (spec §5.1)."""
        self.stats.published_direct += 1
        if target == self.server_id:
            self._run_on_id({"data": _decode_any(data), "from": sender}, None)
            return
        peer = self.clients.get(target)
        if peer is not None:
            self.stats.delivered_direct += 1
            peer.send(encode_direct(sender, data))
        elif self.backplane is not None:
            self.backplane.direct(target, data, sender)

    def publish_with_ack(
        self,
        topic: str,
        data: msgspec.Raw,
        sender: str,
        timeout: float | None = None,
        owner: Peer | None = None,
        client_ack_id: str = "",
        progress: bool = False,
        listener: AckListener | None = None,
    ) -> AckRequest:
        """Publish and collect one acknowledgement per subscriber, on every node (spec §6.1, §6.2)."""
        self.stats.published_with_ack += 1
        peers = tuple(self.topics.peers(topic) or ())
        subs = tuple((self.topics.server_subscriptions(topic) or {}).values())
        expected = [p.client_id for p in peers if p.client_id is not None] + [s.responder_id for s in subs]
        server_ack_id = self._new_ack_id()
        seconds = self._timeout(timeout)
        backplane = self.backplane
        request = self.acks.open(
            server_ack_id,
            expected,
            timeout=seconds,
            owner=owner,
            client_ack_id=client_ack_id,
            progress=progress,
            listener=listener or self._reply_listener(owner),
            clustered=backplane is not None,
        )
        self.deliver_with_ack(topic, data, sender, server_ack_id, peers, subs)
        if backplane is not None:
            backplane.publish_ack(topic, server_ack_id, data, sender, seconds, self._receivers(server_ack_id))
        return request

    def deliver_with_ack(
        self,
        topic: str,
        data: msgspec.Raw,
        sender: str,
        server_ack_id: str,
        peers: tuple[Peer, ...],
        subs: tuple[ServerSubscription, ...],
        responder_suffix: str = "",
    ) -> None:
        """Send `publish_ack` to these connections and run these server-side subscribers for `server_ack_id`.

        `responder_suffix` follows each server-side responder ID (`internal_<n>`): a node answering another
        node's request qualifies them, as every node numbers its subscriptions from 1 (spec/cluster.md §4).
        """
        if peers:
            frame = encode_delivery(act.PUBLISH_ACK, topic, data, sender, server_ack_id)
            self.stats.delivered_with_ack += len(peers)
            for peer in peers:
                peer.send(frame)
        if subs:
            message: Message = {"data": _decode_any(data), "from": sender}
            for sub in subs:
                responder = self._responder(server_ack_id, sub.responder_id + responder_suffix)
                self._run_server_callback(sub, message, responder)

    def deliver_direct_ack(self, target: Peer, data: msgspec.Raw, sender: str, server_ack_id: str) -> None:
        """Send a direct message with acknowledgement on a temporary `__direct_` topic (spec §6.4)."""
        topic = f"{act.DIRECT_TOPIC_PREFIX}{target.client_id}_{next(self._numbers)}"
        self.stats.delivered_direct_ack += 1
        target.send(encode_delivery(act.PUBLISH_ACK, topic, data, sender, server_ack_id))

    def _receivers(self, server_ack_id: str) -> Callable[[int], None]:
        return lambda nodes: self.acks.nodes_heard(server_ack_id, nodes)

    def publish_to_id_with_ack(
        self,
        target: str,
        data: msgspec.Raw,
        sender: str,
        timeout: float | None = None,
        owner: Peer | None = None,
        client_ack_id: str = "",
        progress: bool = False,
        listener: AckListener | None = None,
    ) -> AckRequest:
        """A direct message that the target acknowledges (spec §6.4)."""
        self.stats.published_direct_ack += 1
        server_ack_id = self._new_ack_id()
        reply = listener or self._reply_listener(owner)
        if target == self.server_id:
            responder = self.new_responder_id()
            request = self.acks.open(
                server_ack_id,
                [responder],
                timeout=self._timeout(timeout),
                owner=owner,
                client_ack_id=client_ack_id,
                progress=progress,
                listener=reply,
            )
            self.run_on_id_with_ack(data, sender, server_ack_id, responder)
            return request
        peer = self.clients.get(target)
        seconds = self._timeout(timeout)
        remote = peer is None and self.backplane is not None
        expected = [target] if peer is not None else []
        request = self.acks.open(
            server_ack_id,
            expected,
            timeout=seconds,
            owner=owner,
            client_ack_id=client_ack_id,
            progress=progress,
            listener=reply,
            clustered=remote,
        )
        if peer is not None:
            self.deliver_direct_ack(peer, data, sender, server_ack_id)
        elif self.backplane is not None:
            self.backplane.direct_ack(target, server_ack_id, data, sender, seconds, self._receivers(server_ack_id))
        return request

    def new_responder_id(self) -> str:
        """A fresh `internal_<n>` responder ID for the `OnID` handler (spec §6.4)."""
        return f"internal_{next(self._numbers)}"

    def run_on_id_with_ack(self, data: msgspec.Raw, sender: str, server_ack_id: str, responder: str) -> None:
        """Run `OnID`; its outcome answers `server_ack_id` as `responder` (spec §6.4)."""
        self._run_on_id({"data": _decode_any(data), "from": sender}, self._responder(server_ack_id, responder))

    def acknowledge(self, peer: Peer, server_ack_id: str, success: bool, error: str) -> None:
        """A connection answered a `publish_ack`; its registered ID is the responder (spec §6.1, §9.6)."""
        if peer.client_id is not None:
            self.acks.respond(server_ack_id, AckAnswer(server_ack_id, peer.client_id, success, error))

    # -- counts ----------------------------------------------------------------------------------------

    def count_clients(self) -> int:
        """Registered connections, on every node."""
        remote = self.backplane.view.clients() if self.backplane is not None else 0
        return len(self.clients) + remote

    def count_subscribers(self, topic: str) -> tuple[int, int]:
        """(server-side, WebSocket) subscribers of `topic`, on every node."""
        internal, ws = self.topics.count(topic)
        if self.backplane is not None:
            remote_internal, remote_ws = self.backplane.view.subscribers(topic)
            internal += remote_internal
            ws += remote_ws
        return internal, ws

    def presence_of(self, topic: str, reply: Callable[[MemberList], None]) -> None:
        """Call `reply` with the members of `topic` on every node: at once alone, later in a cluster (spec §15.5)."""
        local = self.presence.members(topic)
        backplane = self.backplane
        if backplane is None:
            reply(local)
        else:
            backplane.presence_of(topic, local, reply)

    # -- helpers ---------------------------------------------------------------------------------------

    def _timeout(self, timeout: float | None) -> float:
        return self.default_ack_timeout if timeout is None else timeout

    def _new_ack_id(self) -> str:
        return f"ack_{self._ack_epoch}_{next(self._numbers)}"

    def _responder(self, server_ack_id: str, responder: str) -> Callable[[bool, str], None]:
        def done(success: bool, error: str) -> None:
            self.acks.respond(server_ack_id, AckAnswer(server_ack_id, responder, success, error))

        return done

    def _run_server_callback(
        self, sub: ServerSubscription, message: Message, done: Callable[[bool, str], None] | None
    ) -> None:
        def unsubscribe() -> None:
            self.topics.remove_server(sub)

        def call() -> Any:
            return sub.callback(message, unsubscribe) if sub.active else None

        self.runner.run(sub, call, done)

    def _run_on_id(self, message: Message, done: Callable[[bool, str], None] | None) -> None:
        handler = self.on_id
        if handler is None:
            if done is not None:
                done(False, act.NO_SUBSCRIBER)
            return
        self.runner.run(self, lambda: handler(message), done)

    @staticmethod
    def _reply_listener(owner: Peer | None) -> AckListener | None:
        """For a client request: `ack_progress` frames if asked, then one `ack_response` (spec §6.2, §6.3)."""
        if owner is None:
            return None

        def on_update(request: AckRequest, response: AckAnswer | None) -> None:
            if response is not None:
                if request.progress:
                    owner.send(encode_ack_progress(request.client_ack_id, response))
            elif not request.cancelled:
                owner.send(encode_ack_response(request.client_ack_id, request.responses))

        return on_update


class _MemberSubscriptions:
    """:meth:`Broker.subscriptions`: the registry's reads, and subscriptions that keep presence (spec §15.3)."""

    __slots__ = ("_broker", "_join_leave")

    def __init__(self, broker: Broker, join_leave: bool) -> None:
        self._broker = broker
        self._join_leave = join_leave

    def add_peer(self, topic: str, peer: Peer) -> None:
        self._broker.add_subscription(topic, peer, join_leave=self._join_leave)

    def peers(self, topic: str) -> dict[Peer, None] | None:
        return self._broker.topics.peers(topic)
