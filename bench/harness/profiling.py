"""Reads py-spy's raw output (collapsed stacks) into the functions the server spent its time in."""

from __future__ import annotations

from collections import Counter
from pathlib import Path


def top_functions(raw: Path, limit: int = 25) -> str:
    """The functions with the most samples, by self time and by inclusive time, as text."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return "no samples"
    lines = [f"{total} samples", "", "self %  function"]
    lines += [f"{100 * n / total:6.1f}  {frame}" for frame, n in own.most_common(limit)]
    lines += ["", "total % function (time in it and what it calls)"]
    lines += [f"{100 * n / total:6.1f}  {frame}" for frame, n in inclusive.most_common(limit)]
    return "\n".join(lines)


def _short(frame: str) -> str:
    """`send (ksps/server/connection.py:151)` without the line number, so one function is one row."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "src/", "lib/python"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})" if path else name
