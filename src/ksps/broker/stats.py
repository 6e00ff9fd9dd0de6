"""Counters of what went through the broker, read by `/metrics` at scrape time (docs/observability.md).

They are plain integers, added to once per publication (never once per delivery): a fan-out to 100
subscribers adds 100 to `deliveries` in one addition. No lock is needed: the broker runs on one thread.
"""

from __future__ import annotations

from ..protocol import actions as act

__all__ = ["KINDS", "BrokerStats"]

#: The kinds of publication, by the action that makes them (spec §4.2, §5.1, §6.1, §6.4).
KINDS = (act.PUBLISH, act.DIRECT_MESSAGE, act.PUBLISH_WITH_ACK, act.PUBLISH_TO_ID_WITH_ACK)


class BrokerStats:
    """Totals since the start; never reset."""

    __slots__ = ("deliveries", "publications", "registrations")

    def __init__(self) -> None:
        #: Publications accepted on this node (from its clients and server code), by kind.
        self.publications: dict[str, int] = dict.fromkeys(KINDS, 0)
        #: Frames delivered to this node's WebSocket subscribers, by kind (publications from other nodes too).
        self.deliveries: dict[str, int] = dict.fromkeys(KINDS, 0)
        #: Successful `ping` registrations and renames (spec §3).
        self.registrations = 0
