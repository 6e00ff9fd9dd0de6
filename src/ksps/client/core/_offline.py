"""The bounded queue of publications made while disconnected."""

from __future__ import annotations

from collections import deque

from ._config import OverflowPolicy

__all__ = ["OfflineQueue", "QueuedFrame"]

#: One encoded frame, with the handle of its ack request (publications with acknowledgement) or None.
QueuedFrame = tuple[bytes, object]


class OfflineQueue:
    """Holds up to `size` encoded frames until the next connection is ready.

    On overflow the :data:`~ksps.client.core.OverflowPolicy` decides which frame is lost; :meth:`push`
    returns it (the new one for "drop_newest" and "raise") so the session reports it.
    """

    __slots__ = ("_frames", "policy", "size")

    def __init__(self, size: int, policy: OverflowPolicy) -> None:
        self.size = size
        self.policy = policy
        self._frames: deque[QueuedFrame] = deque()

    def __len__(self) -> int:
        return len(self._frames)

    def push(self, frame: bytes, handle: object) -> QueuedFrame | None:
        """Queue one frame. Returns the frame that was dropped to respect the bound, if any."""
        if len(self._frames) < self.size:
            self._frames.append((frame, handle))
            return None
        if self.policy != "drop_oldest" or self.size == 0:
            return (frame, handle)
        dropped = self._frames.popleft()
        self._frames.append((frame, handle))
        return dropped

    def drain(self) -> list[QueuedFrame]:
        """Remove and return every queued frame, oldest first."""
        frames = list(self._frames)
        self._frames.clear()
        return frames
