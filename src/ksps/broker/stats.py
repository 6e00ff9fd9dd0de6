"""Counters of what went through the broker, read by `/metrics` at scrape time (docs/observability.md).

They are plain integer attributes, added to once per publication (never once per delivery): a fan-out to 100
subscribers adds 100 to `delivered` in one addition. No lock is needed: the broker runs on one thread.
"""

from __future__ import annotations

from ..protocol import actions as act

__all__ = ["KINDS", "BrokerStats"]

#: The kinds of publication, by the action that makes them (spec §4.2, §5.1, §6.1, §6.4).
KINDS = (act.PUBLISH, act.DIRECT_MESSAGE, act.PUBLISH_WITH_ACK, act.PUBLISH_TO_ID_WITH_ACK)


class BrokerStats:
    """Totals since the start; never reset. Publications count on the node that accepted them (from its
    clients and server code); deliveries are frames to this node's WebSocket subscribers, whatever node the
    publication came from."""

    __slots__ = (
        "delivered",
        "delivered_direct",
        "delivered_direct_ack",
        "delivered_with_ack",
        "published",
        "published_direct",
        "published_direct_ack",
        "published_with_ack",
        "registrations",
    )

    def __init__(self) -> None:
        self.published = self.published_direct = self.published_with_ack = self.published_direct_ack = 0
        self.delivered = self.delivered_direct = self.delivered_with_ack = self.delivered_direct_ack = 0
        #: Successful `ping` registrations and renames (spec §3).
        self.registrations = 0

    def publications(self) -> dict[str, int]:
        """Publications by kind (the action's name)."""
        values = (self.published, self.published_direct, self.published_with_ack, self.published_direct_ack)
        return dict(zip(KINDS, values, strict=True))

    def deliveries(self) -> dict[str, int]:
        """Deliveries by kind (the action's name)."""
        values = (self.delivered, self.delivered_direct, self.delivered_with_ack, self.delivered_direct_ack)
        return dict(zip(KINDS, values, strict=True))
