"""The values of topic history, independent of engines and of the wire (spec §14.2, §14.3). No I/O."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Page", "Position", "Query", "Record", "Recovery", "plan_recovery"]


class Position(NamedTuple):
    """A place in a topic's stream: the offset of its latest publication (0 = none yet) in `epoch`."""

    offset: int
    epoch: str


class Record(NamedTuple):
    """One kept publication: its offset, raw JSON payload and sender."""

    offset: int
    data: bytes
    sender: str


class Query(NamedTuple):
    """Which kept publications to read: offsets in (`after`, `before`), at most `limit`, oldest first.

    `tail` keeps the newest `limit` of them instead of the oldest (recovery, and reverse reads).
    """

    after: int = 0
    before: int | None = None
    limit: int = 0
    tail: bool = False


class Page(NamedTuple):
    """The answer of an engine: the stream's `top` position, the lowest offset it still holds (`first`,
    `top.offset + 1` when it holds none) and the records asked for, oldest first."""

    top: Position
    first: int
    records: list[Record]


class Recovery(NamedTuple):
    """What a `subscribe` with `since` gets (spec §14.3): records to deliver first, the stream's position,
    and whether nothing was missed."""

    records: list[Record]
    top: Position
    recovered: bool


def plan_recovery(page: Page, since: Position, *, cap: int, strict: bool) -> Recovery:
    """Decide a recovery from a page read with `Query(after=since.offset, limit=cap, tail=True)`.

    Recovered means: same epoch, a position the stream has reached, nothing expired or trimmed after it,
    and at most `cap` publications missed. Otherwise the client gets the newest publications it can (so they
    join the live stream without a gap) and `recovered: false`, or nothing when it asked for `strict`. A
    different epoch, or an offset beyond the top, gets nothing: those offsets belong to another stream.
    """
    top = page.top
    if since.epoch != top.epoch or since.offset > top.offset:
        return Recovery([], top, False)
    contiguous = since.offset >= page.first - 1
    missed = top.offset - max(since.offset, page.first - 1)
    recovered = contiguous and missed <= cap
    if not recovered and strict:
        return Recovery([], top, False)
    return Recovery(page.records, top, recovered)
