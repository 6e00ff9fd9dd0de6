"""DNS rebinding in a real headless Chromium (issue 10, reproduction #5; spec §12.4).

Chromium resolves `attacker.test` to 127.0.0.1 (`--host-resolver-rules`), as a rebinding attacker's DNS
would after the page loaded. A loopback front door serves the test page and passes every other connection,
the WebSocket upgrade included, byte for byte to the ksps server, so the page and its WebSocket share one
origin: `Origin` and `Host` are both the attacker's name, which the old origin check accepted. The page
reports what happened by fetching `/result?...` from the front door.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import unquote

import pytest

from ksps import Server
from tests.browser import headless_chromium, requires_chromium

from .conftest import StartServer
from .wire import units

pytestmark = requires_chromium

PAGE = b"""<!doctype html>
<title>ksps rebinding test</title>
<script>
  let opened = false;
  const report = (text) => fetch("/result?" + encodeURIComponent(text));
  const ws = new WebSocket("ws://" + location.host + "/ws/bus");
  ws.onopen = () => { opened = true; ws.send(JSON.stringify({ action: "ping", from: "browser" })); };
  ws.onmessage = (event) => { report("open " + event.data); ws.close(); };
  ws.onclose = (event) => { if (!opened) report("refused " + event.code); };
</script>
"""


class FrontDoor:
    """Serves the page and `/result`, passes everything else to the ksps server at `upstream()`."""

    def __init__(self, upstream: Callable[[], int]) -> None:
        self.upstream = upstream
        self.results: asyncio.Queue[str] = asyncio.Queue()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        path = head.split(b" ", 2)[1].decode()
        if path == "/page.html" or path.startswith("/result?"):
            if path.startswith("/result?"):
                self.results.put_nowait(unquote(path.partition("?")[2]))
            body = PAGE if path == "/page.html" else b""
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nCache-Control: no-store\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
            )
            await writer.drain()
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream())
        up_writer.write(head)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.get_running_loop().create_task(_pipe(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        sink.close()


Browse = Callable[[str], Awaitable[str]]


@pytest.fixture
async def door() -> AsyncIterator[FrontDoor]:
    front = FrontDoor(lambda: 0)
    await front.start()
    yield front
    await front.close()


@pytest.fixture
async def browse(tmp_path: Path, door: FrontDoor) -> Browse:
    """Open a page in headless Chromium and return what it reported."""
    opened = 0

    async def open_page(url: str) -> str:
        nonlocal opened
        opened += 1
        resolve = "--host-resolver-rules=MAP attacker.test 127.0.0.1"
        async with headless_chromium(url, tmp_path / f"profile-{opened}", resolve):
            return await asyncio.wait_for(door.results.get(), units(30))

    return open_page


async def started_behind(door: FrontDoor, start_server: StartServer) -> Server:
    # The page's own origin, 127.0.0.1 on the front door's port, is a name of this server; attacker.test is not.
    server = await start_server(allowed_hosts=(f"127.0.0.1:{door.port}",))
    door.upstream = lambda: server.port
    return server


async def test_repro5_a_rebinding_page_cannot_connect(
    door: FrontDoor, browse: Browse, start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    await started_behind(door, start_server)
    result = await browse(f"http://attacker.test:{door.port}/page.html")
    assert result.startswith("refused "), result
    assert any(f"'attacker.test:{door.port}'" in r.getMessage() for r in caplog.records), caplog.text


async def test_a_page_of_an_allowed_origin_connects(door: FrontDoor, browse: Browse, start_server: StartServer) -> None:
    await started_behind(door, start_server)
    result = await browse(f"http://127.0.0.1:{door.port}/page.html")
    assert result == 'open {"action":"pong","id":"browser"}', result
