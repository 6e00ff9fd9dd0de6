"""Start a real ksps server for tests, in-process or as a subprocess for other languages' test suites.

In Python::

    async with serve_for_tests() as server:
        url = server.url

From any language: ``python -m ksps.testing [--port N] [--server-id ID] [--path P] [--peer-secret S]
[--peers H:P,...] [--allowed-hosts H,...] [--jwt-secret S] [--jwt-leeway SECONDS] [--anonymous allow|deny]``
listens on 127.0.0.1, prints one JSON line ``{"url", "address", "port", "server_id"}`` once it accepts
connections, and stops cleanly on SIGTERM, SIGINT or when its standard input reaches end of file. It accepts
the loopback names on any port as `Host` (test suites put relays in front of it); relays need `--peer-secret`
and `--peers`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import socket
import sys
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from .server import Server
from .server.server import core_of

if TYPE_CHECKING:
    from .asgi import ASGIApp

__all__ = ["HypercornRunner", "RestartableServer", "UvicornRunner", "free_port", "main", "serve_for_tests"]


#: The `Host` values a `python -m ksps.testing` server accepts by default: loopback names, any port.
_LOOPBACK_ANY_PORT = ("127.0.0.1", "localhost", "[::1]")


#: Where Linux says its ephemeral ports are (the local ports of outgoing connections).
_EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
#: The lowest port `free_port` hands out: above the well-known and most registered service ports.
_LOWEST_TEST_PORT = 10_000
#: How many ports `free_port` tries before it falls back to port 0.
_PORT_ATTEMPTS = 64


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = (int(part) for part in _EPHEMERAL_RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default; other systems use a range inside 32768-65535 as well
    return low, high


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing is bound to right now, outside the kernel's ephemeral range.

    Why not port 0: the kernel takes it from the ephemeral range, where it also picks the local port of
    every outgoing connection. A server that a test stops and starts again on the same port (reconnection
    tests, a Redis killed and restarted) would then find its port taken, now and then, by another process's
    connection or by a client reconnecting to it (a TCP self-connect). A port below (or above) the range is
    only taken by a process that binds it, so it is drawn at random there; port 0 remains the fallback.
    """
    low, high = _ephemeral_range()
    candidates: list[int] = [*range(_LOWEST_TEST_PORT, low), *range(high + 1, 65536)]
    for port in random.sample(candidates, min(_PORT_ATTEMPTS, len(candidates))):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class UvicornRunner:
    """An ASGI `app` served by uvicorn on 127.0.0.1 in the running loop (the ASGI server target of the tests)."""

    def __init__(
        self,
        app: Any,
        port: int = 0,
        *,
        lifespan: Literal["on", "off", "auto"] = "off",
        max_size: int = 16 * 2**20,
        ping_interval: float | None = None,
        ping_timeout: float | None = None,
    ) -> None:
        import uvicorn

        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                lifespan=lifespan,
                log_level="warning",
                ws="websockets-sansio",
                ws_max_size=max_size,
                ws_ping_interval=ping_interval,
                ws_ping_timeout=ping_timeout,
            )
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 10.0) -> int:
        """Serve; the port once it listens."""
        self._task = asyncio.create_task(self.server.serve())
        async with asyncio.timeout(timeout):
            while not self.server.started:
                if self._task.done():
                    self._task.result()
                    raise RuntimeError("uvicorn stopped before it listened")
                await asyncio.sleep(0.01)  # polling a condition: uvicorn has no event for "started"
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop uvicorn (a lifespan app gets its shutdown event)."""
        self.server.should_exit = True
        if self._task is not None:
            await asyncio.wait_for(self._task, timeout)


class HypercornRunner:
    """An ASGI `app` served by hypercorn on 127.0.0.1 in the running loop, on a socket bound here (so the port is
    known at once and connections wait in its backlog until hypercorn accepts them)."""

    def __init__(self, app: Any, port: int = 0, *, max_size: int = 16 * 2**20) -> None:
        from hypercorn.config import Config

        self.app = app
        self.socket = socket.socket()
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", port))
        self.socket.listen(1024)
        self.config = Config()
        self.config.bind = [f"fd://{self.socket.fileno()}"]
        self.config.loglevel = "WARNING"
        self.config.websocket_max_message_size = max_size
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> int:
        """Serve; the port (already listening)."""
        from hypercorn.asyncio import serve

        self._task = asyncio.create_task(serve(self.app, self.config, shutdown_trigger=self._stop.wait))
        return int(self.socket.getsockname()[1])

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop hypercorn (which closes the socket it was given)."""
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, timeout)


