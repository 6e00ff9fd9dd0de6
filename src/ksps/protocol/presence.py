"""What a presence query answers (spec §15.2), shared by the server API and the Python client. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["PresenceInfo"]


@dataclass(frozen=True)
class PresenceInfo:
    """The members of a topic: `count` registered client subscribers on every node, `ids` the smallest of their
    IDs in order (at most 1,000), `truncated` when `ids` does not list them all (spec §15.2)."""

    count: int
    ids: list[str]
    truncated: bool = False

    @classmethod
    def from_frame(cls, frame: dict[str, Any]) -> PresenceInfo:
        """Read a `presence` reply; members of the wrong type read as empty (a client never trusts a frame)."""
        count = frame.get("count")
        ids = frame.get("ids")
        return cls(
            count=count if isinstance(count, int) and not isinstance(count, bool) else 0,
            ids=[i for i in ids if isinstance(i, str)] if isinstance(ids, list) else [],
            truncated=frame.get("truncated") is True,
        )
