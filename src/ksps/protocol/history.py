"""Topic history values shared by the server API and the clients (spec §14). No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = ["HistoryPage", "StreamPosition"]


class StreamPosition(NamedTuple):
    """A place in a topic's stream (spec §14.2): the `offset` of a publication within `epoch`.

    A tuple, so `(7, "c0ffee1")` is accepted wherever a position is: `Server.history(since=...)`,
    `Client.subscribe(..., since=...)` and `Client.history(..., since=...)` take the same thing.
    """

    offset: int
    epoch: str


@dataclass(frozen=True)
class HistoryPage:
    """What a history read returns (spec §14.4), on the server (`Server.history`) and in the clients:
    publications (`{"data", "from", "offset"}`) and the stream position at the read."""

    #: Oldest first, or newest first when read with `reverse=True`.
    publications: list[dict[str, Any]]
    #: Offset of the topic's latest publication (0 = none yet), in `epoch`.
    offset: int
    epoch: str
