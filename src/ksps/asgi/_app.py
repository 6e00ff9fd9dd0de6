"""The ASGI application: the bus at a path of a web application, on the broker of an in-process `Server`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from ..protocol import CloseCodes, CloseReasons
from ..server.hosts import AllowedHosts
from ..server.server import Server, core_of
from ..server.upgrade import Reject, UpgradeRequest
from ._connection import AsgiConnection, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from starlette.routing import WebSocketRoute

__all__ = ["ASGIApp", "websocket_route"]

log = logging.getLogger("ksps.asgi")

#: Why an app whose server has `redis_url` but was not started refuses to serve: the cluster (backplane, Redis
#: history, ID claims) is joined by `Server.start`; serving without it would silently be a lone node.
NOT_IN_CLUSTER = (
    "ksps.asgi: the server has redis_url but was not started, so it is not in the cluster (no Redis backplane, "
    "no Redis history): use ASGIApp(server, listen=True), or await server.start() before serving"
)

ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]


class _Headers(Mapping[str, str]):
    """Request headers, case-insensitive like picows' (hooks and middleware read `headers.get("Origin")`)."""

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self._items: dict[str, str] = {}
        for name, value in raw:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            self._items[key] = f"{self._items[key]}, {text}" if key in self._items else text

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


class ASGIApp:
    """The ksps protocol as an ASGI application, sharing the broker of `server` (docs/asgi.md).

    ::

        server = ksps.Server()
        app = ASGIApp(server)                       # uvicorn module:app  ->  ws://host:port/ws/bus

    Clients that connect here, clients of `server`'s own listener (if it was started, or with `listen=True`)
    and the in-process verbs of `server` all see each other's publications. Every upgrade goes through the
    server's middleware, upgrade hook, origin check, token verification and connection limits.

    `path`: the WebSocket path served (default: the server's `path`); None serves any path the app is given,
    for a route of a framework (`websocket_route`). `fallback`: the ASGI app for every other request
    (default: 404). `listen=True`: the lifespan startup also starts `server`'s own picows listener, and the
    shutdown stops it. Without a lifespan (or with a `fallback`, which gets the lifespan events), call
    `await app.close()` at shutdown. A server with `redis_url` joins its cluster when it starts: mounted without
    being started (no `listen=True`, no `await server.start()`), its lifespan startup fails and upgrades get 503,
    rather than serving as a lone node.
    """

    def __init__(
        self, server: Server, *, path: str | None = "", fallback: ASGI | None = None, listen: bool = False
    ) -> None:
        self.server = server
        self.path = server.config.path if path == "" else path
        self.fallback = fallback
        self.listen = listen
        self._core = core_of(server)
        config = server.config
        self._hosts = (
            AllowedHosts(config.allowed_hosts, bound_host="", port=0, secure=config.secure)
            if config.allowed_hosts
            else None
        )
        self._connections: set[AsgiConnection] = set()
        #: Set by `close`: the ASGI server may still accept sockets while it shuts down, and a client that
        #: reconnected there would be cut again at once (1012) and miss what the next server publishes.
        self._closing = False
        self._done = asyncio.Event()
        self._done.set()
        self._said_not_in_cluster = False

    def _outside_its_cluster(self) -> bool:
        """The server should be a node of a Redis cluster but was never started (so it joined none)."""
        return bool(self._core.config.redis_url) and not self._core.listening

    @property
    def connections(self) -> int:
        """WebSocket connections open through this app."""
        return len(self._connections)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket" and (self.path is None or scope["path"] == self.path):
            await self._websocket(scope, receive, send)
        elif self.fallback is not None:
            await self.fallback(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await receive()  # websocket.connect
            await _deny(scope, send, Reject(404, "Not Found"))
        elif kind == "http":
            await _http(send, 404, b"Not Found")

    async def close(self) -> None:
        """Close every connection of this app with 1000 (spec §7.2) and wait up to `shutdown_grace` for them.

        New upgrades are refused from now on (503), as the picows listener stops listening before it closes.
        """
        self._closing = True
        for connection in tuple(self._connections):
            connection.close(CloseCodes.SHUTDOWN, CloseReasons.SHUTDOWN)
        if not self._core.listening:
            self._core.broker.acks.cancel_all()  # no listener will do it: end them, owners get their answer
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._done.wait(), self._core.config.shutdown_grace)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    if self.listen:
                        await self.server.start()
                    if self._outside_its_cluster():
                        raise RuntimeError(NOT_IN_CLUSTER)
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.close()
                if self.listen:
                    await self.server.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        if self._closing:
            await _deny(scope, send, Reject(503, "server shutting down"))
            return
        if self._outside_its_cluster():  # an ASGI server without lifespan events: refuse, and say why
            if not self._said_not_in_cluster:
                self._said_not_in_cluster = True
                log.error("%s; upgrades are refused with 503", NOT_IN_CLUSTER)
            await _deny(scope, send, Reject(503, "server not started"))
            return
        core = self._core
        headers = _Headers(scope.get("headers", []))
        client = scope.get("client")
        address = core.proxies.describe(tuple(client) if client else None, core.proxies.claimed_chain(headers))[0]
        decision = self._decide(scope, headers, address)
        if isinstance(decision, Reject):
            await _deny(scope, send, decision)
            return
        await send({"type": "websocket.accept"})
        connection = AsgiConnection(core, send, address=address, identity=decision.identity)
        core.gate.opened(address)
        self._connections.add(connection)
        self._done.clear()
        try:
            await connection.serve(receive)
        finally:
            core.gate.closed(address)
            self._connections.discard(connection)
            if not self._connections:
                self._done.set()

    def _decide(self, scope: Scope, headers: _Headers, address: str) -> Reject | UpgradeRequest:
        """The upgrade's refusal, or the accepted request (with the identity a token or middleware gave it)."""
        core = self._core
        router = core.router
        # The Host check (spec §12.4) with the names given in `allowed_hosts`; without any, the web app's own
        # Host policy applies (its framework's allowed hosts), as for its pages (docs/asgi.md).
        if self._hosts is not None and not self._hosts.allows(headers.get("host")):
            router.count_refusal("host", address)
            return Reject(403, "Forbidden: host not allowed")
        if (limit := core.gate.refusal(address)) is not None:
            router.count_refusal("max_connections", address)
            return Reject(503, limit)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        request = UpgradeRequest(scope["path"], query, headers)
        refusal = router.check(request, address)
        return request if refusal is None else refusal


async def _deny(scope: Scope, send: Send, refusal: Reject) -> None:
    """Refuse an upgrade with its HTTP status where the ASGI server can send one, else with 403."""
    if "websocket.http.response" in scope.get("extensions", {}):
        headers = [(b"content-type", b"text/plain; charset=utf-8")]
        headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in refusal.headers.items()]
        await send({"type": "websocket.http.response.start", "status": refusal.status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": refusal.body.encode()})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": refusal.body})


async def _http(send: Send, status: int, body: bytes) -> None:
    start: Message = {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]}
    await send(start)
    await send({"type": "http.response.body", "body": body})


def websocket_route(server: Server, path: str | None = None, **options: Any) -> WebSocketRoute:
    """A Starlette (and FastAPI) route that serves the bus at `path` (default: the server's `path`).

    ``app.router.routes.append(websocket_route(server))``, or ``Starlette(routes=[websocket_route(server)])``.
    `options` go to :class:`ASGIApp` (`listen`).
    """
    from starlette.routing import WebSocketRoute

    return WebSocketRoute(path or server.config.path, ASGIApp(server, path=None, **options))
