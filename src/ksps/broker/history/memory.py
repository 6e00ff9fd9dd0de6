"""The embedded history engine: one bounded ring per topic, in this process's memory (spec §14.5). No I/O.

Bounds, so that no client can make it grow without limit:

- each topic keeps at most its policy's `size` publications (a ring: the oldest goes when a new one comes);
- each publication expires `ttl` seconds after it was kept. There is no timer per publication: expired ones
  are dropped when their topic is touched (append, read) and by one periodic :meth:`MemoryHistory.sweep`;
- at most `max_topics` topics and `max_bytes` bytes (payload, sender and a fixed overhead per publication) in
  total: past either, the topic published to least recently loses its whole history (its next publication
  starts a new epoch, so its subscribers learn that they cannot recover, spec §14.2).

The epoch of a topic is new whenever its stream is created: at the first publication or read after a start,
or after it was evicted. A restarted server therefore never hands out an offset of an old epoch.
"""

from __future__ import annotations

import itertools
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice

from .policy import HistoryPolicy
from .stream import Page, Position, Query, Record

__all__ = ["MemoryHistory", "MemoryLimits"]

#: Bytes counted per kept publication besides its payload and sender: the entry tuple, its int and float, the
#: deque slot and the bytes header (measured with tracemalloc: about 168).
OVERHEAD = 170

_position = tuple.__new__


@dataclass(frozen=True)
class MemoryLimits:
    """Node-wide bounds of the memory engine."""

    #: Topics with a kept stream (its offset and epoch, and its publications).
    max_topics: int = 10_000
    #: Bytes of kept publications in total.
    max_bytes: int = 64 * 1024 * 1024


class _Stream:
    """One topic's ring: (offset, data, sender, expires) entries, oldest first."""

    __slots__ = ("bytes", "entries", "epoch", "top")

    def __init__(self, epoch: str) -> None:
        self.epoch = epoch
        self.top = 0
        self.bytes = 0
        self.entries: deque[tuple[int, bytes, str, float]] = deque()

    def drop_oldest(self) -> int:
        _, data, sender, _ = self.entries.popleft()
        cost = len(data) + len(sender) + OVERHEAD
        self.bytes -= cost
        return cost

    def first(self) -> int:
        return self.entries[0][0] if self.entries else self.top + 1


class MemoryHistory:
    """History kept in memory; `clock` gives seconds (monotonic), `limits` the node-wide bounds."""

    def __init__(self, clock: Callable[[], float], limits: MemoryLimits | None = None) -> None:
        self.clock = clock
        self.limits = limits or MemoryLimits()
        self._max_bytes = self.limits.max_bytes  # read on every publication
        self._streams: OrderedDict[str, _Stream] = OrderedDict()
        self._bytes = 0
        self._kept = 0
        # Unique across restarts (random) and across re-creations of a stream (counter).
        self._epoch_base = uuid.uuid4().hex[:8]
        self._epochs = itertools.count(1)

    # -- the engine interface ------------------------------------------------------------------------------

    def append(
        self, topic: str, policy: HistoryPolicy, data: bytes, sender: str, done: Callable[[Position | None], None]
    ) -> None:
        """Keep one publication and hand its position to `done` at once."""
        done(self.add(topic, policy, data, sender))

    def read(self, topic: str, query: Query, done: Callable[[Page | None], None]) -> None:
        """Read kept publications; `done` is called at once."""
        done(self.page(topic, query))

    def size(self) -> tuple[int, int]:
        """(topics, publications) held."""
        return len(self._streams), self._kept

    @property
    def kept_bytes(self) -> int:
        """Bytes counted against `max_bytes`."""
        return self._bytes

    # -- synchronous forms ---------------------------------------------------------------------------------

    def add(self, topic: str, policy: HistoryPolicy, data: bytes, sender: str) -> Position:
        """Keep one publication; returns its position. Runs once per publication on a history topic, hence
        written for speed: locals, and the ring's trim inline (not through _expire/_drop_oldest)."""
        streams = self._streams
        stream = streams.get(topic)
        if stream is None:
            stream = self._stream(topic)  # created at the end of the LRU order
        else:
            streams.move_to_end(topic)
        now = self.clock()
        entries = stream.entries
        cost = len(data) + len(sender) + OVERHEAD
        kept = 1
        if entries and (len(entries) >= policy.size or entries[0][3] <= now):  # a full ring: every publication
            size = policy.size
            while entries and (len(entries) >= size or entries[0][3] <= now):
                _, old_data, old_sender, _ = entries.popleft()
                cost -= len(old_data) + len(old_sender) + OVERHEAD
                kept -= 1
        top = stream.top = stream.top + 1
        entries.append((top, data, sender, now + policy.ttl))
        stream.bytes += cost
        self._kept += kept
        self._bytes += cost
        if self._bytes > self._max_bytes:
            self._bound(stream)
        return _position(Position, (top, stream.epoch))  # tuple.__new__: half the cost of Position(...)

    def page(self, topic: str, query: Query) -> Page:
        """The kept publications of `topic` that `query` asks for."""
        stream = self._stream(topic)
        self._expire(stream, self.clock())
        entries = stream.entries
        first = stream.first()
        start = max(query.after + 1 - first, 0)
        stop = len(entries) if query.before is None else max(min(query.before - first, len(entries)), 0)
        count = max(stop - start, 0)
        if query.limit < count:
            start = stop - query.limit if query.tail else start
            stop = start + query.limit
        records = [Record(offset, data, sender) for offset, data, sender, _ in islice(entries, start, stop)]
        return Page(Position(stream.top, stream.epoch), first, records)

    def sweep(self) -> int:
        """Drop every expired publication; returns how many. Run periodically by the server (one timer)."""
        now = self.clock()
        before = self._kept
        for stream in self._streams.values():
            self._expire(stream, now)
        return before - self._kept

    # -- internals -----------------------------------------------------------------------------------------

    def _stream(self, topic: str) -> _Stream:
        stream = self._streams.get(topic)
        if stream is None:
            stream = self._streams[topic] = _Stream(f"{self._epoch_base}{next(self._epochs)}")
            while len(self._streams) > self.limits.max_topics:
                self._evict()
        return stream

    def _expire(self, stream: _Stream, now: float) -> None:
        entries = stream.entries
        while entries and entries[0][3] <= now:
            self._drop_oldest(stream)

    def _drop_oldest(self, stream: _Stream) -> None:
        self._bytes -= stream.drop_oldest()
        self._kept -= 1

    def _bound(self, current: _Stream) -> None:
        while self._bytes > self.limits.max_bytes:
            oldest = next(iter(self._streams.values()))
            if oldest is current:  # alone over the bound: it loses its oldest publications instead
                if len(current.entries) <= 1:
                    return
                self._drop_oldest(current)
            else:
                self._evict()

    def _evict(self) -> None:
        _, stream = self._streams.popitem(last=False)
        self._bytes -= stream.bytes
        self._kept -= len(stream.entries)
