"""The ack requests of one session: their state, and the deadlines at which they end (spec §6)."""

from __future__ import annotations

import heapq
import itertools

from ._codec import AckResponse

__all__ = ["ACK_GRACE", "AckBook", "AckRecord"]

#: Milliseconds a request waits beyond its timeout for the server's final `ack_response`, which the server
#: sends when the timeout expires (spec §6.2); after that the request ends with what it has.
ACK_GRACE = 500


class AckRecord:
    """One pending `publish_with_ack` / `publish_to_id_with_ack`."""

    __slots__ = ("ack_id", "deadline", "done", "handle", "responses", "sent")

    def __init__(self, handle: object, ack_id: str, deadline: int) -> None:
        self.handle = handle
        #: The client-chosen ack ID on the wire (`client_ack_<id>_<n>`, as the original clients).
        self.ack_id = ack_id
        self.deadline = deadline
        #: True once the request went out on a connection (a lost connection then ends it).
        self.sent = False
        self.done = False
        #: Responder client ID -> its answer, as reported so far.
        self.responses: dict[str, AckResponse] = {}


class AckBook:
    """Pending requests by ack ID and by handle, and a heap of their deadlines (entries of ended ones are
    skipped lazily)."""

    __slots__ = ("_by_handle", "_by_id", "_heap", "_issued", "_prefix", "_seq")

    def __init__(self, client_id: str) -> None:
        self._prefix = f"client_ack_{client_id}_"
        self._issued = 0
        self._seq = itertools.count()
        self._by_id: dict[str, AckRecord] = {}
        self._by_handle: dict[object, AckRecord] = {}
        self._heap: list[tuple[int, int, AckRecord]] = []

    @property
    def next_id(self) -> str:
        """The ack ID the next request gets."""
        return f"{self._prefix}{self._issued + 1}"

    def new(self, handle: object, deadline: int) -> AckRecord:
        """Track a new request with a fresh ack ID."""
        self._issued += 1
        record = AckRecord(handle, f"{self._prefix}{self._issued}", deadline)
        self._by_id[record.ack_id] = record
        self._by_handle[handle] = record
        heapq.heappush(self._heap, (deadline, next(self._seq), record))
        return record

    def by_id(self, ack_id: str) -> AckRecord | None:
        """The pending request with this ack ID."""
        return self._by_id.get(ack_id)

    def by_handle(self, handle: object) -> AckRecord | None:
        """The pending request of this handle."""
        return self._by_handle.get(handle)

    def end(self, record: AckRecord) -> None:
        """Forget an ended request."""
        record.done = True
        self._by_id.pop(record.ack_id, None)
        self._by_handle.pop(record.handle, None)

    def sent(self) -> list[AckRecord]:
        """Pending requests that went out on a connection."""
        return [record for record in self._by_id.values() if record.sent]

    def next_deadline(self) -> int | None:
        """The earliest deadline of a pending request."""
        heap = self._heap
        while heap and heap[0][2].done:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def expired(self, now: int) -> list[AckRecord]:
        """Pending requests whose deadline passed, earliest first (still to be ended by the caller)."""
        heap = self._heap
        due = []
        while heap and heap[0][0] <= now:
            record = heapq.heappop(heap)[2]
            if not record.done:
                due.append(record)
        return due

    def clear(self) -> None:
        """Forget every request (the session closed)."""
        for record in self._by_id.values():
            record.done = True
        self._by_id.clear()
        self._by_handle.clear()
        self._heap.clear()
