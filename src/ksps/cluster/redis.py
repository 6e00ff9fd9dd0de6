"""The Redis backplane: joins several ksps nodes into one bus over Redis pub/sub (spec/cluster.md).

Nothing is stored in Redis: each node has a mailbox channel, and all share a broadcast channel. A node learns
from the others' `state` messages which topics they have subscribers for, and sends a publication only to the
mailboxes of those nodes, batched: one PUBLISH per destination per batch. A node that dies drops out of the
others' view after `node_timeout` seconds of silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from ..broker import Broker
from ..broker.cluster import ClusterView
from ..broker.history import Position
from ..broker.permissions import claimant
from ..broker.presence import MemberList
from ..broker.remote import RemoteInbox
from ..protocol import AckAnswer
from . import messages as m
from .gapfill import GapFill
from .history import RedisHistory
from .pipe import PublishPipe, Receivers
from .presence import ClusterPresence
from .subscription import SubscriptionProtocol, subscribe

__all__ = ["RedisBackplane"]

log = logging.getLogger("ksps.cluster")

_Outgoing = tuple[str, bytes, Callable[[int], None] | None]
#: A history-topic `pub` queued for the writer: its payload, topic, data, sender and position (spec/cluster.md §11).
_KeptOut = tuple[bytes, str, msgspec.Raw, str, Position]

#: How long an `exp` with responders may wait to leave with the first `res` of its request, in one PUBLISH
#: (spec/cluster.md §4.3): a cross-node round trip then costs one Redis message back instead of two. Nothing
#: waits on it: the request cannot complete before that `res` anyway.
_EXPECT_HOLD = 0.002


class RedisBackplane:
    """One node's link to the others; implements the broker's `Backplane` interface."""

    def __init__(
        self, broker: Broker, url: str, prefix: str = "ksps", heartbeat: float = 1.0, node_timeout: float = 5.0
    ) -> None:
        self.node_id = broker.server_id + "-" + format(random.getrandbits(32), "08x")
        self.view = ClusterView()
        self._broker = broker
        self._inbox = RemoteInbox(broker)
        self._url = url
        self._prefix = prefix
        self._heartbeat = heartbeat
        self._node_timeout = node_timeout
        self._redis: aioredis.Redis | None = None
        self._subscriber: aioredis.Redis | None = None
        self._subscription: SubscriptionProtocol | None = None
        self._out: list[_Outgoing] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()  # set when everything queued was handed to Redis
        self._state_changes: dict[str, tuple[int, int]] = {}
        self._state_dirty = False
        self._claims: dict[str, float] = {}
        self._connected = asyncio.Event()
        self._ever_connected = False
        self._tasks: list[asyncio.Task[None]] = []
        self._pipe: PublishPipe | None = None
        #: `exp` messages held back per mailbox channel (`_EXPECT_HOLD`), and the timer that sends them.
        self._held: dict[str, list[bytes]] = {}
        self._held_timer: asyncio.TimerHandle | None = None
        self._stopping = False
        # -- history topics across an outage (spec/cluster.md §11)
        self.history: RedisHistory | None = None
        self.gaps = GapFill(broker)
        #: Until this monotonic time after a (re)join, publications with offsets go to every node: the view may
        #: not know every subscriber yet (the others answer our `hello` with their state).
        self._cold_until = 0.0
        self._rejoin_task: asyncio.Task[None] | None = None
        #: The history-topic `pub`s in `_out` (and in the batch being written): if they cannot go out, they wait
        #: in the outage buffer instead of leaving late after a rejoin, when a fill may have delivered them.
        self._kept_out: list[_KeptOut] = []
        broker.backplane = self
        broker.topics.on_change = self._topic_counts_changed
        # -- presence (spec/protocol.md §15.5)
        self._presence = ClusterPresence(broker, self.view, self.node_id, self._send_to_node)
        broker.presence.on_watch = self._watch_changed

    # -- channels ---------------------------------------------------------------------------------------

    def _node_channel(self, node: str) -> str:
        return f"{self._prefix}:n:{node}"

    @property
    def _all_channel(self) -> str:
        return f"{self._prefix}:all"

    # -- lifecycle --------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (or keep trying in the background) and start the reader, writer and heartbeat tasks."""
        # One immediate retry (a pooled connection Redis closed while idle); our own loop backs off beyond that:
        # redis-py's default (10 retries, up to 1 s apart) would stack seconds on every attempt (spec/cluster.md §7).
        self._redis = aioredis.Redis.from_url(
            self._url, socket_connect_timeout=2.0, socket_keepalive=True, retry=Retry(NoBackoff(), 1)
        )
        # The subscription must not retry at all: redis-py would reconnect and subscribe again by itself, and the
        # messages published meanwhile would be lost without this node knowing (no `hello`, no gap fill, §11).
        self._subscriber = aioredis.Redis.from_url(
            self._url, socket_connect_timeout=2.0, socket_keepalive=True, retry=Retry(NoBackoff(), 0)
        )
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._read_loop(), name="ksps-redis-reader"),
            loop.create_task(self._write_loop(), name="ksps-redis-writer"),
            loop.create_task(self._heartbeat_loop(), name="ksps-redis-heartbeat"),
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), 5.0)
        if not self._connected.is_set():
            log.warning("redis at %s is unreachable; serving local clients only, retrying in the background", self._url)

    def attach_history(self, engine: RedisHistory) -> None:
        """Use `engine` for history topics: its outage buffer is stored and sent when this node rejoins."""
        self.history = engine
        engine.joined = self._connected.is_set
        engine.on_stored = self._send_stored
        engine.open = self._connected.is_set()

    @property
    def connected(self) -> bool:
        """True while joined to Redis (subscribed to the cluster's channels)."""
        return self._connected.is_set()

    async def round_trip(self, *, timeout: float) -> float | None:
        """Seconds a Redis PING takes, or None when it fails or takes over `timeout` seconds (for `/metrics`)."""
        if self._redis is None or not self._connected.is_set():
            return None
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            await asyncio.wait_for(self._redis.ping(), timeout)
        except (RedisError, OSError, TimeoutError):
            return None
        return loop.time() - start

    async def stop(self) -> None:
        """Say goodbye, flush what is queued, and close the Redis connections."""
        if self._stopping:
            return
        self._stopping = True
        if self._held_timer is not None:
            self._held_timer.cancel()
        self._release_all_held()
        self._send(self._all_channel, m.encode(m.Bye(n=self.node_id)))
        if self._tasks and self._connected.is_set():  # let the writer hand the goodbye to Redis
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), 2.0)
        tasks = [*self._tasks, self._rejoin_task] if self._rejoin_task is not None else self._tasks
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await task
        if self._pipe is not None:
            await self._pipe.reset()
        if self._subscription is not None:
            self._subscription.close()
        for client in (self._redis, self._subscriber):
            if client is not None:
                with contextlib.suppress(RedisError, OSError):
                    await client.aclose()

    # -- the broker's outbound interface -------------------------------------------------------------------

    def _send(self, channel: str, payload: bytes, receivers: Callable[[int], None] | None = None) -> None:
        if self._held:
            self._release_held(channel)  # first: per-destination order is kept (an `exp` before its `res`)
        if not self._connected.is_set():
            # Redis is away: this node serves its own clients only; nothing piles up meanwhile.
            if receivers is not None:
                receivers(0)
            return
        self._out.append((channel, payload, receivers))
        self._idle.clear()
        self._wake.set()

    def publish(self, topic: str, data: msgspec.Raw, sender: str, offset: int = 0, epoch: str = "") -> None:
        if offset:  # a history topic: its own path, so that other topics pay nothing for it
            self._publish_kept(topic, data, sender, Position(offset, epoch))
            return
        nodes = self.view.nodes_with(topic)
        if nodes:
            payload = m.encode(m.Publication(n=self.node_id, t=topic, s=sender, d=data))
            for node in nodes:
                self._send(self._node_channel(node), payload)

    def _publish_kept(self, topic: str, data: msgspec.Raw, sender: str, position: Position) -> None:
        """A publication stored in the history, delivered here: to the other nodes (spec/cluster.md §11)."""
        self.gaps.note(topic, *position)
        if not self._connected.is_set():
            self._keep_sent_later(topic, bytes(data), sender, position)
            return
        payload = m.encode(m.Publication(n=self.node_id, t=topic, s=sender, d=data, o=position[0], e=position[1]))
        if time.monotonic() < self._cold_until:
            self._send(self._all_channel, payload)  # just (re)joined: the view may still miss subscribers
        else:
            nodes = self.view.nodes_with(topic)
            if not nodes:
                return
            for node in nodes:
                self._send(self._node_channel(node), payload)
        self._kept_out.append((payload, topic, data, sender, position))

    def _unsent(self, kept: list[_KeptOut]) -> None:
        """History-topic `pub`s that did not go out: sent from the outage buffer after the rejoin (with `r`)."""
        for _, topic, data, sender, position in kept:
            self._keep_sent_later(topic, bytes(data), sender, position)

    def _send_stored(self, topic: str, data: bytes, sender: str, position: Position) -> None:
        """A publication of the outage buffer, now stored (or stored earlier but never sent): to every node,
        since the view may not know every subscriber right after a rejoin; nodes without them ignore it."""
        self.gaps.note(topic, *position)
        if not self._connected.is_set():
            self._keep_sent_later(topic, data, sender, position)
            return
        publication = m.Publication(
            n=self.node_id, t=topic, s=sender, d=msgspec.Raw(data), o=position[0], e=position[1], r=True
        )
        self._send(self._all_channel, m.encode(publication))

    def _keep_sent_later(self, topic: str, data: bytes, sender: str, position: Position) -> None:
        history, topics = self.history, self._broker.history
        policy = topics.policy(topic) if topics is not None else None
        if history is not None and policy is not None:
            history.keep(topic, policy, data, sender, position)

    def publish_ack(
        self,
        topic: str,
        ack_id: str,
        data: msgspec.Raw,
        sender: str,
        timeout: float,
        receivers: Callable[[int], None],
    ) -> None:
        nodes = self.view.nodes_with(topic) if self._connected.is_set() else []
        receivers(len(nodes))
        if nodes:
            payload = m.encode(m.PublicationAck(n=self.node_id, t=topic, s=sender, d=data, a=ack_id, x=timeout))
            for node in nodes:
                # A node that is gone by now will never answer: count it out.
                self._send(self._node_channel(node), payload, lambda heard: receivers(-1) if not heard else None)

    def direct(self, target: str, data: msgspec.Raw, sender: str) -> None:
        self._send(self._all_channel, m.encode(m.Direct(n=self.node_id, to=target, s=sender, d=data)))

    def direct_ack(
        self,
        target: str,
        ack_id: str,
        data: msgspec.Raw,
        sender: str,
        timeout: float,
        receivers: Callable[[int], None],
    ) -> None:
        message = m.DirectAck(n=self.node_id, to=target, s=sender, d=data, a=ack_id, x=timeout)
        self._send(self._all_channel, m.encode(message), receivers)

    def ack_expect(self, node: str, ack_id: str, responders: list[str]) -> None:
        channel = self._node_channel(node)
        payload = m.encode(m.Expect(n=self.node_id, a=ack_id, r=responders))
        if not responders:  # no `res` will follow: the request may complete on this one
            self._send(channel, payload)
            return
        self._held.setdefault(channel, []).append(payload)
        if self._held_timer is None:
            self._held_timer = asyncio.get_running_loop().call_later(_EXPECT_HOLD, self._release_all_held)

    def _release_held(self, channel: str) -> None:
        held = self._held.pop(channel, None)
        if held is not None:
            for payload in held:
                self._send(channel, payload)

    def _release_all_held(self) -> None:
        self._held_timer = None
        for channel in list(self._held):
            self._release_held(channel)

    def ack_result(self, node: str, ack_id: str, response: AckAnswer) -> None:
        self._send(self._node_channel(node), m.encode(m.Result(n=self.node_id, a=ack_id, r=response)))

    def claim(self, client_id: str, who: str) -> None:
        now = time.time()
        self._claims[client_id] = now
        self._send(self._all_channel, m.encode(m.Claim(n=self.node_id, id=client_id, at=now, who=who)))

    def moved(self, node: str, client_id: str, topics: list[str]) -> None:
        self._send(self._node_channel(node), m.encode(m.Moved(n=self.node_id, id=client_id, topics=topics)))

    def topic_changed(self, topic: str, internal: int, ws: int) -> None:
        self._state_changes[topic] = (internal, ws)
        self._state_dirty = True
        self._wake.set()

    def clients_changed(self, count: int) -> None:
        self._state_dirty = True
        self._wake.set()

    def presence_of(self, topic: str, local: MemberList, reply: Callable[[MemberList], None]) -> None:
        self._presence.query(topic, local, reply, self._connected.is_set())

    def _send_to_node(self, node: str, payload: bytes, receivers: Callable[[int], None] | None) -> None:
        self._send(self._node_channel(node), payload, receivers)

    def _watch_changed(self, topic: str, watched: bool) -> None:
        self._presence.watch_changed(topic, watched)
        self._state_dirty = True
        self._wake.set()

    def _topic_counts_changed(self, topic: str) -> None:
        internal, ws = self._broker.topics.count(topic)
        self.topic_changed(topic, internal, ws)

    # -- writing ----------------------------------------------------------------------------------------

    async def _write_loop(self) -> None:
        """Send what the broker queued: one PUBLISH per destination channel per batch, as soon as woken.

        A batch is handed to the socket without waiting for the replies of the one before (cluster/pipe.py):
        what the broker queues while a batch is written goes out in the next iteration of the event loop.
        """
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._connected.wait()
            kept, self._kept_out = self._kept_out, []  # their payloads are in this batch
            try:
                if self._state_dirty:
                    self._queue_state(full=False)
                batch, self._out = self._out, []
                if batch:
                    await self._publish_batch(batch)
                if not self._out:
                    self._idle.set()
            except (RedisError, OSError) as exc:
                log.error("redis write failed (%s); cross-node messages of this batch are lost", exc)
                self._unsent(kept)  # those of history topics are not: sent again after the rejoin
                self._lost()
                # Make the reader reconnect too: it is what sets `_connected` again, after resubscribing.
                if self._subscription is not None:
                    self._subscription.close()

    async def _publish_batch(self, batch: list[_Outgoing]) -> None:
        assert self._redis is not None
        if self._pipe is None:
            self._pipe = PublishPipe(self._redis)
        by_channel: dict[str, tuple[list[bytes], list[Receivers]]] = {}
        for channel, payload, receivers in batch:  # dicts keep insertion order: per-destination order is kept
            group = by_channel.get(channel)
            if group is None:
                group = by_channel[channel] = ([], [])
            group[0].append(payload)
            if receivers is not None:
                group[1].append(receivers)
        # On a failure the pipe tells every receiver 0 (nobody heard: the request completes with what it has).
        await self._pipe.publish(
            [(channel, m.batch(payloads), receivers) for channel, (payloads, receivers) in by_channel.items()]
        )

    def _queue_state(self, full: bool) -> None:
        if full:
            registry = self._broker.topics
            topics = {topic: registry.count(topic) for topic in registry.topics()}
            self._presence.take_watch_changes()
            watched = dict.fromkeys(self._broker.presence.watched(), True)
        else:
            topics = dict(self._state_changes)
            watched = self._presence.take_watch_changes()
        self._state_changes.clear()
        self._state_dirty = False
        state = m.State(n=self.node_id, c=len(self._broker.clients), t=topics, full=full, w=watched)
        self._out.append((self._all_channel, m.encode(state), None))

    def _queue_claims(self) -> None:
        """Announce again every ID this node holds, with the time it was claimed (spec/cluster.md §3).

        Claims made while Redis was away reached nobody, and other nodes may have claimed the same IDs
        meanwhile: the usual rule (the newer claim wins, 4001 to the other) settles each duplicate.
        """
        clients = self._broker.clients
        for client_id, at in self._claims.items():
            if client_id in clients:
                self._out.append((self._all_channel, m.encode(self._claim_of(client_id, at)), None))

    def _claim_of(self, client_id: str, at: float) -> m.Claim:
        """Our claim of a held `client_id`, saying how its holder authenticated (spec/protocol.md §10.6)."""
        who = claimant(self._broker.clients[client_id].identity, client_id)
        return m.Claim(n=self.node_id, id=client_id, at=at, who=who)

    # -- reading ----------------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        """Subscribe, then dispatch every message; on a Redis failure, reconnect with backoff forever.

        Messages are dispatched by the subscription's protocol as they are read (cluster/subscription.py); this
        task only waits for the connection to end, then rejoins (spec/cluster.md §7).
        """
        delay = 0.1
        while True:
            try:
                subscription = await self._connect()
                delay = 0.1
                raise await subscription.closed
            except (RedisError, OSError) as exc:
                if self._connected.is_set():
                    log.warning("lost the redis connection (%s); serving local clients only until it is back", exc)
                self._lost()
                if self._subscription is not None:  # subscribed but the join failed: nothing piles up meanwhile
                    self._subscription.close()
                    self._subscription = None
                await asyncio.sleep(random.uniform(0, delay))  # full-jitter backoff before reconnecting
                delay = min(delay * 2, 5.0)

    def _lost(self) -> None:
        """Cut off from Redis: history-topic publications wait in the outage buffer, a fill in progress ends."""
        self._connected.clear()
        if self._kept_out:  # queued, not written: they would leave late after the rejoin, so they wait instead
            stale = {id(payload) for payload, *_ in self._kept_out}
            self._out = [entry for entry in self._out if id(entry[1]) not in stale]
            kept, self._kept_out = self._kept_out, []
            self._unsent(kept)
        if self.history is not None:
            self.history.close()
        if self._rejoin_task is not None:
            self._rejoin_task.cancel()
            self._rejoin_task = None
        self.gaps.release_all()

    async def _rejoined(self) -> None:
        """Store and send the outage buffer, then fill what this node missed of history topics (§11)."""
        history = self.history
        assert history is not None
        try:
            await history.resume()
            # One heartbeat: every joined node hears our state meanwhile, and routes our topics to us again; what
            # it stored before that is in the read below.
            await asyncio.sleep(self._heartbeat)
            for topic in self.gaps.hold():
                self.gaps.fill(topic, history.read)
        except Exception:  # never leave deliveries held by a fill that cannot end
            log.exception("history gap fill failed; delivering what was held")
            self.gaps.release_all()

    async def _connect(self) -> SubscriptionProtocol:
        assert self._redis is not None and self._subscriber is not None
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
        if self._pipe is not None:  # its connection may have died with the one being replaced
            await self._pipe.reset()
        channels = [self._all_channel, self._node_channel(self.node_id)]
        self._subscription = await subscribe(self._subscriber, channels, self._dispatch, timeout=5.0)
        await self._redis.ping()
        self._queue_state(full=True)
        self._out.append((self._all_channel, m.encode(m.Hello(n=self.node_id)), None))
        self._queue_claims()
        self._connected.set()
        self._wake.set()
        if self.history is not None:
            self._cold_until = time.monotonic() + 2 * self._heartbeat
            self.gaps.hold()  # before the first message of the new subscription is read
            self._rejoin_task = asyncio.get_running_loop().create_task(self._rejoined(), name="ksps-redis-rejoin")
        if self._ever_connected:
            log.warning("redis connection to %s is back (node %s)", self._url, self.node_id)
        else:
            log.info("joined the cluster on %s as node %s", self._url, self.node_id)
        self._ever_connected = True
        self._subscription.start()  # only now: the gap fill holds deliveries before the first message is read
        return self._subscription

    def _dispatch(self, payload: bytes) -> None:
        try:
            messages = m.decode(payload)
        except msgspec.MsgspecError as exc:
            log.warning("ignoring an unreadable cluster message: %s", exc)
            return
        if not messages:
            return
        sender = messages[0].n
        if sender == self.node_id:  # our own broadcast, back from Redis
            for message in messages:
                if isinstance(message, m.DirectAck):
                    self._inbox.ack_expect(message.a, [])  # we heard it too: count ourselves, expecting nobody
            return
        self.view.seen(sender, time.monotonic())
        for message in messages:
            handler = _HANDLERS.get(type(message))
            if handler is not None:
                handler(self, message)

    def _on_publication(self, msg: m.Publication) -> None:
        if msg.o and not self.gaps.admit(msg):
            return  # held for a fill in progress, or delivered by the last one (spec/cluster.md §11)
        self._inbox.publication(msg.t, msg.d, msg.s, msg.o)

    def _on_publication_ack(self, msg: m.PublicationAck) -> None:
        responders = self._inbox.publish_ack(msg.n, msg.a, msg.t, msg.d, msg.s, msg.x)
        self.ack_expect(msg.n, msg.a, responders)

    def _on_direct(self, msg: m.Direct) -> None:
        self._inbox.direct(msg.to, msg.d, msg.s)

    def _on_direct_ack(self, msg: m.DirectAck) -> None:
        self.ack_expect(msg.n, msg.a, self._inbox.direct_ack(msg.n, msg.a, msg.to, msg.d, msg.s, msg.x))

    def _on_expect(self, msg: m.Expect) -> None:
        self._inbox.ack_expect(msg.a, msg.r)

    def _on_result(self, msg: m.Result) -> None:
        self._inbox.ack_result(msg.a, msg.r)

    def _on_claim(self, msg: m.Claim) -> None:
        ours = self._claims.get(msg.id)
        if ours is None or msg.id not in self._broker.clients:
            return  # not ours
        if (ours, self.node_id) > (msg.at, msg.n):
            # Ours is the newer claim: tell the sender, which may never have heard it (a claim made while
            # Redis was away, re-announced on rejoin), so that its older holder gives way (spec/cluster.md §3).
            self._send(self._node_channel(msg.n), m.encode(self._claim_of(msg.id, ours)))
            return
        if self._inbox.keeps(msg.id, msg.who):
            self._send(self._node_channel(msg.n), m.encode(m.Taken(n=self.node_id, id=msg.id)))
            return
        topics = self._inbox.claim(msg.id)
        self._claims.pop(msg.id, None)
        if topics:
            self.moved(msg.n, msg.id, topics)

    def _on_taken(self, msg: m.Taken) -> None:
        self._claims.pop(msg.id, None)
        self._inbox.taken(msg.id)

    def _on_moved(self, msg: m.Moved) -> None:
        self._inbox.moved(msg.id, msg.topics)

    def _on_state(self, msg: m.State) -> None:
        self.view.apply(msg.n, time.monotonic(), msg.c, msg.t, msg.full)
        newly_watched = self.view.apply_watching(msg.n, msg.w, msg.full)
        if newly_watched:
            self._presence.watchers_changed(msg.n, newly_watched)

    def _on_hello(self, msg: m.Hello) -> None:
        self._queue_state(full=True)
        self._wake.set()

    def _on_bye(self, msg: m.Bye) -> None:
        self.view.forget(msg.n)
        self._presence.node_gone(msg.n)

    def _on_presence_ask(self, msg: m.PresenceAsk) -> None:
        self._presence.ask(msg)

    def _on_presence_answer(self, msg: m.PresenceAnswer) -> None:
        self._presence.answer(msg)

    def _on_member(self, msg: m.Member) -> None:
        self._presence.member(msg)

    def _on_members(self, msg: m.Members) -> None:
        self._presence.members(msg)

    # -- heartbeat --------------------------------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        """Send the full state every `heartbeat` seconds; drop nodes that went silent."""
        while True:
            await asyncio.sleep(self._heartbeat)
            for node in self.view.expire(time.monotonic(), self._node_timeout):
                log.warning("cluster node %s went silent; forgetting its clients and subscriptions", node)
                self._presence.node_gone(node)
            for client_id in [c for c in self._claims if c not in self._broker.clients]:
                del self._claims[client_id]
            if self._connected.is_set():
                self._queue_state(full=True)
                self._wake.set()
                if not self.gaps.filling:
                    self.gaps.tick()


_HANDLERS: dict[type, Callable[[RedisBackplane, Any], None]] = {
    m.Publication: RedisBackplane._on_publication,
    m.PublicationAck: RedisBackplane._on_publication_ack,
    m.Direct: RedisBackplane._on_direct,
    m.DirectAck: RedisBackplane._on_direct_ack,
    m.Expect: RedisBackplane._on_expect,
    m.Result: RedisBackplane._on_result,
    m.Claim: RedisBackplane._on_claim,
    m.Taken: RedisBackplane._on_taken,
    m.Moved: RedisBackplane._on_moved,
    m.State: RedisBackplane._on_state,
    m.Hello: RedisBackplane._on_hello,
    m.Bye: RedisBackplane._on_bye,
    m.PresenceAsk: RedisBackplane._on_presence_ask,
    m.PresenceAnswer: RedisBackplane._on_presence_answer,
    m.Member: RedisBackplane._on_member,
    m.Members: RedisBackplane._on_members,
}
