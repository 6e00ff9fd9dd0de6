"""Gap fill (spec/cluster.md §11): what a node missed of history topics while Redis was away, read back.

Per history topic that got deliveries here, the node remembers which offsets it delivered (`Seen`: every
offset up to `floor`, and the ones above it that came out of order). When it joins Redis again it holds the
other nodes' publications of those topics, waits one heartbeat (so that every node that was joined meanwhile
has learnt this node's subscribers again and routes to it), reads each topic's history after `floor`, and
delivers what it had not delivered, in offset order; then the held publications it still lacks, in arrival
order. Publications the fill delivered are remembered until the next heartbeat, so that one still in flight
from another node is not delivered twice.

A hole that stays open while the node is joined (a publication routed before another node knew this node's
subscribers) is given up after one heartbeat: filling it later would break the order of its publisher.
An epoch change (Redis lost the history) makes a fill impossible: it is logged and counted, and the page of
the new epoch is delivered (publications other nodes stored from their outage buffers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import msgspec

from ..broker import Broker
from ..broker.history import Page, Query
from . import messages as m

__all__ = ["GapFill", "Seen"]

log = logging.getLogger("ksps.cluster")

#: Out-of-order offsets remembered per topic at most; past it the lowest holes are given up.
MAX_ABOVE = 4096
#: Topics tracked at most. Past it, those without local subscribers are forgotten; if that is not enough, the
#: tracking of every topic restarts (no fill for what came before).
MAX_TOPICS = 20_000


class Seen:
    """The offsets of one topic's stream (`epoch`) delivered on this node: all from `start` up to `floor`, and
    `above` (what came before `start`, when the node began to follow the topic, is not known)."""

    __slots__ = ("above", "epoch", "floor", "mark", "start")

    def __init__(self, epoch: str, floor: int) -> None:
        self.epoch = epoch
        self.start = floor + 1
        self.floor = floor
        self.above: set[int] = set()
        self.mark = floor  # `floor` at the previous heartbeat (holes older than that are given up)

    def add(self, offset: int) -> None:
        if offset == self.floor + 1:
            floor, above = offset, self.above
            while floor + 1 in above:
                floor += 1
                above.discard(floor)
            self.floor = floor
        elif offset > self.floor:
            self.above.add(offset)
            if len(self.above) > MAX_ABOVE:
                self.give_up(min(self.above))

    def has(self, offset: int) -> bool:
        return self.start <= offset <= self.floor or offset in self.above

    def give_up(self, upto: int) -> None:
        """Holes at or below `upto` will not be filled."""
        if upto > self.floor:
            floor = upto
            above = self.above = {offset for offset in self.above if offset > upto}
            while floor + 1 in above:  # over what follows without a hole
                floor += 1
                above.discard(floor)
            self.floor = floor

    def tick(self) -> None:
        """One heartbeat while joined: the holes below the highest offset of the previous heartbeat had a whole
        heartbeat to arrive (a `pub` in flight takes a Redis round trip): they are given up."""
        if self.above and self.mark > self.floor:
            self.give_up(self.mark)
        self.mark = max(self.above) if self.above else self.floor


class GapFill:
    """The fill of one node; the backplane calls it on deliveries, on a rejoin and on each heartbeat."""

    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._seen: dict[str, Seen] = {}
        #: Topics being filled: the other nodes' publications held meanwhile.
        self._held: dict[str, list[m.Publication]] = {}
        #: Offsets delivered by the last fill, per topic, until the next heartbeat.
        self._filled: dict[str, set[int]] = {}
        #: Publications delivered by fills, fills that found the epoch changed, topics filled (for `/metrics`).
        self.delivered = 0
        self.epoch_changes = 0
        self.fills = 0
        self._round = 0  # one per rejoin: a read answered after its fill was abandoned is ignored

    @property
    def filling(self) -> bool:
        return bool(self._held)

    def note(self, topic: str, offset: int, epoch: str) -> None:
        """A publication of `topic` with `offset` was delivered here."""
        seen = self._seen.get(topic)
        if seen is None or (epoch and seen.epoch and epoch != seen.epoch):
            if seen is not None:
                self._epoch_changed(topic, seen.epoch, epoch)
            elif len(self._seen) >= MAX_TOPICS:
                self._forget_unfollowed()
                if len(self._seen) >= MAX_TOPICS:
                    self._seen.clear()
            seen = self._seen[topic] = Seen(epoch, offset - 1)
        elif epoch and not seen.epoch:
            seen.epoch = epoch
        seen.add(offset)

    def admit(self, msg: m.Publication) -> bool:
        """Whether another node's publication (with an offset) is delivered now; else it is held or a duplicate."""
        topic = msg.t
        held = self._held.get(topic)
        if held is not None:
            held.append(msg)
            return False
        if self._duplicate(msg):
            return False
        self.note(topic, msg.o, msg.e)
        return True

    def _duplicate(self, msg: m.Publication) -> bool:
        filled = self._filled.get(msg.t)
        if filled is not None and msg.o in filled:
            return True  # delivered by the last fill, and still in flight from its node
        if msg.r:  # from an outage buffer, late: a fill may have delivered it from the history already
            seen = self._seen.get(msg.t)
            return seen is not None and (not msg.e or msg.e == seen.epoch) and seen.has(msg.o)
        return False

    def hold(self) -> list[str]:
        """The node joined Redis again: hold the other nodes' publications of the topics it delivered; returns them."""
        self._forget_unfollowed()
        for topic in self._seen:
            self._held.setdefault(topic, [])
        return list(self._held)

    def _forget_unfollowed(self) -> None:
        """Topics without subscribers here: nobody to fill for."""
        count = self._broker.topics.count
        for topic in [topic for topic in self._seen if count(topic) == (0, 0)]:
            del self._seen[topic]

    def fill(self, topic: str, read: Callable[[str, Query, Callable[[Page | None], None]], None]) -> None:
        """Read what `topic` missed and deliver it, then the held publications; `read` is the engine's."""
        seen = self._seen.get(topic)
        history = self._broker.history
        policy = history.policy(topic) if history is not None else None
        if seen is None or policy is None:
            self._release(topic, None)
            return

        round_ = self._round

        def answer(page: Page | None) -> None:
            if topic not in self._held or round_ != self._round:
                return  # abandoned meanwhile (Redis went away again): what was held went out then
            current = self._seen.get(topic)
            if page is not None and current is not None and current.epoch and page.top.epoch != current.epoch:
                # Redis lost the history: nothing to fill. Follow the new epoch from its start, and deliver
                # what it holds (publications other nodes stored from their outage buffers).
                self._epoch_changed(topic, current.epoch, page.top.epoch)
                self._seen[topic] = Seen(page.top.epoch, 0)
                read(topic, Query(after=0, limit=policy.size), answer)
                return
            self._release(topic, page)

        read(topic, Query(after=seen.floor, limit=policy.size), answer)

    def _release(self, topic: str, page: Page | None) -> None:
        held = self._held.pop(topic, [])
        broker = self._broker
        filled = self._filled.setdefault(topic, set())
        seen = self._seen.get(topic)
        if page is not None and seen is not None and (not seen.epoch or page.top.epoch == seen.epoch):
            self.fills += 1
            seen.epoch = page.top.epoch
            for record in page.records:
                if not seen.has(record.offset):
                    seen.add(record.offset)
                    filled.add(record.offset)
                    self.delivered += 1
                    broker.deliver(topic, msgspec.Raw(record.data), record.sender, record.offset)
        for msg in held:
            if not self._duplicate(msg):
                self.note(topic, msg.o, msg.e)
                broker.deliver(topic, msg.d, msg.s, msg.o)
        if not filled:
            del self._filled[topic]

    def release_all(self) -> None:
        """The fill cannot run (Redis went away again): deliver what is held."""
        self._round += 1
        for topic in list(self._held):
            self._release(topic, None)

    def tick(self) -> None:
        """One heartbeat while joined and not filling: forget the last fills, give up old holes."""
        self._filled.clear()
        for seen in self._seen.values():
            if seen.above or seen.mark != seen.floor:
                seen.tick()

    def _epoch_changed(self, topic: str, old: str, new: str) -> None:
        self.epoch_changes += 1
        log.warning(
            "history of %r: epoch %s replaced by %s (Redis lost the history): what this node missed of it"
            " cannot be filled",
            topic,
            old,
            new,
        )
