"""When to try again after a lost or failed connection: exponential backoff with full jitter."""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["ReconnectPolicy"]


class ReconnectPolicy:
    """Delays between connection attempts, in milliseconds.

    Attempt n (from 0) waits `floor(r * min(max_delay, initial_delay * factor**n))` with `r` from the
    injected `random()` in [0, 1) ("full jitter"), so many clients cut off by one server restart do not come
    back in lockstep. A connection that registered resets the sequence.
    """

    __slots__ = ("_attempt", "_random", "factor", "initial_delay", "max_delay")

    def __init__(self, initial_delay: int, factor: float, max_delay: int, random: Callable[[], float]) -> None:
        self.initial_delay = initial_delay
        self.factor = factor
        self.max_delay = max_delay
        self._attempt = 0
        self._random = random

    def bound(self) -> float:
        """The upper bound of the next delay."""
        # Cap the exponent: the bound stops growing long before a float overflows.
        exponent = min(self._attempt, 64)
        return min(float(self.max_delay), self.initial_delay * self.factor**exponent)

    def next_delay(self) -> int:
        """The delay before the next attempt; advances the sequence."""
        delay = math.floor(self._random() * self.bound())
        self._attempt += 1
        return delay

    def reset(self) -> None:
        """Start again from the initial delay."""
        self._attempt = 0
