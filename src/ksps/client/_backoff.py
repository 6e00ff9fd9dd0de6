"""When to try again after a lost or failed connection: exponential backoff with full jitter."""

from __future__ import annotations

import random

__all__ = ["ReconnectPolicy"]


class ReconnectPolicy:
    """Delays between connection attempts.

    Attempt n waits a random time in `[0, min(max_delay, initial_delay * factor**n)]` ("full jitter"), so
    many clients cut off by one server restart do not come back in lockstep. A successful connection
    resets the sequence.
    """

    __slots__ = ("_attempt", "_random", "factor", "initial_delay", "max_delay")

    def __init__(
        self, initial_delay: float, factor: float, max_delay: float, rng: random.Random | None = None
    ) -> None:
        self.initial_delay = initial_delay
        self.factor = factor
        self.max_delay = max_delay
        self._attempt = 0
        self._random = rng or random.Random()

    def bound(self) -> float:
        """The upper bound of the next delay."""
        # Cap the exponent: the bound stops growing long before a float overflows.
        exponent = min(self._attempt, 64)
        return min(self.max_delay, self.initial_delay * self.factor**exponent)

    def next_delay(self) -> float:
        """The delay before the next attempt, in seconds; advances the sequence."""
        delay = self._random.uniform(0.0, self.bound())
        self._attempt += 1
        return delay

    def reset(self) -> None:
        """Start again from the initial delay (after a successful connection)."""
        self._attempt = 0
