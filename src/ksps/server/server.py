"""The public server: a small facade over the internal `ServerCore` (docs/architecture.md).

`Server` holds its core privately (``_core``, with the narrow ``LocalApi`` of server/local.py for the verbs
and hooks) and exposes only the lifecycle (`run`, `start`, `stop`,
`serve_forever`, ``async with``), the hooks, the in-process verbs (the clients' names: `subscribe`,
`publish`, `publish_with_ack`, ...) and a few read-only facts (`id`, `port`, `url`, ...). The broker, the
connections and the routers behind it are internal and may change in any release; the server's own modules
and the tests reach them through :func:`core_of`, never through the public surface (tests/test_exports.py
pins it). The original KSPS spelling (``Subscribe``, ``PublishToID``, ``OnID``, ``Run``, ``ID``) comes from
``KSPS_NAMES`` (src/ksps/_dialect.py). Server code and WebSocket clients share one broker, so they see each
other's publications.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import msgspec

from .._dialect import KspsSpelling
from ..broker import Message, RelayTarget, ServerCallback, parse_relay_address
from ..broker.permissions import AuthorizeHook
from ..errors import ConnectionFailed
from ..protocol.presence import PresenceInfo
from .ack import Ack
from .config import ServerConfig
from .core import ServerCore
from .history import HistoryPage
from .local import LocalApi
from .upgrade import Middleware, UpgradeHook

__all__ = ["Server", "core_of"]

_encode = msgspec.json.encode


def _raw(data: Any) -> msgspec.Raw:
    try:
        return msgspec.Raw(_encode(data))
    except (TypeError, msgspec.EncodeError) as exc:
        raise TypeError(f"data is not JSON-serialisable: {exc}") from exc


class Server(KspsSpelling):
    """A ksps server.

    Example::

        server = Server(address="localhost:9313")
        unsub = server.subscribe("events", lambda msg, unsub: print(msg["data"]))
        server.run()            # blocks; or `async with server:` inside a running loop

    Every keyword of :class:`ServerConfig` is accepted. The original KSPS names (``Subscribe``, ``Run``,
    ``PublishToID``, ...) work too, through ``KSPS_NAMES``.
    """

    KSPS_NAMES: ClassVar[Mapping[str, str]] = {
        "ID": "id",
        "Id": "id",
        "Run": "run",
        "OnUpgradeWS": "on_upgrade_ws",
        "Use": "use",
        "Authorize": "authorize",
        "OnID": "on_id",
        "OnId": "on_id",
        "OnServerData": "on_server_data",
        "Subscribe": "subscribe",
        "Unsubscribe": "unsubscribe",
        "Publish": "publish",
        "PublishToID": "publish_to_id",
        "PublishToId": "publish_to_id",
        "PublishWithAck": "publish_with_ack",
        "PublishToIDWithAck": "publish_to_id_with_ack",
        "PublishToIdWithAck": "publish_to_id_with_ack",
        "PublishToServer": "publish_to_server",
        "CountClients": "count_clients",
        "CountSubscribers": "count_subscribers",
        "Presence": "presence",
        "History": "history",
    }

    __slots__ = ("_api", "_core")

    def __init__(self, config: ServerConfig | None = None, **options: Any) -> None:
        if config is None:
            config = ServerConfig(**options)
        elif options:
            raise TypeError("give either a ServerConfig or keyword options, not both")
        self._core = ServerCore(config)
        self._api = LocalApi(self._core)

    # -- facts -----------------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The server's own client ID: direct messages to it reach the `on_id` handler."""
        return self._core.id

    @property
    def config(self) -> ServerConfig:
        """The settings the server was built with (read them; changing them has no effect)."""
        return self._core.config

    @property
    def port(self) -> int:
        """The port the server listens on (useful with port 0); RuntimeError before `start`."""
        return self._core.port

    @property
    def url(self) -> str:
        """The WebSocket URL of the bus; RuntimeError before `start`."""
        return self._core.url

    @property
    def urls(self) -> list[str]:
        """One WebSocket URL per listening socket (`localhost` may bind both 127.0.0.1 and ::1), real ports."""
        return self._core.urls

    @property
    def metrics_port(self) -> int:
        """The port of the `metrics_address` listener (useful with port 0)."""
        return self._core.metrics_port

    @property
    def ready(self) -> bool:
        """True once listening and, with `redis_url`, joined to Redis; False again while stopping."""
        return self._core.ready

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen and serve in the running event loop; returns once the socket is bound (ListenError if not)."""
        await self._core.start()

    async def stop(self) -> None:
        """Close every connection with 1000, end pending acks, wait for callbacks; idempotent."""
        await self._core.stop()

    async def __aenter__(self) -> Server:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def serve_forever(self, *, ready: Callable[[], object] | None = None) -> None:
        """Start, then serve until cancelled or until SIGINT/SIGTERM; stops gracefully.

        `ready` is called once the socket listens (`ksps serve` prints its banner there, with the real port).
        """
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        # Before start and `ready`: a signal sent as soon as the banner shows must stop the server gracefully.
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await self.start()
            if ready is not None:
                ready()
            await stop.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
            await self.stop()

    def run(self, *, ready: Callable[[], object] | None = None) -> None:
        """Serve until SIGINT or SIGTERM (blocking), then stop gracefully. Uses uvloop where installed.

        `ready` is called once the socket listens.
        """
        try:
            import uvloop
        except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
            asyncio.run(self.serve_forever(ready=ready))
        else:
            uvloop.run(self.serve_forever(ready=ready))

    # -- hooks -----------------------------------------------------------------------------------------

    def on_upgrade_ws(self, hook: UpgradeHook) -> None:
        """Decide on each WebSocket upgrade; a False answer refuses it with 403."""
        self._api.set_upgrade_hook(hook)

    def use(self, middleware: Middleware) -> None:
        """Add a middleware around the upgrade; the first added runs first."""
        self._api.add_middleware(middleware)

    def authorize(self, hook: AuthorizeHook | None) -> None:
        """Decide per operation, after the identity's claims allowed it (spec §10.4); None removes the hook.

        `hook(action, identity, target) -> bool` runs on the read loop for every `subscribe`, `publish`,
        `direct_message`, `publish_with_ack`, `publish_to_id_with_ack` and `publish_to_server` of a client:
        keep it quick and synchronous. `identity` is None for anonymous connections; `target` is the topic,
        the target client ID, or the server address. False (or an exception) refuses with an `error` frame
        of code `forbidden`. The in-process verbs of this class are trusted and never asked about.
        """
        self._api.set_authorize(hook)

    def on_id(self, handler: Callable[[Message], Any]) -> None:
        """Receive direct messages sent to the server's ID (replaces any previous handler)."""
        self._api.set_on_id(handler)

    def on_server_data(self, handler: Callable[[Message], Any]) -> None:
        """Receive data other servers relay here (handlers add up)."""
        self._api.add_on_server_data(handler)

    # -- verbs -----------------------------------------------------------------------------------------

    def subscribe(self, topic: str, callback: ServerCallback) -> Callable[[], None]:
        """Call `callback(message, unsub)` for every publication on `topic`; returns the unsubscribe function.

        `message` is `{"data": payload, "from": sender}`. The callback may be a coroutine function; one that
        raises answers acknowledged publications with `success: false` and the exception text.
        """
        return self._api.subscribe(topic, callback)

    def unsubscribe(self, topic: str) -> None:
        """End every server-side subscription to `topic` (WebSocket subscribers are not touched)."""
        self._api.unsubscribe(topic)

    def publish(self, topic: str, data: Any) -> None:
        """Publish `data` to `topic`, with the server's ID as sender."""
        self._api.publish(topic, _raw(data))

    def publish_to_id(self, client_id: str, data: Any) -> None:
        """Send `data` to one client, or to `on_id` when `client_id` is the server's ID."""
        self._api.publish_to_id(client_id, _raw(data))

    def publish_with_ack(self, topic: str, data: Any, timeout: float = 5.0) -> Ack:
        """Publish and collect acknowledgements for up to `timeout` seconds; returns the ack handle."""
        return self._api.publish_with_ack(topic, _raw(data), timeout)

    def publish_to_id_with_ack(self, client_id: str, data: Any, timeout: float = 5.0) -> Ack:
        """Send `data` to one client (or `on_id`) and collect its acknowledgement; returns the ack handle."""
        return self._api.publish_to_id_with_ack(client_id, _raw(data), timeout)

    async def publish_to_server(self, address: str, data: Any, secure: bool = False) -> None:
        """Relay `data` to another server (spec §8), signed with the peer secret (spec §12.1).

        Server code is trusted: any address, not only `peers`, and no cap. Raises ConnectionFailed when the
        relay fails, with the reason (unlike a client's `publish_to_server`, spec §12.2), ValueError for an
        address that is not `host:port/path`, and RuntimeError when no `peer_secret` is set.
        """
        target = _parse(address)
        try:
            await self._api.relay(target, _raw(data), secure)
        except RuntimeError:
            raise  # a server that cannot relay at all (no peer secret): a setup problem, not a failed relay
        except Exception as exc:
            raise ConnectionFailed(f"failed to relay to server: {exc}") from exc

    def count_clients(self) -> int:
        """Registered WebSocket clients."""
        return self._api.count_clients()

    def count_subscribers(self, topic: str) -> dict[str, int]:
        """`{"internal": n, "ws": n, "total": n}` for `topic`."""
        internal, ws = self._api.count_subscribers(topic)
        return {"internal": internal, "ws": ws, "total": internal + ws}

    async def presence(self, topic: str) -> PresenceInfo:
        """Who subscribes to `topic` on every node: the registered clients' count and smallest IDs (spec §15).

        Server-side subscribers are not members. In a cluster the other nodes are asked, so this awaits one
        Redis round trip (at most 2 seconds for a node that does not answer).
        """
        return await self._api.presence(topic)
    async def history(
        self, topic: str, since: tuple[int, str] | None = None, limit: int | None = None, reverse: bool = False
    ) -> HistoryPage:
        """The kept publications of `topic` (spec §14.4): after `since` (`(offset, epoch)`), at most `limit`
        (and at most `history_recover_max`), newest first with `reverse`. Raises ValueError when the topic
        keeps no history, ConnectionFailed when its engine cannot answer now (Redis unreachable)."""
        return await self._api.history(topic, since=since, limit=limit, reverse=reverse)

    def __repr__(self) -> str:
        return f"<ksps.Server id={self.id!r} address={self.config.address!r}>"


def core_of(server: Server) -> ServerCore:
    """The internal core behind a public `Server`: for ksps' own modules (ASGI mount) and its tests only.

    Its attributes (broker, connections, router, ...) are not part of the API and change without notice.
    """
    return server._core


def _parse(address: str) -> RelayTarget:
    try:
        return parse_relay_address(address)
    except ValueError as exc:
        raise ValueError(str(exc)) from exc
