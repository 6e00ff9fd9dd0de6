"""The broker's side of topic history (spec §14): which topics keep it, recoveries and their seam. No I/O.

A recovery reads the engine and, until the answer comes, holds the live deliveries of that topic for the
recovering connection (the Redis engine answers later; the memory engine at once, so nothing is held). Then,
in this order: the recovered publications, the `subscribed` reply, and the held deliveries newer than the
stream's top at the read, so the client sees no gap and no duplicate at the seam (spec §14.3).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ...protocol import Frame, encode_delivery
from ...protocol import actions as act
from ..interfaces import Peer
from ..topics import PeerSubscriptions
from .engine import HistoryEngine
from .memory import MemoryHistory
from .policy import HistoryPolicy, TopicPolicies
from .stream import Page, Position, Query, Recovery, plan_recovery

__all__ = ["DEFAULT_RECOVER_MAX", "SubscribeReply", "TopicHistory"]

#: Publications at most per recovery and per `history` reply, like Centrifugo's 300 (spec §14.3).
DEFAULT_RECOVER_MAX = 300

#: Sends the `subscribed` reply: the stream's position (None when the engine could not answer) and, for a
#: subscribe with `since`, whether nothing was missed (None when no recovery was asked for).
SubscribeReply = Callable[[Position | None, bool | None], None]


class TopicHistory:
    """Policies, engine and the recoveries in progress of one broker."""

    def __init__(self, engine: HistoryEngine, policies: TopicPolicies, *, recover_max: int = DEFAULT_RECOVER_MAX):
        self.engine = engine  # also sets add_now (the server swaps in the Redis engine before serving)
        self.policies = policies
        self.recover_max = recover_max
        #: Live deliveries held per topic and recovering connection: (offset, frame).
        self.pending: dict[str, dict[Peer, list[tuple[int, Frame]]]] = {}
        #: After a recovery that was answered later (Redis), the top it covered, per topic and connection: a
        #: publication of another node that was already recovered may still arrive live; it is not sent twice.
        self.seams: dict[str, dict[Peer, int]] = {}
        self.policy = policies.policy  # bound once: called on every publication

    @property
    def engine(self) -> HistoryEngine:
        """The engine that keeps the publications."""
        return self._engine

    @engine.setter
    def engine(self, engine: HistoryEngine) -> None:
        self._engine = engine
        #: The engine's synchronous `add` when it answers at once (the memory engine), else None: the broker
        #: then keeps and delivers a publication in one call, without a callback per publication.
        self.add_now: Callable[[str, HistoryPolicy, bytes, str], Position] | None = (
            engine.add if isinstance(engine, MemoryHistory) else None
        )

    def policy_of(self, topic: str) -> HistoryPolicy | None:
        """The history policy of `topic`; None when it keeps none."""
        return self.policies.policy(topic)

    def hold(self, topic: str, offset: int, frame: Frame) -> None:
        """A live delivery on `topic`: held for the connections recovering it."""
        for held in self.pending.get(topic, {}).values():
            held.append((offset, frame))

    def past_seam(self, topic: str, offset: int, peers: Iterable[Peer]) -> list[Peer]:
        """The connections of `peers` that have not received `offset` through a recovery yet."""
        seams = self.seams[topic]
        receivers = [peer for peer in peers if seams.get(peer, 0) < offset]
        for peer, seam in list(seams.items()):
            if offset > seam:  # the stream moved past this seam: nothing older comes after this one
                del seams[peer]
        if not seams:
            del self.seams[topic]
        return receivers

    def forget(self, peer: Peer, topic: str | None = None) -> None:
        """`peer` left (or unsubscribed from `topic`): its recoveries in progress end without a reply."""
        for table in (self.pending, self.seams):
            for name in [topic] if topic is not None else list(table):
                entries: dict[Peer, Any] | None = table.get(name)
                if entries is not None and entries.pop(peer, None) is not None and not entries:
                    del table[name]

    def subscribe(
        self,
        peer: Peer,
        topic: str,
        topics: PeerSubscriptions,
        *,
        since: Position | None,
        strict: bool,
        may_read: bool,
        reply: SubscribeReply,
    ) -> None:
        """Subscribe `peer` to a topic with history, recovering from `since` when given and `may_read`."""
        if since is None:
            topics.add_peer(topic, peer)
            self.engine.read(topic, Query(limit=0), lambda page: reply(page.top if page else None, None))
            return
        limit = self.recover_max if may_read else 0
        query = Query(after=since.offset, limit=limit, tail=True)
        strict = strict or not may_read

        def recover(page: Page | None) -> Recovery:
            recovery = self._plan(page, since, cap=limit, strict=strict)
            for record in recovery.records:
                peer.send(encode_delivery(act.PUBLISH, topic, record.data, record.sender, offset=record.offset))
            return recovery

        if peer in (topics.peers(topic) or ()):
            # Already subscribed: it gets the live stream anyway; only the recovered publications come first.
            self.engine.read(topic, query, lambda page: reply(page.top if page else None, recover(page).recovered))
            return
        waiting = self.pending.setdefault(topic, {})
        waiting[peer] = []
        later = False  # True once engine.read returned: an answer after that came from I/O

        def done(page: Page | None) -> None:
            held = waiting.pop(peer, None)
            if not waiting and self.pending.get(topic) is waiting:
                del self.pending[topic]
            if held is None:
                return  # gone or unsubscribed meanwhile
            recovery = recover(page)
            topics.add_peer(topic, peer)
            reply(recovery.top if page is not None else None, recovery.recovered)
            seam = recovery.top.offset if page is not None else 0
            for offset, frame in held:
                if offset > seam:
                    peer.send(frame)
            if later and seam:  # answered later: other nodes' publications up to `seam` may still arrive
                self.seams.setdefault(topic, {})[peer] = seam

        self.engine.read(topic, query, done)
        later = True

    @staticmethod
    def _plan(page: Page | None, since: Position, *, cap: int, strict: bool) -> Recovery:
        # Without the history right the cap is 0: recovered only when nothing was missed (spec §14.6).
        if page is None:
            return Recovery([], since, False)
        return plan_recovery(page, since, cap=cap, strict=strict)

    def read_query(self, *, since: Position | None, limit: int | None, reverse: bool) -> Query:
        """The engine query of a `history` request (spec §14.4): at most `recover_max` publications."""
        count = self.recover_max if limit is None else min(limit, self.recover_max)
        if since is None:
            return Query(limit=count, tail=reverse)
        if reverse:
            return Query(before=since.offset, limit=count, tail=True)
        return Query(after=since.offset, limit=count)
