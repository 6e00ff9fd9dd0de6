"""Warnings an abuser can trigger are throttled: one line per second per kind, with the count of the others
(spec §13.1), so a flood of refusals cannot fill a disk."""

from __future__ import annotations

import logging

import pytest

from ksps.server.limits import ThrottledLog


def test_one_line_per_interval_and_kind_with_the_count_of_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ksps.server")
    now = [0.0]
    throttled = ThrottledLog(interval=1.0, clock=lambda: now[0])
    for n in range(1000):
        throttled.warning("rate", "closing %s: rate", n)
        throttled.warning("budget", "closing %s: budget", n)
    now[0] = 1.5
    throttled.warning("rate", "closing %s: rate", "last")
    assert [r.getMessage() for r in caplog.records] == [
        "closing 0: rate",
        "closing 0: budget",
        "closing last: rate (and 999 more like it)",
    ]
