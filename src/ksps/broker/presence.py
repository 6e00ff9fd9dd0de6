"""Presence (spec §15): which client IDs subscribe to a topic, and `join`/`leave` events for watchers. No I/O.

Members are the registered connections in the `TopicRegistry`; server-side subscribers are not members
(spec §15.1). Watchers are the connections that subscribed with `join_leave: true`. Events are queued and sent
a slice per turn of the event loop, so a mass disconnect costs the others milliseconds, and they go through each
watcher's send queue like any frame (its bound closes a watcher that does not read them, spec §9.12).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable

from ..protocol import Frame, encode_member_event
from ..protocol import actions as act
from .interfaces import Cancellable, Peer, Scheduler
from .topics import TopicRegistry

__all__ = ["MemberList", "PresenceTracker", "merge_members"]

#: Most event sends per turn of the event loop; a slice always finishes the event it started (spec §15.4).
_SEND_SLICE = 4096

#: A topic's members as a reply lists them: (count, the smallest IDs in order, truncated).
MemberList = tuple[int, list[str], bool]

#: Topics with more members than this keep their reply list until a member joins or leaves (spec §15.2);
#: at most `_CACHE_SIZE` of them, so that a client asking again and again costs a lookup, not a walk.
_CACHE_MIN_MEMBERS = 256
_CACHE_SIZE = 1024


def smallest(ids: Iterable[str], count: int, limit: int = act.PRESENCE_MAX_IDS) -> MemberList:
    """The `limit` smallest of `count` IDs, sorted: O(count log limit), never a sort of every member."""
    if count <= limit:
        return count, sorted(ids), False
    return count, heapq.nsmallest(limit, ids), True


def merge_members(parts: Iterable[MemberList], limit: int = act.PRESENCE_MAX_IDS) -> MemberList:
    """Combine the member lists of several nodes (each already cut to `limit`) into one (spec §15.5)."""
    count = 0
    ids: set[str] = set()
    truncated = False
    for part_count, part_ids, part_truncated in parts:
        count += part_count
        ids.update(part_ids)
        truncated = truncated or part_truncated
    listed = heapq.nsmallest(limit, ids)
    return count, listed, truncated or len(ids) > limit


class PresenceTracker:
    """Members and watchers of topics on this node, and the queue of `join`/`leave` events to send."""

    def __init__(self, topics: TopicRegistry, scheduler: Scheduler) -> None:
        self._topics = topics
        self._scheduler = scheduler
        self._watchers: dict[str, dict[Peer, None]] = {}
        self._watching: dict[Peer, dict[str, None]] = {}
        self._events: deque[tuple[str, str, str, Peer | None]] = deque()
        self._drain: Cancellable | None = None
        self._cache: dict[str, MemberList] = {}
        #: Called with (topic, client_id, joined) for every change of a local member (the backplane forwards it).
        self.on_member: Callable[[str, str, bool], None] | None = None
        #: Called with (topic, watched) when a topic gains its first or loses its last local watcher.
        self.on_watch: Callable[[str, bool], None] | None = None

    # -- members ----------------------------------------------------------------------------------------

    def members(self, topic: str, limit: int = act.PRESENCE_MAX_IDS) -> MemberList:
        """The registered client IDs subscribed to `topic` on this node, at most `limit` (spec §15.2).

        O(members) the first time; big topics' lists are kept until one of their members changes.
        """
        cacheable = limit == act.PRESENCE_MAX_IDS
        if cacheable and (cached := self._cache.get(topic)) is not None:
            return cached
        peers = self._topics.peers(topic) or {}
        ids = [peer.client_id for peer in peers if peer.client_id is not None]
        members = smallest(ids, len(ids), limit)
        if cacheable and len(ids) > _CACHE_MIN_MEMBERS:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[topic] = members
        return members

    def joined(self, topic: str, client_id: str, peer: Peer | None = None) -> None:
        """`client_id` became a member of `topic` here; every watcher but `peer` hears it (spec §15.3)."""
        self._cache.pop(topic, None)
        self._queue(topic, act.JOIN, client_id, peer)
        if self.on_member is not None:
            self.on_member(topic, client_id, True)

    def left(self, topic: str, client_id: str) -> None:
        """`client_id` is no longer a member of `topic` here."""
        self._cache.pop(topic, None)
        self._queue(topic, act.LEAVE, client_id, None)
        if self.on_member is not None:
            self.on_member(topic, client_id, False)

    def remote(self, topic: str, client_id: str, joined: bool) -> None:
        """A member of another node joined or left: tell the local watchers only (spec §15.5)."""
        self._queue(topic, act.JOIN if joined else act.LEAVE, client_id, None)

    # -- watchers ---------------------------------------------------------------------------------------

    def watch(self, topic: str, peer: Peer, on: bool) -> None:
        """Start (`on`) or stop sending `peer` the events of `topic`: each `subscribe` says which (spec §15.3)."""
        if on:
            watchers = self._watchers.setdefault(topic, {})
            if peer not in watchers:
                watchers[peer] = None
                self._watching.setdefault(peer, {})[topic] = None
                if len(watchers) == 1 and self.on_watch is not None:
                    self.on_watch(topic, True)
            return
        current = self._watchers.get(topic)
        if current is not None and peer in current:
            self._unwatch(topic, peer, current)
            watching = self._watching[peer]
            del watching[topic]
            if not watching:
                del self._watching[peer]

    def _unwatch(self, topic: str, peer: Peer, watchers: dict[Peer, None]) -> None:
        del watchers[peer]
        if not watchers:
            del self._watchers[topic]
            if self.on_watch is not None:
                self.on_watch(topic, False)

    def drop(self, peer: Peer) -> list[str]:
        """A connection leaves or gives its subscriptions away: it watches nothing more; returns what it watched."""
        topics = list(self._watching.pop(peer, ()))
        for topic in topics:
            watchers = self._watchers.get(topic)
            if watchers is not None and peer in watchers:
                self._unwatch(topic, peer, watchers)
        return topics

    def move(self, old: Peer, new: Peer) -> None:
        """ID takeover (spec §3.3): the new connection watches what the old one did."""
        for topic in self.drop(old):
            self.watch(topic, new, True)

    def watched_count(self) -> int:
        """How many topics have a local watcher (for `/metrics`)."""
        return len(self._watchers)

    def watched(self) -> list[str]:
        """The topics with at least one local watcher."""
        return list(self._watchers)

    def is_watched(self, topic: str) -> bool:
        """Whether `topic` has a local watcher."""
        return topic in self._watchers

    # -- events -----------------------------------------------------------------------------------------

    def _queue(self, topic: str, action: str, client_id: str, skip: Peer | None) -> None:
        if topic not in self._watchers:
            return  # nobody to tell: the common case costs one lookup
        self._events.append((topic, action, client_id, skip))
        if self._drain is None:
            self._drain = self._scheduler.call_later(0, self._send_slice)

    def _send_slice(self) -> None:
        """Send queued events, at most `_SEND_SLICE` frames per turn, in the order they happened (spec §15.4)."""
        self._drain = None
        budget = _SEND_SLICE
        events = self._events
        while events and budget > 0:
            topic, action, client_id, skip = events.popleft()
            watchers = self._watchers.get(topic)
            if not watchers:
                continue
            frame: Frame = encode_member_event(action, topic, client_id)
            for peer in tuple(watchers):
                if peer is not skip:
                    peer.send(frame)
            budget -= len(watchers)
        if events:
            self._drain = self._scheduler.call_later(0, self._send_slice)

    def pending(self) -> int:
        """Events queued and not sent yet (for tests and `/metrics`)."""
        return len(self._events)
