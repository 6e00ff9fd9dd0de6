"""The Redis history engine's append script on a whole batch (spec/cluster.md §9): interleaved runs of two
topics, one longer than Lua's unpack() takes at once, get the offsets, order, size bound and epochs they would
get one publication at a time. A guard for reworking the script (docs/performance.md, "Topic history")."""

from __future__ import annotations

import asyncio

from ksps.broker.history import HistoryPolicy, Page, Position, Query
from ksps.cluster import RedisHistory

from .processes import RedisProcess
from .wire import unique, units


async def read(engine: RedisHistory, topic: str, query: Query) -> Page:
    answer: asyncio.Future[Page | None] = asyncio.get_running_loop().create_future()
    engine.read(topic, query, answer.set_result)
    page = await asyncio.wait_for(answer, units(5))
    assert page is not None
    return page


async def test_one_batch_of_interleaved_runs_keeps_offsets_order_and_size(redis_server: RedisProcess) -> None:
    engine = RedisHistory(redis_server.url(), unique("hist"))
    engine.start()
    try:
        small, large = unique("small"), unique("large")
        policies = {small: HistoryPolicy(4, 300.0), large: HistoryPolicy(10_000, 300.0)}
        # 8,500 in one run: more values than Lua's unpack() takes at once (about 8,000).
        plan = [small] * 5 + [large] * 3 + [small] * 2 + [large] * 8_500 + [small]
        positions: list[tuple[str, Position | None]] = []
        all_answered = asyncio.Event()

        def answered(topic: str, position: Position | None) -> None:
            positions.append((topic, position))
            if len(positions) == len(plan):
                all_answered.set()

        # Appended in one turn of the loop: the writer sends them as one batch, one script call.
        for n, topic in enumerate(plan):
            engine.append(topic, policies[topic], b"%d" % n, "s", lambda p, t=topic: answered(t, p))
        await asyncio.wait_for(all_answered.wait(), units(10))

        assert [topic for topic, _ in positions] == plan  # answered in the order published
        for topic, count in ((small, 8), (large, 8_503)):
            mine = [p for t, p in positions if t == topic]
            assert all(p is not None for p in mine)
            assert [p.offset for p in mine if p] == list(range(1, count + 1))
            assert len({p.epoch for p in mine if p}) == 1
        small_epoch = next(p.epoch for t, p in positions if t == small and p)
        assert small_epoch != next(p.epoch for t, p in positions if t == large and p)

        kept = await read(engine, small, Query(after=0, limit=100))
        assert kept.top == Position(8, small_epoch)
        # The last 4 of small: offsets 5-8, published as numbers 4, 8, 9 and 8,510.
        assert [(r.offset, r.data) for r in kept.records] == [(5, b"4"), (6, b"8"), (7, b"9"), (8, b"8510")]
        tail = await read(engine, large, Query(after=8_500, limit=100))
        assert [(r.offset, r.data, r.sender) for r in tail.records] == [
            (8_501, b"8507", "s"),
            (8_502, b"8508", "s"),
            (8_503, b"8509", "s"),
        ]
        assert (await read(engine, large, Query(after=0, limit=0))).first == 1  # nothing of large trimmed
    finally:
        await engine.stop()
