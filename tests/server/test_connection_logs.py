"""What `ksps serve` logs at info: a line per connection opened and closed, per refused request, sampled under
churn so a flood cannot fill a disk; picows' per-connection lines only at debug (docs/observability.md)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import TypeVar

import pytest
from websockets.exceptions import InvalidStatus

from ksps import Server
from ksps.logs import SampledLog
from ksps.server.server import core_of

from .conftest import Connect, OpenRaw, StartServer
from .http_pages import http_get
from .wire import RawSocket, WireClient, units

_OP_PING = 0x9
T = TypeVar("T")


def lines(caplog: pytest.LogCaptureFixture, pattern: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if re.search(pattern, r.getMessage())]


async def until(condition: Callable[[], T], timeout: float, what: str) -> T:
    """`condition()` once it is true; fails after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := condition()):
        assert loop.time() < deadline, f"{what}: not after {timeout} s"
        await asyncio.sleep(0.01)  # polling a condition, not waiting for time to pass
    return result


async def logged(caplog: pytest.LogCaptureFixture, pattern: str) -> list[str]:
    """The lines matching `pattern`, once there is one (the close line comes when the socket is gone)."""
    return await until(lambda: lines(caplog, pattern), units(3), f"a line matching {pattern!r}")


async def test_open_and_close_lines(caplog: pytest.LogCaptureFixture, connect: Connect, server: Server) -> None:
    caplog.set_level(logging.INFO)
    client = await connect("alice")
    address = next(iter(core_of(server).connections)).remote
    assert lines(caplog, "connection from") == [f"connection from {address}"]
    await client.close()
    [closed] = await logged(caplog, r"^closed ")
    assert re.fullmatch(
        rf"closed {re.escape(address)} \(client alice\): 1000 \(no reason\), by the client, after \d+\.\d s", closed
    ), closed


# A connection closed for a limit is not read any more: its end is seen when the grace period cuts it.
@pytest.mark.server_options(handshake_timeout=units(0.5))
async def test_a_limit_close_names_code_reason_and_the_server(
    caplog: pytest.LogCaptureFixture, open_raw: OpenRaw, server: Server
) -> None:
    caplog.set_level(logging.INFO)
    abuser = await open_raw()
    for _ in range(int(server.config.max_control_frames_per_second) + 10):
        await abuser.send_frame(b"", opcode=_OP_PING)
    assert (await abuser.read_to_end())[1] == 1008
    abuser.close()
    [closed] = await logged(caplog, r"^closed ")
    assert re.search(r"\(client None\): 1008 control frame rate exceeded, by the server, after", closed), closed


async def test_a_dropped_connection_says_so(caplog: pytest.LogCaptureFixture, open_raw: OpenRaw) -> None:
    caplog.set_level(logging.INFO)
    (await open_raw()).close()
    [closed] = await logged(caplog, r"^closed ")
    assert "dropped without a close frame" in closed


async def test_refusals_say_why_and_the_fix(caplog: pytest.LogCaptureFixture, server: Server) -> None:
    caplog.set_level(logging.INFO)
    with pytest.raises(InvalidStatus):
        await WireClient.open(server.url, origin="http://evil.example")
    [origin] = lines(caplog, "origin")
    assert "403, origin http://evil.example not allowed: add it to --allowed-origins" in origin
    assert (await http_get(server.port, "/ws"))[0] == 404
    [path] = lines(caplog, "refused /ws")
    assert path == "refused /ws from 127.0.0.1: 404, the WebSocket endpoint is /ws/bus (--path)"
    server.OnUpgradeWS(lambda request: False)
    with pytest.raises(InvalidStatus):
        await WireClient.open(server.url)
    [hook] = lines(caplog, "OnUpgradeWS")
    assert hook == "refused upgrade from 127.0.0.1: 403 by the OnUpgradeWS hook"


async def test_picows_per_connection_lines_are_debug(caplog: pytest.LogCaptureFixture, connect: Connect) -> None:
    # picows logs "New connection accepted ..." at info: at our info level they would double every line.
    caplog.set_level(logging.INFO)
    await (await connect("c")).close()
    await logged(caplog, r"^closed ")
    assert not [r for r in caplog.records if r.name.startswith("picows")]
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    await (await connect("d")).close()
    await logged(caplog, r"^closed ")
    accepted = [r for r in caplog.records if r.getMessage().startswith("New connection accepted")]
    assert accepted and all(r.levelno == logging.DEBUG for r in accepted)


async def test_a_churn_of_connections_is_sampled(caplog: pytest.LogCaptureFixture, start_server: StartServer) -> None:
    caplog.set_level(logging.INFO)
    server = await start_server(max_connections_per_address=0)
    churn, batch = 2000, 100
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(churn // batch):
        sockets = await asyncio.gather(
            *(RawSocket.open("127.0.0.1", server.port, server.config.path) for _ in range(batch))
        )
        for raw in sockets:
            raw.close()
    await until(lambda: not core_of(server).connections, units(10), "every connection gone")
    # The counts come when each kind's interval ends, even if the churn stopped before (a timer).
    summaries = r"^\d+ more connection closed lines not logged"
    await until(lambda: bool(lines(caplog, summaries)), units(5), "the count of the lines left out")
    seconds = loop.time() - started
    opened, closed = lines(caplog, "^connection from "), lines(caplog, "^closed ")
    skipped = lines(caplog, r"^\d+ more connection (opened|closed) lines not logged")
    # At most the burst per second and kind (plus the summaries), far from a line per event.
    windows = int(seconds) + 2
    assert len(opened) <= SampledLog().burst * windows, (len(opened), seconds)
    assert len(closed) <= SampledLog().burst * windows, (len(closed), seconds)
    assert skipped and len(skipped) <= 2 * windows
    assert len(opened) + len(closed) + len(skipped) < churn // 4


def test_sampled_log_reports_the_count_when_a_burst_stops(caplog: pytest.LogCaptureFixture) -> None:
    # A churn that ends within one interval used to leave its count unsaid until the next connection, maybe
    # never (and failed test_a_churn_of_connections_is_sampled when the churn took under a second).
    caplog.set_level(logging.INFO, logger="ksps.server")
    now = [0.0]
    timers: list[tuple[float, Callable[[], None]]] = []
    sampled = SampledLog(
        burst=2, interval=1.0, clock=lambda: now[0], call_later=lambda delay, fn: timers.append((delay, fn))
    )
    for n in range(5):
        sampled.info("connection closed", "closed %s", n)
    assert [delay for delay, _ in timers] == [1.0]  # one timer per interval with skipped lines
    now[0] = 1.0
    timers[0][1]()
    assert [r.getMessage() for r in caplog.records][-1] == (
        "3 more connection closed lines not logged in 1 s (at most 2 a second are)"
    )
    sampled.info("connection closed", "closed %s", "later")  # no second count for the same lines
    assert [r.getMessage() for r in caplog.records][-1] == "closed later"


def test_sampled_log_counts_what_it_leaves_out(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ksps.server")
    now = [0.0]
    sampled = SampledLog(burst=2, interval=1.0, clock=lambda: now[0])
    for n in range(100):
        sampled.info("connection opened", "connection from %s", n)
    now[0] = 1.0
    sampled.info("connection opened", "connection from %s", "next")
    assert [r.getMessage() for r in caplog.records] == [
        "connection from 0",
        "connection from 1",
        "98 more connection opened lines not logged in 1 s (at most 2 a second are)",
        "connection from next",
    ]
