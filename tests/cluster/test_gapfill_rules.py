"""The bookkeeping of spec/cluster.md §11, without I/O: the outage buffer's bounds and the delivered offsets."""

from __future__ import annotations

from ksps.broker.history import HistoryPolicy, Position
from ksps.cluster.gapfill import Seen
from ksps.cluster.outage import OVERHEAD, OutageBuffer

BIG = HistoryPolicy(size=1000, ttl=60)


def test_the_buffer_keeps_at_most_size_per_topic_and_drops_the_oldest() -> None:
    buffer = OutageBuffer(max_bytes=10**9)
    for n in range(25):
        buffer.keep("small", HistoryPolicy(size=10, ttl=60), b"%d" % n, "s")
    buffer.keep("other", BIG, b"x", "s")
    assert (len(buffer), buffer.dropped, buffer.kept) == (11, 15, 26)
    assert [(e.topic, e.data) for e in buffer.take(10**9)] == [("small", b"%d" % n) for n in range(15, 25)] + [
        ("other", b"x")
    ]
    assert (len(buffer), buffer.bytes) == (0, 0)


def test_the_buffer_stays_within_its_bytes_dropping_the_oldest_of_any_topic() -> None:
    cost = 100 + 1 + 1 + OVERHEAD  # payload, sender, topic, overhead
    buffer = OutageBuffer(max_bytes=10 * cost)
    for n in range(1000):
        buffer.keep("ab"[n % 2], BIG, bytes(100), "s", Position(n, "e") if n % 3 == 0 else None)
        assert buffer.bytes <= buffer.max_bytes
    kept = buffer.take(10**9)
    assert len(kept) == 10 and buffer.peak <= 10 * cost and buffer.dropped == 990
    assert [e.position[0] if e.position else None for e in kept][:3] == [990, None, None]  # the newest, in order


def test_delivered_offsets_out_of_order_and_holes_given_up_after_a_heartbeat() -> None:
    seen = Seen("e", floor=10)
    for offset in (11, 13, 14, 12, 16):  # 12 crossed 13 and 14; 15 is missing
        seen.add(offset)
    assert (seen.floor, seen.above) == (14, {16})
    assert not seen.has(15) and seen.has(16) and not seen.has(9)  # before the node followed the topic: unknown
    seen.tick()  # the hole is new: kept for one heartbeat
    assert seen.floor == 14
    seen.add(18)  # a newer hole
    seen.tick()  # 15 was there a whole heartbeat: given up, 17 is not yet
    assert (seen.floor, seen.above) == (16, {18})
    seen.add(17)
    assert (seen.floor, seen.above) == (18, set())


def test_the_buffer_hands_out_its_oldest_first_in_chunks() -> None:
    buffer = OutageBuffer(max_bytes=10**9)
    for n in range(7):
        buffer.keep("ab"[n % 2], BIG, b"%d" % n, "s")
    chunks = [[e.data for e in buffer.take(3)] for _ in range(3)]
    assert chunks == [[b"0", b"1", b"2"], [b"3", b"4", b"5"], [b"6"]]
    assert (len(buffer), buffer.bytes) == (0, 0)
    buffer.keep("a", BIG, b"7", "s")  # usable again
    assert [e.data for e in buffer.take(3)] == [b"7"]
