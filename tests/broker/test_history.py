"""The sans-I/O history pieces (spec §14): policies, the memory engine's bounds and TTL, recovery decisions."""

from __future__ import annotations

import pytest

from ksps.broker.history import (
    HistoryPolicy,
    MemoryHistory,
    MemoryLimits,
    Page,
    Position,
    Query,
    Record,
    TopicPolicies,
    parse_history_rule,
    plan_recovery,
)
from ksps.broker.history.memory import OVERHEAD


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


KEEP = HistoryPolicy(size=5, ttl=10.0)


def test_rules_first_match_wins_and_size_zero_turns_history_off() -> None:
    rules = [parse_history_rule("chat.*=50,15m", 60.0), parse_history_rule("*.log=0", 60.0)]
    policies = TopicPolicies(rules, HistoryPolicy(10, 30.0))
    assert policies.policy("chat.room") == HistoryPolicy(50, 900.0)
    assert policies.policy("app.log") is None
    assert policies.policy("other") == HistoryPolicy(10, 30.0)
    assert TopicPolicies([], HistoryPolicy(0, 30.0)).enabled is False
    assert TopicPolicies([("a.b", HistoryPolicy(1, 1.0))]).policy("aXb") is None  # `.` is literal


@pytest.mark.parametrize("rule", ["=5,1", "a", "a=x,1", "a=5,soon", "a=-1,5", "a=5,0"])
def test_bad_rules_are_refused(rule: str) -> None:
    with pytest.raises(ValueError):
        parse_history_rule(rule, 60.0)


def test_ring_keeps_the_newest_and_offsets_keep_counting() -> None:
    history = MemoryHistory(Clock())
    for n in range(1, 9):
        position = history.add("t", KEEP, str(n).encode(), "s")
    assert position.offset == 8
    page = history.page("t", Query(limit=100))
    assert (page.first, [r.offset for r in page.records]) == (4, [4, 5, 6, 7, 8])
    assert history.size() == (1, 5)
    assert [r.offset for r in history.page("t", Query(after=5, limit=100)).records] == [6, 7, 8]
    assert [r.offset for r in history.page("t", Query(before=7, limit=2, tail=True)).records] == [5, 6]
    assert [r.offset for r in history.page("t", Query(after=1, limit=2)).records] == [4, 5]


def test_ttl_is_lazy_and_swept_without_a_timer_per_publication() -> None:
    clock = Clock()
    history = MemoryHistory(clock)
    history.add("a", KEEP, b"1", "s")
    history.add("b", KEEP, b"1", "s")
    clock.now += 5
    history.add("a", KEEP, b"2", "s")
    clock.now += 6  # the first two expired, the third has 4 s left
    page = history.page("a", Query(limit=10))
    assert ([r.offset for r in page.records], page.first, page.top.offset) == ([2], 2, 2)
    assert history.size() == (2, 2)  # "b" is not touched: still counted until the sweep
    assert history.sweep() == 1 and history.size() == (2, 1)
    clock.now += 10
    assert history.sweep() == 1 and history.kept_bytes == 0
    assert history.page("a", Query(limit=10)).top == Position(2, page.top.epoch)  # the position survives expiry


def test_bytes_and_topics_are_bounded_by_evicting_the_least_recent_topic() -> None:
    cost = 100 + 1 + OVERHEAD
    history = MemoryHistory(Clock(), MemoryLimits(max_topics=100, max_bytes=3 * cost))
    epochs = {topic: history.add(topic, KEEP, b"x" * 100, "s").epoch for topic in ("a", "b", "c")}
    history.add("a", KEEP, b"x" * 100, "s")  # "b" is now the least recent: it goes
    assert history.kept_bytes <= 3 * cost and history.size() == (2, 3)
    assert history.page("b", Query()).top.epoch != epochs["b"]  # a new stream, a new epoch
    assert history.page("a", Query()).top.epoch == epochs["a"]
    alone = MemoryHistory(Clock(), MemoryLimits(max_topics=100, max_bytes=2 * cost))
    for _ in range(5):
        alone.add("big", HistoryPolicy(100, 10.0), b"x" * 100, "s")
    assert alone.size() == (1, 2)  # a topic alone over the bound loses its oldest publications
    few = MemoryHistory(Clock(), MemoryLimits(max_topics=2))
    for topic in ("a", "b", "c", "d"):
        few.add(topic, KEEP, b"1", "s")
    assert few.size() == (2, 2)


def test_epochs_differ_between_engines_and_streams() -> None:
    one, two = MemoryHistory(Clock()), MemoryHistory(Clock())
    assert one.add("t", KEEP, b"1", "s").epoch != two.add("t", KEEP, b"1", "s").epoch
    assert one.add("u", KEEP, b"1", "s").epoch != one.add("t", KEEP, b"1", "s").epoch


def _page(top: int, first: int, epoch: str = "e") -> Page:
    return Page(Position(top, epoch), first, [Record(n, b"1", "s") for n in range(first, top + 1)])


def test_recovery_decisions() -> None:
    plan = plan_recovery
    assert plan(_page(10, 1), Position(7, "e"), cap=300, strict=False).recovered is True
    assert plan(_page(10, 5), Position(4, "e"), cap=300, strict=False).recovered is True  # exactly contiguous
    gap = plan(_page(10, 6), Position(4, "e"), cap=300, strict=False)
    assert (gap.recovered, len(gap.records)) == (False, 5)
    assert plan(_page(10, 6), Position(4, "e"), cap=300, strict=True).records == []
    assert plan(_page(10, 1), Position(4, "x"), cap=300, strict=False) == ([], Position(10, "e"), False)
    assert plan(_page(10, 1), Position(11, "e"), cap=300, strict=False).recovered is False
    assert plan(_page(10, 1), Position(4, "e"), cap=5, strict=False).recovered is False
    assert plan(_page(10, 1), Position(5, "e"), cap=5, strict=False).recovered is True
    assert plan(Page(Position(10, "e"), 11, []), Position(10, "e"), cap=0, strict=True).recovered is True
