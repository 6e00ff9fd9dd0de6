"""The listening socket: one picows protocol per accepted TCP connection (spec §13.1).

The protocols are built here rather than by `picows.ws_create_server`, which forwards to the same
constructor, for three things it does not offer:

- keepalive is one server-wide sweep (server/keepalive.py), not picows' auto-ping task per connection;
- the upgrade router sees the peer's address, so connection limits can answer HTTP 503 before the upgrade;
- the TLS handshake gets the same deadline as the WebSocket handshake (asyncio's default is 60 s);
- PINGs are not answered by picows straight to the socket but by the connection, through its send queue;
- one read takes at most `MAX_READ` bytes, so the frames one connection gets handled per loop iteration are
  bounded (picows doubles its read buffer whenever a read fills it: under a flood, reads of megabytes).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from picows import WSAutoPingStrategy, WSListener, WSTransport, WSUpgradeRequest, WSUpgradeResponseWithListener

from .config import ServerConfig

__all__ = ["MAX_READ", "BoundedReads", "Route", "Traffic", "listen"]

#: The upgrade router with the peer's address (`socket.getpeername()`): a listener, or an HTTP answer.
Route = Callable[[WSUpgradeRequest, object], "WSListener | WSUpgradeResponseWithListener"]

if TYPE_CHECKING:

    class _WSProtocol(asyncio.BufferedProtocol):
        """What we use of picows' protocol class, which its type stubs leave out."""

        transport: WSTransport

        def __init__(self, *args: object) -> None: ...

        def get_buffer(self, sizehint: int) -> memoryview: ...

else:
    # The constructor `ws_create_server` calls (picows 2.3.1, pinned in pyproject.toml).
    _WSProtocol = importlib.import_module("picows.picows").WSProtocol

#: Initial read buffer: 2 KiB grows on demand; picows' 16 KiB default is resident for every idle connection.
_READ_BUFFER = 2048
#: Most bytes read from one connection per loop iteration: about 1,000 publications of 64 bytes (spec §13.1).
MAX_READ = 64 * 1024


class Traffic:
    """Bytes read from and written to client sockets, WebSocket framing included (for `/metrics`)."""

    __slots__ = ("received", "sent")

    def __init__(self) -> None:
        self.received = 0
        self.sent = 0


class BoundedReads(_WSProtocol):
    """picows' protocol, handing asyncio at most `MAX_READ` bytes of buffer per read, counting what it reads.

    It also notes that the peer was heard from, for the keepalive sweep (server/keepalive.py): one store per
    read instead of picows' auto-ping task per connection.
    """

    __slots__ = ("heard", "traffic")

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.heard = True
        self.traffic: Traffic

    def get_buffer(self, sizehint: int) -> memoryview:
        buffer = super().get_buffer(sizehint)
        return buffer[:MAX_READ] if len(buffer) > MAX_READ else buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.traffic.received += nbytes  # once per read, not per frame
        self.heard = True
        super().buffer_updated(nbytes)


async def listen(
    route: Route, config: ServerConfig, logger: logging.LoggerAdapter[Any], traffic: Traffic
) -> asyncio.Server:
    """Listen on `config.address` and serve WebSocket upgrades through `route`; count bytes read in `traffic`."""
    loop = asyncio.get_running_loop()

    def make_protocol() -> asyncio.BufferedProtocol:
        def route_with_peer(request: WSUpgradeRequest) -> WSListener | WSUpgradeResponseWithListener:
            # Called by picows once the request has arrived, so `transport` is set.
            return route(request, protocol.transport.underlying_transport.get_extra_info("peername"))

        protocol = BoundedReads(
            None,  # host:port, client side only
            None,  # path, client side only
            False,  # is_client_side
            route_with_peer,
            logger,
            True,  # disconnect_on_exception
            config.handshake_timeout,
            False,  # enable_auto_ping: one sweep for all connections instead (server/keepalive.py)
            20.0,  # auto_ping_idle_timeout, unused
            20.0,  # auto_ping_reply_timeout, unused
            WSAutoPingStrategy.PING_WHEN_IDLE,
            False,  # enable_auto_pong: the connection answers PINGs through its send queue
            config.max_message_size,
            None,  # extra headers, client side only
            _READ_BUFFER,
        )
        protocol.traffic = traffic
        return protocol

    host, port = config.split_address()
    ssl_context = config.make_ssl_context()
    return await loop.create_server(
        make_protocol,
        host,
        port,
        ssl=ssl_context,
        # Without it a TCP connection that never sends a ClientHello is held for asyncio's 60 s.
        ssl_handshake_timeout=config.handshake_timeout if ssl_context is not None else None,
        reuse_address=True,
        reuse_port=config.reuse_port or None,
    )
