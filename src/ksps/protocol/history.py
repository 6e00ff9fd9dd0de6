"""Topic history values shared by the server API and the clients (spec §14). No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = ["HistoryPage", "StreamPosition", "SubscriptionInfo"]


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


@dataclass(frozen=True, slots=True)
class SubscriptionInfo:
    """What a client's OnSubscribed hook receives for a topic with history, on its first subscription and on
    every restore after a reconnection (spec §14.3).

    `position` is the stream position the server answered (None when it could not tell, e.g. Redis down);
    `recovering` is True when the subscription asked for the publications since a position; `recovered` is
    True when nothing was missed. `recovering and not recovered`: publications were lost (the epoch changed,
    or they expired): reload the state from its source of truth, then use the deliveries that follow.
    """

    position: StreamPosition | None
    recovering: bool
    recovered: bool
