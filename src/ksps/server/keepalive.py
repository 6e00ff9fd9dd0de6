"""Keepalive for every connection with one periodic sweep (spec §1.6), instead of a task per connection.

picows' own auto-ping runs one asyncio task per connection, each waking up every interval: with 19,000 idle
clients that was 10% of a core and about 1.5 KiB per connection (the task, its coroutine, its sleep future and
timer). Here a read only sets a flag on the protocol (`_BoundedReads.buffer_updated`, once per read, never per
frame), and one timer every quarter of the shorter of interval and timeout walks the connections:

- data arrived since the last sweep: the connection is alive, its silence starts now;
- silent for the keepalive interval: one PING (a PONG, or any other data, is an answer);
- still silent the keepalive timeout after that PING: a close frame (1001) and the socket is dropped, so
  half-open connections do not hold memory and descriptors (spec §9.15).

Silence is measured from the sweep that saw the last data, so a PING goes out at most a quarter of the
interval late and never early; the same holds for dropping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["KeepaliveSweep"]

#: Sweeps per keepalive period: the precision of the PING and drop times, against the sweeps' CPU.
_SWEEPS_PER_PERIOD = 4


class KeepaliveSweep:
    """Pings silent connections and drops those that do not answer, all in one timer (spec §1.6)."""

    __slots__ = ("_connections", "_handle", "_interval", "_loop", "_tick", "_timeout")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        connections: Collection[Connection],
        *,
        interval: float,
        timeout: float,
    ) -> None:
        self._loop = loop
        self._connections = connections
        self._interval = interval
        self._timeout = timeout
        self._tick = min(interval, timeout) / _SWEEPS_PER_PERIOD
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Begin sweeping (no-op when keepalive is off, interval 0)."""
        if self._interval > 0 and self._handle is None:
            self._handle = self._loop.call_later(self._tick, self._sweep)

    def stop(self) -> None:
        """Stop sweeping (server shutdown)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _sweep(self) -> None:
        self._handle = self._loop.call_later(self._tick, self._sweep)
        now = self._loop.time()
        interval, timeout = self._interval, self._timeout
        dead: list[Connection] = []
        for connection in self._connections:
            if connection.keepalive_check(now, interval, timeout):
                dead.append(connection)
        for connection in dead:  # not while iterating: dropping changes the set
            connection.keepalive_expired(timeout)
