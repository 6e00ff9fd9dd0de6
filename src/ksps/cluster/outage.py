"""The outage buffer (spec/cluster.md §11): history-topic publications a node made while Redis was away. No I/O.

While Redis is unreachable a publication on a history topic is delivered to the node's own subscribers at once
(without an offset) and kept here, in order; when Redis is back the node stores them (they get offsets) and
sends them to the other nodes. The buffer is bounded twice, so that a flood during a long outage cannot grow
memory: per topic by the topic's history size (older ones would be trimmed from the history anyway), and per
node by `max_bytes`. Past either bound the oldest publication goes, and is counted in `dropped`.

An entry may already have its position: a publication that was stored while the node was cut off from the
other nodes only (its offset came back, its `pub` could not go out). It is only sent, not stored again.
"""

from __future__ import annotations

from collections import deque

from ..broker.history import HistoryPolicy, Position

__all__ = ["OVERHEAD", "OutageBuffer", "Unsent"]

#: Bytes counted per kept publication besides its payload, sender and topic: the entry, its deque slots.
OVERHEAD = 200


class Unsent:
    """One kept publication; `position` is None until it is stored in Redis."""

    __slots__ = ("alive", "cost", "data", "policy", "position", "sender", "topic")

    def __init__(self, topic: str, policy: HistoryPolicy, data: bytes, sender: str, position: Position | None):
        self.topic = topic
        self.policy = policy
        self.data = data
        self.sender = sender
        self.position = position
        self.alive = True
        self.cost = len(data) + len(sender) + len(topic) + OVERHEAD


class OutageBuffer:
    """Publications waiting for Redis, oldest first, at most `policy.size` per topic and `max_bytes` in all."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._order: deque[Unsent] = deque()  # every topic, in publication order (dropped ones skipped)
        self._topics: dict[str, deque[Unsent]] = {}
        #: Bytes counted against `max_bytes`, and the most it ever held (for tests and `/metrics`).
        self.bytes = 0
        self.peak = 0
        #: Publications in the buffer, ever kept, and ever dropped to stay within the bounds.
        self.count = 0
        self.kept = 0
        self.dropped = 0

    def __len__(self) -> int:
        return self.count

    def keep(
        self, topic: str, policy: HistoryPolicy, data: bytes, sender: str, position: Position | None = None
    ) -> Unsent:
        """Keep one publication behind the others; drops the oldest past a bound. Returns the entry."""
        entry = Unsent(topic, policy, data, sender, position)
        mine = self._topics.get(topic)
        if mine is None:
            mine = self._topics[topic] = deque()
        while len(mine) >= max(policy.size, 1):
            self._drop(mine.popleft())
        mine.append(entry)
        order = self._order
        order.append(entry)
        self.count += 1
        self.kept += 1
        self.bytes += entry.cost
        while self.bytes > self.max_bytes and self.count > 1:
            self._drop_oldest()
        while not order[0].alive:
            order.popleft()
        if len(order) > 2 * self.count + 64:  # dropped entries in the middle: their slots are reclaimed too
            self._order = deque(entry for entry in order if entry.alive)
        self.peak = max(self.peak, self.bytes)
        return entry

    def take(self, limit: int) -> list[Unsent]:
        """The oldest `limit` kept publications, oldest first, out of the buffer."""
        order = self._order
        entries: list[Unsent] = []
        while order and len(entries) < limit:
            entry = order.popleft()
            if not entry.alive:
                continue
            mine = self._topics[entry.topic]
            mine.popleft()  # the oldest overall is the oldest of its topic
            if not mine:
                del self._topics[entry.topic]
            self.bytes -= entry.cost
            self.count -= 1
            entries.append(entry)
        return entries

    def _drop_oldest(self) -> None:
        order = self._order
        while not order[0].alive:
            order.popleft()
        entry = order.popleft()
        mine = self._topics[entry.topic]
        mine.popleft()  # the oldest overall is the oldest of its topic
        if not mine:
            del self._topics[entry.topic]
        self._drop(entry)

    def _drop(self, entry: Unsent) -> None:
        entry.alive = False
        entry.data = b""  # its slot in the order may linger until compaction; its payload does not
        self.bytes -= entry.cost
        self.count -= 1
        self.dropped += 1
