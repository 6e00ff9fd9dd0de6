"""The bounded queue of publications made while disconnected."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from ksps.errors import OfflineQueueFull

from ._options import OverflowPolicy

if TYPE_CHECKING:
    from ._acks import ClientAck

__all__ = ["OfflineQueue", "QueuedFrame"]

#: One encoded frame, with the ack handle it belongs to (publications with acknowledgement).
QueuedFrame = tuple[bytes, "ClientAck | None"]


class OfflineQueue:
    """Holds up to `size` encoded frames until the next connection is ready.

    On overflow the :data:`~ksps.client.OverflowPolicy` decides which frame is lost; :meth:`push` returns
    that frame (so the caller reports it) or raises :class:`~ksps.errors.OfflineQueueFull` for `"raise"`.
    """

    __slots__ = ("_frames", "policy", "size")

    def __init__(self, size: int, policy: OverflowPolicy) -> None:
        self.size = size
        self.policy = policy
        self._frames: deque[QueuedFrame] = deque()

    def __len__(self) -> int:
        return len(self._frames)

    def push(self, frame: bytes, ack: ClientAck | None) -> QueuedFrame | None:
        """Queue one frame. Returns the frame that was dropped to respect the bound, if any."""
        if len(self._frames) < self.size:
            self._frames.append((frame, ack))
            return None
        if self.policy == "raise":
            raise OfflineQueueFull(f"offline queue full ({self.size} publications); not sent")
        if self.policy == "drop_newest" or self.size == 0:
            return (frame, ack)
        dropped = self._frames.popleft()
        self._frames.append((frame, ack))
        return dropped

    def drain(self) -> list[QueuedFrame]:
        """Remove and return every queued frame, oldest first."""
        frames = list(self._frames)
        self._frames.clear()
        return frames
