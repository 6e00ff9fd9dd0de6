"""The interface of a history engine (spec §14.5): the broker calls it, the engine answers through callbacks.

The memory engine answers at once; the Redis engine (`ksps.cluster.history`) answers when Redis does. The
broker treats both the same way, so it stays free of I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .policy import HistoryPolicy
from .stream import Page, Position, Query

__all__ = ["HistoryEngine"]


class HistoryEngine(Protocol):
    """Keeps the publications of topics with history and hands out their offsets."""

    def append(
        self, topic: str, policy: HistoryPolicy, data: bytes, sender: str, done: Callable[[Position | None], None]
    ) -> None:
        """Keep one publication; `done` gets its position, or None when it could not be kept now (then it is
        delivered here without an offset and not sent to other nodes: an engine shared by nodes keeps it until
        it can store it, and sends it then, spec/cluster.md §11)."""

    def read(self, topic: str, query: Query, done: Callable[[Page | None], None]) -> None:
        """Read kept publications; `done` gets the page, or None when the history cannot be read now."""

    def size(self) -> tuple[int, int]:
        """(topics, publications) this engine holds on this node, for `/metrics`; (0, 0) when not known."""
