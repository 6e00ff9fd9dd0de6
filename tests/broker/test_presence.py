"""The sans-I/O pieces of presence (spec §15.2, §15.5): choosing and merging member lists."""

from __future__ import annotations

from ksps.broker.presence import merge_members, smallest


def test_smallest_sorts_small_lists_and_cuts_big_ones() -> None:
    assert smallest(["b", "a"], 2) == (2, ["a", "b"], False)
    ids = [f"id{n:05d}" for n in reversed(range(1500))]
    count, listed, truncated = smallest(ids, len(ids))
    assert (count, len(listed), listed[0], listed[-1], truncated) == (1500, 1000, "id00000", "id00999", True)


def test_merge_adds_counts_drops_duplicates_and_keeps_the_smallest() -> None:
    # An ID can show on two nodes for one Redis round trip during a takeover (spec §15.1).
    assert merge_members([(2, ["b", "d"], False), (2, ["a", "b"], False)]) == (4, ["a", "b", "d"], False)
    node1 = (1000, [f"x{n:04d}" for n in range(1000)], False)
    node2 = (1, ["a"], False)
    count, listed, truncated = merge_members([node1, node2])
    assert (count, listed[0], listed[-1], len(listed), truncated) == (1001, "a", "x0998", 1000, True)
    assert merge_members([(1500, ["a"], True)]) == (1500, ["a"], True)
