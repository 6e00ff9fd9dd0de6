"""Plain-object implementations of the broker's I/O interfaces (`ksps.broker.interfaces`), for tests.

These are the small seams the broker was designed with, not mocks: a manual clock, a runner that runs at once,
and a peer that records frames.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ksps.broker.permissions import Access, Identity
from ksps.protocol import Frame


class Timer:
    def __init__(self, clock: ManualClock, when: float, callback: Callable[[], object]) -> None:
        self.clock, self.when, self.callback = clock, when, callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A `Scheduler` whose time moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[Timer] = []

    def call_later(self, delay: float, callback: Callable[[], object], /) -> Timer:
        timer = Timer(self, self.now + delay, callback)
        self.timers.append(timer)
        return timer

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        due = sorted((t for t in self.timers if t.when <= self.now and not t.cancelled), key=lambda t: t.when)
        self.timers = [t for t in self.timers if t not in due and not t.cancelled]
        for timer in due:
            timer.callback()

    @property
    def pending(self) -> int:
        return sum(not t.cancelled for t in self.timers)

    def run_out(self) -> int:
        """Advance past every timer armed now (and those they arm, an hour on); how many are still armed.

        The ack tracker's deadline sweep stays armed after the last request ended and stops when it runs: 0
        here means nothing is left scheduled for finished work.
        """
        for _ in range(100):
            if not self.pending:
                break
            self.advance(max(t.when for t in self.timers if not t.cancelled) - self.now + 3600)
        return self.pending


class ImmediateRunner:
    """A `Runner` that runs each callback at once and reports a raised exception as a failure."""

    def run(self, lane: object, call: Callable[[], Any], done: Callable[[bool, str], None] | None) -> None:
        try:
            call()
        except Exception as exc:
            if done is not None:
                done(False, str(exc))
            return
        if done is not None:
            done(True, "")


class RecordingPeer:
    """A `Peer` that keeps what it was sent."""

    def __init__(self, name: str = "", client_address: str = "192.0.2.1") -> None:
        self.name = name
        self.client_id: str | None = None
        self.client_address = client_address
        self.frames: list[Frame] = []
        self.closed: tuple[int, str] | None = None
        self.identity: Identity | None = None
        self.access = Access.everything()

    def authenticate(self, identity: Identity | None, access: Access) -> None:
        self.identity, self.access = identity, access

    def send(self, frame: Frame) -> None:
        self.frames.append(frame)

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def take(self) -> list[dict[str, Any]]:
        """The frames sent so far, decoded, and forget them."""
        out = [json.loads(frame.json) for frame in self.frames]
        self.frames.clear()
        return out

    def __repr__(self) -> str:
        return f"RecordingPeer({self.name!r})"
