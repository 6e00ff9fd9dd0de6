"""Server-wide connection and transport limits: connection counts and the output budget.

Per-connection limits (frame rates, fragments, the send queue) live in `Connection`; what needs a view over
all connections lives here (spec §13.1, docs/reliability.md "Connection and transport").
"""

from __future__ import annotations

import logging
import resource
from collections.abc import Iterable
from typing import Protocol

__all__ = ["ConnectionGate", "OutputBudget", "fd_connection_ceiling"]

log = logging.getLogger("ksps.server")

#: File descriptors kept free for the listening socket, Redis, TLS files, logs and accepts being refused.
_FD_RESERVE = 64


def fd_connection_ceiling() -> int:
    """How many connections the open-file limit (RLIMIT_NOFILE) leaves room for, or 0 if it is unlimited."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 0
    return max(1, soft - _FD_RESERVE)


class ConnectionGate:
    """Counts open WebSocket connections, in total and per client address, and refuses those over the limits."""

    def __init__(self, *, max_total: int, max_per_address: int) -> None:
        self.max_total = max_total
        self.max_per_address = max_per_address
        self.total = 0
        self._per_address: dict[str, int] = {}

    def refusal(self, address: str) -> str | None:
        """Why one more connection from `address` is refused (an HTTP 503 body), or None to accept it."""
        if self.max_total and self.total >= self.max_total:
            return f"server full: {self.max_total} connections (max_connections)"
        if self.max_per_address and self._per_address.get(address, 0) >= self.max_per_address:
            return f"too many connections from {address}: {self.max_per_address} (max_connections_per_address)"
        return None

    def opened(self, address: str) -> None:
        """Count a connection that completed its upgrade."""
        self.total += 1
        self._per_address[address] = self._per_address.get(address, 0) + 1

    def closed(self, address: str) -> None:
        """Forget a connection counted by `opened`."""
        self.total -= 1
        left = self._per_address.get(address, 0) - 1
        if left > 0:
            self._per_address[address] = left
        else:
            self._per_address.pop(address, None)


class Buffered(Protocol):
    """What the output budget needs of a connection."""

    #: Bytes this connection had waiting when last counted; owned by the budget.
    buffered: int

    @property
    def closing(self) -> bool:
        """True once a close frame was queued: nothing more will be added to what it has waiting."""

    def waiting(self) -> int:
        """Bytes waiting in the connection's transport now."""

    def cut_for_budget(self) -> None:
        """Close the connection as a slow consumer (4002) because the server-wide budget is exceeded."""

    def drop_for_budget(self) -> None:
        """Drop the connection and what it has waiting, now."""


class OutputBudget:
    """The bytes all connections have waiting to be sent, held under `limit` (spec §13.1).

    Connections report their transport's buffer size when they write (`update`); that figure goes stale as
    the kernel drains the buffer, so when the sum crosses the limit it is recounted exactly, over the
    connections that had something waiting only. If it is still over, memory is freed from connections
    already closed that are not reading their close frame (dropped, largest first); if that is not enough, the
    live connection with the most waiting (the slowest reader) is closed with 4002: it stops growing, and is
    dropped in turn if the budget is still exceeded at the next write. Readers that keep up are not touched.
    A connection stays counted until its socket is gone (`release`).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.total = 0
        #: Live connections closed with 4002, and closed ones dropped, to stay within the budget.
        self.cut = 0
        self.dropped = 0
        self._holders: set[Buffered] = set()
        #: Connections dropped to free memory whose sockets are not gone yet (`release`).
        self._dropping: set[Buffered] = set()

    def update(self, connection: Buffered, size: int) -> None:
        """`connection` now has `size` bytes waiting."""
        self.total += size - connection.buffered
        connection.buffered = size
        if size:
            self._holders.add(connection)
        else:
            self._holders.discard(connection)
        if self.limit and self.total > self.limit:
            self._enforce()

    def admits(self, connection: Buffered, *, waiting: int, queued: int) -> bool:
        """Whether `connection`, with `waiting` bytes in its transport, may queue `queued` more.

        Asked before writing to a connection that has a backlog (all it is given stays in memory). If the total
        would pass the limit, the budget is enforced first, as by `update` (closed connections dropped, then the
        slowest live one closed); if that leaves no room, the answer is no and the caller closes `connection`.
        """
        if not self.limit or self.total - connection.buffered + waiting + queued <= self.limit:
            return True
        self._enforce(extra=queued)
        return not connection.closing and self.total + queued <= self.limit

    def release(self, connection: Buffered) -> None:
        """Stop counting `connection`: its socket is gone."""
        self.total -= connection.buffered
        connection.buffered = 0
        self._holders.discard(connection)
        self._dropping.discard(connection)

    def _enforce(self, extra: int = 0) -> None:
        """Bring the total, plus `extra` bytes about to be queued, under the limit (see the class docstring)."""
        self._recount(tuple(self._holders))
        limit = self.limit - extra
        if self.total <= limit:
            return
        by_size = sorted(self._holders, key=lambda c: c.buffered, reverse=True)
        # Dropped connections stay counted until their socket is gone (`release`): uvloop frees what they hold
        # only on the next loop iteration, and lending it out meanwhile held twice the budget (spec §13.1).
        freed = sum(c.buffered for c in self._dropping)
        for connection in by_size:
            if self.total - freed <= limit:
                return
            if connection.closing and connection not in self._dropping:
                self.dropped += 1
                self._dropping.add(connection)
                freed += connection.buffered
                connection.drop_for_budget()
        for connection in by_size:
            if not connection.closing:
                self.cut += 1
                connection.cut_for_budget()
                return

    def _recount(self, holders: Iterable[Buffered]) -> None:
        for connection in holders:
            size = connection.waiting()
            self.total += size - connection.buffered
            connection.buffered = size
            if not size:
                self._holders.discard(connection)
