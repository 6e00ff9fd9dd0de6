"""Plain HTTP answers besides the WebSocket: health probes and `/metrics` (spec §1.5, docs/observability.md).

They are served by the upgrade router on the server's own port, or, with `metrics_address`, by the small
HTTP/1.1 server here on an address of their own (typically private to the monitoring network).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus

__all__ = ["Page", "PageServer", "text"]

log = logging.getLogger("ksps.server")

#: Longest request head the page server reads (request line and headers).
_MAX_HEAD = 8192


@dataclass(frozen=True)
class Page:
    """One HTTP answer: status, body and its content type."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    #: Extra response headers (`WWW-Authenticate`, `Content-Security-Policy`).
    headers: Mapping[str, str] = field(default_factory=dict)


#: A path's answer, computed per request.
PageSource = Callable[[], Page]


def text(status: int, body: str) -> Page:
    """A plain-text page."""
    return Page(status, body.encode())


class PageServer:
    """A minimal HTTP/1.1 server answering GET requests for `pages` (one request per connection)."""

    def __init__(self, pages: Mapping[str, PageSource], *, timeout: float) -> None:
        self._pages = pages
        self._timeout = timeout
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int, *, reuse_port: bool = False) -> int:
        """Listen on `host:port`; returns the port bound (useful with 0)."""
        self._server = await asyncio.start_server(
            self._serve, host, port, reuse_address=True, reuse_port=reuse_port or None, limit=_MAX_HEAD
        )
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening and wait for the requests being answered."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self._timeout)
            writer.write(self._answer(head))
            await asyncio.wait_for(writer.drain(), self._timeout)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError, ValueError):
            pass  # a bad or slow request gets no answer: the connection is simply closed
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), self._timeout)

    def _answer(self, head: bytes) -> bytes:
        method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
        path = rest.partition(" ")[0].partition("?")[0]
        source = self._pages.get(path)
        if method not in ("GET", "HEAD"):
            page = text(HTTPStatus.METHOD_NOT_ALLOWED, "Method Not Allowed")
        elif source is None:
            page = text(HTTPStatus.NOT_FOUND, "Not Found")
        else:
            page = source()
        status = HTTPStatus(page.status)
        body = b"" if method == "HEAD" else page.body
        return (
            f"HTTP/1.1 {status.value} {status.phrase}\r\n"
            f"Content-Type: {page.content_type}\r\n"
            f"Content-Length: {len(page.body)}\r\n"
            "Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
        ).encode("latin-1") + body
