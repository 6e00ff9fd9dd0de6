"""Presence across cluster nodes (spec/protocol.md §15.5, spec/cluster.md §10): queries, member events, snapshots.

A `presence` request asks the nodes that have WebSocket subscribers of the topic (from the `ClusterView`) and
merges their answers with the local members; a node that does not answer within `query_timeout` seconds is left
out. A local member joining or leaving is forwarded to the nodes that watch the topic (their `state` lists it);
a node that starts watching a topic gets each other node's members of it once (`mems`), so that when a node goes
silent its members can leave the watchers' view after `node_timeout`.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from ..broker import Broker
from ..broker.cluster import ClusterView
from ..broker.presence import MemberList, merge_members
from . import messages as m

__all__ = ["ClusterPresence"]

#: Most member IDs of one topic a node sends to a node that starts watching it (`mems`).
SNAPSHOT_MAX_IDS = 10_000

#: Sends one encoded node message to a node's mailbox; the callback hears how many nodes got it.
Send = Callable[[str, bytes, Callable[[int], None] | None], None]


@dataclass
class _Query:
    topic: str
    waiting: set[str]
    replies: list[Callable[[MemberList], None]]
    parts: list[MemberList] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


class ClusterPresence:
    """The presence half of one node's backplane; the backplane calls it and gives it a way to send."""

    def __init__(
        self, broker: Broker, view: ClusterView, node_id: str, send: Send, *, query_timeout: float = 2.0
    ) -> None:
        self._broker = broker
        self._view = view
        self._node_id = node_id
        self._send = send
        self._query_timeout = query_timeout
        self._queries: dict[str, _Query] = {}
        #: The query in flight for each topic: later requests share it (one cluster round per topic at once).
        self._by_topic: dict[str, str] = {}
        self._numbers = itertools.count(1)
        #: node -> topic -> members, for the topics this node watches: who leaves when that node goes silent.
        self._remote: dict[str, dict[str, set[str]]] = {}
        #: Watched-topic changes not yet sent in a `state` message.
        self._watch_changes: dict[str, bool] = {}
        broker.presence.on_member = self._local_member

    # -- queries (spec §15.5) ---------------------------------------------------------------------------

    def query(self, topic: str, local: MemberList, reply: Callable[[MemberList], None], connected: bool) -> None:
        """Ask the other nodes with members of `topic`; `reply` once all answered or the timeout passed.

        A request for a topic whose query is in flight shares its answer: pending queries are bounded by the
        topics asked about, however often clients ask.
        """
        nodes = self._view.nodes_with_members(topic) if connected else []
        if not nodes:
            reply(local)
            return
        if (pending := self._by_topic.get(topic)) is not None:
            self._queries[pending].replies.append(reply)
            return
        number = f"{next(self._numbers)}"
        self._by_topic[topic] = number
        query = self._queries[number] = _Query(topic, set(nodes), [reply], [local])
        query.timer = asyncio.get_running_loop().call_later(self._query_timeout, self._finish, number)
        payload = m.encode(m.PresenceAsk(n=self._node_id, q=number, t=topic))
        for node in nodes:
            # A node whose mailbox reaches nobody is gone: it answers nothing, do not wait for it.
            self._send(node, payload, self._unheard(number, node))

    def _unheard(self, number: str, node: str) -> Callable[[int], None]:
        def heard(count: int) -> None:
            if not count:
                self._answered(number, node, None)

        return heard

    def ask(self, msg: m.PresenceAsk) -> None:
        """Another node's query: answer with this node's members of the topic."""
        count, ids, truncated = self._broker.presence.members(msg.t)
        self._send(msg.n, m.encode(m.PresenceAnswer(n=self._node_id, q=msg.q, c=count, i=ids, tr=truncated)), None)

    def answer(self, msg: m.PresenceAnswer) -> None:
        """An answer to one of our queries."""
        self._answered(msg.q, msg.n, (msg.c, msg.i, msg.tr))

    def _answered(self, number: str, node: str, part: MemberList | None) -> None:
        query = self._queries.get(number)
        if query is None or node not in query.waiting:
            return  # late, or answered twice
        query.waiting.discard(node)
        if part is not None:
            query.parts.append(part)
        if not query.waiting:
            self._finish(number)

    def _finish(self, number: str) -> None:
        query = self._queries.pop(number, None)
        if query is not None:
            del self._by_topic[query.topic]
            if query.timer is not None:
                query.timer.cancel()
            members = merge_members(query.parts)
            for reply in query.replies:
                reply(members)

    # -- member events ----------------------------------------------------------------------------------

    def _local_member(self, topic: str, client_id: str, joined: bool) -> None:
        nodes = self._view.nodes_watching(topic)
        if nodes:
            payload = m.encode(m.Member(n=self._node_id, t=topic, id=client_id, j=joined))
            for node in nodes:
                self._send(node, payload, None)

    def member(self, msg: m.Member) -> None:
        """A member of another node joined or left a topic we watch."""
        presence = self._broker.presence
        if not presence.is_watched(msg.t):
            return  # we stopped watching it while this was on its way
        members = self._remote.setdefault(msg.n, {}).setdefault(msg.t, set())
        if msg.j:
            members.add(msg.id)
        else:
            members.discard(msg.id)
        presence.remote(msg.t, msg.id, msg.j)

    def members(self, msg: m.Members) -> None:
        """Another node's members of a topic we started watching: who will leave if it goes silent."""
        if self._broker.presence.is_watched(msg.t):
            self._remote.setdefault(msg.n, {})[msg.t] = set(msg.i)

    def watchers_changed(self, node: str, topics: list[str]) -> None:
        """`node` started watching `topics`: send it our members of each, once."""
        presence = self._broker.presence
        for topic in topics:
            count, ids, _ = presence.members(topic, SNAPSHOT_MAX_IDS)
            if count:
                self._send(node, m.encode(m.Members(n=self._node_id, t=topic, i=ids)), None)

    def watch_changed(self, topic: str, watched: bool) -> None:
        """A topic gained its first or lost its last local watcher (goes out with the next `state`)."""
        self._watch_changes[topic] = watched

    def take_watch_changes(self) -> dict[str, bool]:
        """The watched-topic changes for the `state` being sent; the members kept for unwatched ones go.

        Dropped only now: a topic unwatched and watched again before a `state` went out changes nothing for
        the other nodes, which keep sending its member events and will not send a new snapshot.
        """
        changes, self._watch_changes = self._watch_changes, {}
        for topic, watched in changes.items():
            if not watched:
                for topics in self._remote.values():
                    topics.pop(topic, None)
        return changes

    def node_gone(self, node: str) -> None:
        """`node` said goodbye or went silent: its members leave the topics watched here (spec §15.5)."""
        presence = self._broker.presence
        for topic, members in self._remote.pop(node, {}).items():
            for client_id in sorted(members):
                presence.remote(topic, client_id, False)
        for number, query in list(self._queries.items()):
            if node in query.waiting:
                self._answered(number, node, None)
