"""The stream position the session keeps per recorded topic with history (spec §14.2)."""

from __future__ import annotations

from ksps.protocol.history import StreamPosition

__all__ = ["Cursor"]


class Cursor:
    """A topic's position, updated in place by every delivery: cheaper than a new StreamPosition per message
    (a NamedTuple is built through a Python-level `__new__`); :meth:`position` gives the public value."""

    __slots__ = ("epoch", "offset")

    def __init__(self, offset: int, epoch: str) -> None:
        self.offset = offset
        self.epoch = epoch

    def position(self) -> StreamPosition:
        """The position as the API returns it."""
        return StreamPosition(self.offset, self.epoch)
