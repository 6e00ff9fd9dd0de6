"""Requests waiting for a direct reply, by request ID (spec §11.1).

Replies from a server that does not echo `rid` (the original KSPS) are matched to the oldest request of
their kind and key instead: the server answers a connection's frames in order (spec §4.3).
"""

from __future__ import annotations

__all__ = ["Request", "RequestBook"]


class Request:
    """One request: `kind` is ping, refresh, subscribe, restore, unsubscribe, status, presence or history;
    `key` the topic or ack ID; `handle` the intent's handle (None for a restored subscription without one)."""

    __slots__ = ("handle", "key", "kind", "recovering", "rid")

    def __init__(self, rid: str, kind: str, key: str, handle: object) -> None:
        self.rid = rid
        self.kind = kind
        self.key = key
        self.handle = handle
        #: A subscribe or restore sent with `since` (spec §14.3): its reply reports `recovering`.
        self.recovering = False


class RequestBook:
    """Pending requests of the current connection, in the order they were sent."""

    __slots__ = ("_next", "_pending")

    def __init__(self) -> None:
        self._pending: dict[str, Request] = {}
        self._next = 0

    def add(self, kind: str, key: str = "", handle: object = None) -> Request:
        """A new request with a fresh rid (a decimal counter from "1", unique on this client)."""
        self._next += 1
        request = Request(str(self._next), kind, key, handle)
        self._pending[request.rid] = request
        return request

    def take(self, rid: str, kinds: tuple[str, ...], key: str) -> Request | None:
        """Remove and return the request this reply answers: by `rid`, else the oldest of `kinds` for `key`."""
        if rid:
            request = self._pending.get(rid)
            if request is None or request.kind not in kinds:
                return None
            return self._pending.pop(rid)
        for request in self._pending.values():
            if request.kind in kinds and request.key == key:
                return self._pending.pop(request.rid)
        return None

    def pending(self, kind: str) -> bool:
        """True when a request of `kind` waits for its reply."""
        return any(request.kind == kind for request in self._pending.values())

    def take_rid(self, rid: str) -> Request | None:
        """Remove and return the request sent with `rid`, whatever its kind (an `error` reply)."""
        return self._pending.pop(rid, None) if rid else None

    def take_all(self) -> list[Request]:
        """Remove and return every pending request (the connection is gone)."""
        pending = list(self._pending.values())
        self._pending.clear()
        return pending