class RestartableServer:
    """A server on 127.0.0.1 that can be stopped and started again on the same port.

    For tests of what a client does across a server restart. `configure` runs on each new `Server` before it
    starts (to set hooks); `options` are `ServerConfig` fields. `asgi="uvicorn"` or `"hypercorn"` serves the bus
    through `ksps.asgi.ASGIApp` under that ASGI server instead of the server's own listener (the second server
    target of the conformance suite; needs the `asgi` extra).
    """

    def __init__(
        self,
        configure: Callable[[Server], None] | None = None,
        *,
        asgi: Literal["uvicorn", "hypercorn"] | None = None,
        **options: Any,
    ) -> None:
        self.configure = configure
        self.options = options
        self.asgi = asgi
        self.port = 0
        self.server: Server | None = None
        self._asgi_server: UvicornRunner | HypercornRunner | None = None
        self._asgi_app: ASGIApp | None = None

    @property
    def address(self) -> str:
        """`127.0.0.1:PORT`."""
        return f"127.0.0.1:{self.port}"

    @property
    def s(self) -> Server:
        """The running server."""
        assert self.server is not None, "server not running"
        return self.server

    async def start(self) -> Self:
        """Start (again) on the same port; a free port the first time (outside the ephemeral range: free_port)."""
        if self.port == 0:
            self.port = free_port()
        options = {"shutdown_grace": 1.0, **self.options}
        server = Server(address=f"127.0.0.1:{self.port}", **options)
        if self.configure is not None:
            self.configure(server)
        if self.asgi:
            from .asgi import ASGIApp

            config = server.config
            app = self._asgi_app = ASGIApp(server)
            self._asgi_server = (
                UvicornRunner(
                    app,
                    self.port,
                    max_size=config.max_message_size,
                    ping_interval=config.keepalive_interval or None,
                    ping_timeout=config.keepalive_timeout or None,
                )
                if self.asgi == "uvicorn"
                else HypercornRunner(app, self.port, max_size=config.max_message_size)
            )
            self.server, self.port = server, await self._asgi_server.start()
            core_of(server).serve_port(self.port)
            return self
        await server.start()
        self.server, self.port = server, server.port
        return self

    async def stop(self) -> None:
        """Stop gracefully: every client connection is closed with 1000."""
        if self._asgi_server is not None and self._asgi_app is not None:
            listener, app = self._asgi_server, self._asgi_app
            self._asgi_server, self._asgi_app, self.server = None, None, None
            await app.close()  # the app's connections get 1000 first, as from the server's own listener
            await listener.stop()
        if self.server is not None:
            server, self.server = self.server, None
            await server.stop()


@contextlib.asynccontextmanager
async def serve_for_tests(port: int = 0, **options: Any) -> AsyncIterator[Server]:
    """A started server on 127.0.0.1 (by default a free port outside the ephemeral range: free_port), stopped
    on exit. Other languages' suites restart it on the same port, hence not port 0."""
    options.setdefault("address", f"127.0.0.1:{port or free_port()}")
    server = Server(**options)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def _serve(args: argparse.Namespace) -> None:
    options: dict[str, Any] = {"address": f"127.0.0.1:{args.port}", "path": args.path}
    if args.server_id:
        options["server_id"] = args.server_id
    if args.peer_secret:
        options["peer_secret"] = args.peer_secret
    # Test suites put TCP relays and front doors on other loopback ports in front of the server: loopback
    # names are its own on any port (still no other name, spec §12.4).
    options["allowed_hosts"] = _LOOPBACK_ANY_PORT
    for name in ("peers", "allowed_hosts", "allowed_origins", "trusted_proxies"):
        if value := getattr(args, name):
            options[name] = tuple(part.strip() for part in value.split(",") if part.strip())
    if args.jwt_secret:  # tokens for the clients' own auth tests (spec §10)
        options.update(jwt_secret=args.jwt_secret, jwt_leeway=args.jwt_leeway)
    if args.anonymous:
        options["anonymous"] = args.anonymous
    if args.history_size:  # history on every topic, for the clients' recovery tests (spec §14)
        options.update(history_size=args.history_size, history_ttl=args.history_ttl)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    # Handlers first: a SIGTERM sent right after the ready line must already stop gracefully.
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def wait_for_stdin_eof() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    # A daemon thread, so a process stopped by a signal does not wait for its stdin to close.
    threading.Thread(target=wait_for_stdin_eof, name="ksps-testing-stdin", daemon=True).start()
    async with serve_for_tests(**options) as server:
        ready = {"url": server.url, "address": f"127.0.0.1:{server.port}", "port": server.port, "server_id": server.id}
        print(json.dumps(ready), flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m ksps.testing``."""
    parser = argparse.ArgumentParser(prog="python -m ksps.testing", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--path", default="/ws/bus", help="WebSocket path (default: /ws/bus)")
    parser.add_argument("--server-id", default="", help="the server's own ID (default: a random UUID)")
    parser.add_argument("--peer-secret", default="", help="server-to-server shared secret")
    parser.add_argument("--peers", default="", help="host:port,... publish_to_server may relay to")
    parser.add_argument(
        "--allowed-hosts", default="", help="Host header values accepted (default: loopback names, any port)"
    )
    parser.add_argument("--allowed-origins", default="", help="browser origins accepted besides same-origin")
    parser.add_argument("--trusted-proxies", default="", help="proxy IPs/CIDRs whose forwarding headers count")
    parser.add_argument("--jwt-secret", default="", help="HS256 secret that verifies client tokens (default: none)")
    parser.add_argument(
        "--jwt-leeway", type=float, default=0.0, help="seconds of clock skew allowed on exp (default: 0)"
    )
    parser.add_argument(
        "--anonymous",
        choices=["allow", "deny"],
        default=None,
        help="whether connections without a token may register (default: the server's)",
    )
    parser.add_argument(
        "--history-size", type=int, default=0, help="publications kept per topic, every topic (default: 0, none)"
    )
    parser.add_argument(
        "--history-ttl", type=float, default=300.0, help="seconds a kept publication lives (default: 300)"
    )
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
