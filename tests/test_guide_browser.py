"""The browser page of the JavaScript quickstart (docs/guide/quickstart-javascript.md) works as shown.

The test serves the guide's page from its own origin (`http://localhost:<port>`, as the guide's
`python3 -m http.server 8000` would) next to a real ksps server, and opens it in headless Chromium. A small
script appended after the example (the example itself is untouched) reports the page's `<pre id="log">`
to the page server each time it changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from urllib.parse import unquote

import pytest

from ksps import Server
from ksps.testing import free_port
from tests.browser import headless_chromium, requires_chromium

from .test_guide import ADDRESSES, EXAMPLES, Example

pytestmark = requires_chromium
UNIT = float(os.environ.get("KSPS_TEST_TIMEOUT_UNIT", "1.0"))

REPORTER = b"""
<script>
  let reported = null;
  setInterval(() => {
    const text = document.getElementById("log").textContent;
    if (text !== reported) { reported = text; fetch("/result?" + encodeURIComponent(text)); }
  }, 20);
</script>
"""


def _page_example() -> Example:
    (example,) = [example for example in EXAMPLES if example.kind == "browser"]
    assert example.page == "quickstart-javascript.md" and example.output is not None
    return example


class PageServer:
    """Serves one page at `/` and collects what it reports at `/result?...`."""

    def __init__(self, page: bytes) -> None:
        self.page = page
        self.reports: asyncio.Queue[str] = asyncio.Queue()
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> PageServer:
        self._server = await asyncio.start_server(self._answer, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            path = (await reader.readuntil(b"\r\n\r\n")).split(b" ", 2)[1].decode()
            body, status = (self.page, b"200 OK") if path == "/" else (b"", b"404 Not Found")
            if path.startswith("/result?"):
                self.reports.put_nowait(unquote(path.partition("?")[2]))
                status = b"204 No Content"
            writer.write(
                b"HTTP/1.1 %s\r\nContent-Type: text/html\r\nCache-Control: no-store\r\nContent-Length: %d\r\n"
                b"Connection: close\r\n\r\n%s" % (status, len(body), body)
            )
            await writer.drain()
        writer.close()

    async def wait_for(self, predicate: str) -> str:
        """The first report that starts with `predicate`; fails with the last report after a timeout."""
        last = ""
        try:
            async with asyncio.timeout(30 * UNIT):
                while not (last := await self.reports.get()).startswith(predicate):
                    pass
        except TimeoutError:
            pytest.fail(f"the page never showed {predicate!r}; it showed {last!r}")
        return last


async def _open_guide_page(allowed_origins: bool, tmp_path: Path, expected: str) -> str:
    example = _page_example()
    bus_port = free_port()
    page = example.code.replace(ADDRESSES[0], f"localhost:{bus_port}").encode() + REPORTER
    async with PageServer(page) as pages:
        origin = f"http://localhost:{pages.port}"
        server = Server(address=f"localhost:{bus_port}", allowed_origins=(origin,) if allowed_origins else ())
        async with server, headless_chromium(f"{origin}/", tmp_path / "profile"):
            return await pages.wait_for(expected)


async def test_the_page_of_another_origin_works_with_allowed_origins(tmp_path: Path) -> None:
    expected = _page_example().output
    assert expected is not None
    assert await _open_guide_page(True, tmp_path, expected) == expected


async def test_without_allowed_origins_the_page_is_refused_as_the_guide_says(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shown = await _open_guide_page(False, tmp_path, "ConnectionFailed: ")
    assert shown.endswith("\n") and shown.count("\n") == 1, shown
    assert any("add it to --allowed-origins" in record.getMessage() for record in caplog.records), caplog.text
