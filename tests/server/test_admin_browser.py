"""The admin page in a real headless Chromium (docs/observability.md "Admin page"; issue 13).

Chromium opens `/admin#token=...` on a real server and is driven over the DevTools protocol: the test waits,
inside the page, until it shows a connection the test made, then until its counters and rates follow
publications the test sends, and takes a screenshot (`KSPS_ADMIN_SCREENSHOT=docs/images/admin.png` keeps it;
that is how the committed one was made).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from ksps import Server
from tests.browser import headless_chromium, requires_chromium

from .conftest import Connect
from .http_pages import http_get
from .wire import WireClient, units

pytestmark = requires_chromium

TOKEN = "admin-token-for-the-browser-test"


class DevToolsError(Exception):
    """An error answer of the DevTools protocol."""


class DevTools:
    """One page of a headless Chromium, over the DevTools protocol."""

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self._next = 0

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command and return its result (events in between are skipped)."""
        self._next += 1
        number = self._next
        await self._socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            answer = json.loads(await asyncio.wait_for(self._socket.recv(), units(20)))
            if answer.get("id") == number:
                if "error" in answer:
                    raise DevToolsError(answer["error"].get("message", str(answer)))
                result: dict[str, Any] = answer["result"]
                return result

    async def wait_for(self, condition: str) -> str:
        """Wait, inside the page, until the JavaScript `condition` holds; returns the page's text then."""
        script = (
            "new Promise((resolve) => { const check = () => { "
            f"if ({condition}) resolve(document.body.innerText); else setTimeout(check, 20); }}; check(); }})"
        )
        return await asyncio.wait_for(self._evaluate_in_page(script), units(20))

    async def _evaluate_in_page(self, script: str) -> str:
        while True:
            try:
                result = await self.call("Runtime.evaluate", expression=script, awaitPromise=True, returnByValue=True)
            except DevToolsError as exc:
                if "context" not in str(exc):  # the page was still loading: evaluate in the loaded one
                    raise
                continue
            if "exceptionDetails" in result:  # before the body exists (about:blank, or loading): try again
                continue
            text: str = result["result"]["value"]
            return text

    async def number(self, element_id: str) -> float:
        """The number an element of the page shows."""
        expression = f"Number(document.getElementById({element_id!r}).textContent)"
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return float(result["result"]["value"])


@contextlib.asynccontextmanager
async def chromium(url: str, profile: Path) -> AsyncIterator[DevTools]:
    """Open `url` in headless Chromium and attach to its page."""
    flags = ("--hide-scrollbars", "--window-size=1280,860", "--remote-debugging-port=0")
    async with headless_chromium(url, profile, *flags, stderr=asyncio.subprocess.PIPE) as process:
        assert process.stderr is not None
        port = await asyncio.wait_for(_devtools_port(process.stderr), units(30))
        targets: list[dict[str, Any]] = []
        while not any(t["type"] == "page" and t["url"].startswith("http") for t in targets):
            # Chromium's DevTools HTTP answers only once the browser is up: seconds on a busy machine.
            _, _, body = await http_get(port, "/json/list", timeout=units(30))
            targets = json.loads(body)
        page = next(t for t in targets if t["type"] == "page" and t["url"].startswith("http"))
        async with connect(page["webSocketDebuggerUrl"], max_size=None) as socket:
            yield DevTools(socket)


async def _devtools_port(stderr: asyncio.StreamReader) -> int:
    # Chromium says where it listens: "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/...".
    while line := await stderr.readline():
        text = line.decode(errors="replace")
        if "DevTools listening on ws://" in text:
            return int(text.split("ws://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    raise AssertionError("Chromium exited without opening DevTools")


@pytest.mark.server_options(admin_token=TOKEN)
async def test_the_admin_page_shows_connections_and_live_rates(
    server: Server, connect: Connect, tmp_path: Path
) -> None:
    watcher, publisher = await connect("dashboard-watcher"), await connect("dashboard-publisher")
    await watcher.subscribe("orders")
    await watcher.subscribe("prices")
    with pytest.raises(InvalidStatus):  # a refusal for the page's table
        await WireClient.open(server.url, origin="http://evil.example")

    async with chromium(f"http://127.0.0.1:{server.port}/admin#token={TOKEN}", tmp_path / "profile") as page:
        text = await page.wait_for("document.body.innerText.includes('dashboard-watcher')")
        assert "dashboard-publisher" in text and "orders" in text and "origin" in text
        # Messages flow: the page's totals follow, and its latest rate is above zero. A few rounds, so the
        # sparklines have a shape in the screenshot.
        for size in (5, 20, 10, 30):
            before = await page.number("published")
            for n in range(size):
                await publisher.publish("orders", n)
                await watcher.expect("publish", topic="orders")
            await page.wait_for(
                f"Number(document.getElementById('published').textContent) >= {before + size} && "
                "Number(document.getElementById('rate-published').textContent) > 0"
            )
        assert await page.number("delivered") >= 65
        shot = await page.call("Page.captureScreenshot", format="png")
    image = base64.b64decode(shot["data"])
    path = tmp_path / "admin.png"
    await asyncio.to_thread(path.write_bytes, image)
    assert path.stat().st_size > 1000 and image.startswith(b"\x89PNG")
    if keep := os.environ.get("KSPS_ADMIN_SCREENSHOT"):
        await asyncio.to_thread(Path(keep).write_bytes, image)
