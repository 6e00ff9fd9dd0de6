"""Warnings an abuser can trigger are throttled: one line per second per kind, with the count of the others
(spec §13.1), so a flood of refusals cannot fill a disk; picows' own lines about bad peers too."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest

from ksps.logs import ThrottledLog

from .transport_support import OP_PING, bystander_running, close_code, frame, open_abuser, send_raw, serving


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


def test_the_end_of_a_burst_is_reported_once_the_interval_is_over(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ksps.server")
    now = [0.0]
    timers: list[tuple[float, Callable[[], None]]] = []
    throttled = ThrottledLog(
        interval=1.0, clock=lambda: now[0], call_later=lambda delay, callback: timers.append((delay, callback))
    )
    for n in range(500):  # a burst, then silence: no later line would carry the count
        throttled.warning("rate", "closing %s: rate", n)
    assert [r.getMessage() for r in caplog.records] == ["closing 0: rate"]
    assert [delay for delay, _ in timers] == [1.0]  # one timer for the whole burst
    now[0] = 1.0
    timers[0][1]()
    assert [r.getMessage() for r in caplog.records] == ["closing 0: rate", "closing 499: rate (and 498 more like it)"]
    timers[0][1]()  # nothing left to report
    assert len(caplog.records) == 2


async def test_frames_picows_refuses_log_throttled_warnings_not_errors(caplog: pytest.LogCaptureFixture) -> None:
    # A PING over 125 bytes breaks RFC 6455 §5.5: picows refuses it (1002) and logs "WS parser error" at ERROR,
    # one line per bad frame, which let any client fill a disk. The filter makes it a throttled warning.
    caplog.set_level(logging.WARNING, logger="picows")
    async with serving() as server:
        started = time.monotonic()
        # Longer than the throttle's second, so at least one line gets out whatever came just before.
        while time.monotonic() - started < 1.5:
            abuser = await open_abuser(server)
            await send_raw(abuser, frame(b"x" * 200, OP_PING))
            code, _ = await close_code(abuser)
            abuser.close()
            assert code in (1002, None)
        took = time.monotonic() - started
        async with bystander_running(server):  # its final round checks the server still serves
            pass
    parser_lines = [r for r in caplog.records if r.getMessage().startswith("WS parser error")]
    assert parser_lines, "the bad frames were not refused by picows' parser"
    assert all(r.levelno == logging.WARNING for r in parser_lines)
    assert len(parser_lines) <= 1 + took  # one a second at most, with the count of the others
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
