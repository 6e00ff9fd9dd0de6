"""The public server: lifecycle (`Run`, `start`/`stop`, `async with`) and the in-process verbs.

The verbs have the names of the clients' (`Subscribe`, `Publish`, `PublishWithAck`, ...) with snake_case
aliases. Server code and WebSocket clients share one broker, so they see each other's publications.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from typing import Any

import msgspec

from ..broker import Message, RelayTarget, ServerCallback, parse_relay_address
from ..broker.permissions import AuthorizeHook
from ..broker.presence import MemberList
from ..errors import ServerError
from ..protocol.presence import PresenceInfo
from .ack import Ack
from .config import ServerConfig
from .core import ServerCore
from .upgrade import Middleware, UpgradeHook

__all__ = ["Server"]

_encode = msgspec.json.encode


def _raw(data: Any) -> msgspec.Raw:
    try:
        return msgspec.Raw(_encode(data))
    except (TypeError, msgspec.EncodeError) as exc:
        raise ServerError(f"data is not JSON-serialisable: {exc}") from exc


class Server(ServerCore):
    """A ksps server.

    Example::

        server = Server(address="localhost:9313")
        unsub = server.Subscribe("events", lambda msg, unsub: print(msg["data"]))
        server.Run()            # blocks; or `async with server:` inside a running loop

    Every keyword of :class:`ServerConfig` is accepted.
    """

    def __init__(self, config: ServerConfig | None = None, **options: Any) -> None:
        if config is None:
            config = ServerConfig(**options)
        elif options:
            raise TypeError("give either a ServerConfig or keyword options, not both")
        super().__init__(config)

    # -- lifecycle -------------------------------------------------------------------------------------

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

    def Run(self, *, ready: Callable[[], object] | None = None) -> None:
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

    @property
    def ID(self) -> str:
        """The server's own client ID: direct messages to it reach the `OnID` handler."""
        return self.id

    def OnUpgradeWS(self, hook: UpgradeHook) -> None:
        """Decide on each WebSocket upgrade; a False answer refuses it with 403."""
        self.router.hook = hook

    def Use(self, middleware: Middleware) -> None:
        """Add a middleware around the upgrade; the first added runs first."""
        self.router.middleware.append(middleware)

    def Authorize(self, hook: AuthorizeHook | None) -> None:
        """Decide per operation, after the identity's claims allowed it (spec §10.4); None removes the hook.

        `hook(action, identity, target) -> bool` runs on the read loop for every `subscribe`, `publish`,
        `direct_message`, `publish_with_ack`, `publish_to_id_with_ack` and `publish_to_server` of a client:
        keep it quick and synchronous. `identity` is None for anonymous connections; `target` is the topic,
        the target client ID, or the server address. False (or an exception) refuses with an `error` frame
        of code `forbidden`. The in-process verbs of this class are trusted and never asked about.
        """
        self.handler.gate.authorize = hook

    def OnID(self, handler: Callable[[Message], Any]) -> None:
        """Receive direct messages sent to the server's ID (replaces any previous handler)."""
        self.broker.on_id = handler

    def OnServerData(self, handler: Callable[[Message], Any]) -> None:
        """Receive data other servers relay here (handlers add up)."""
        self.handler.on_server_data.append(handler)

    # -- verbs -----------------------------------------------------------------------------------------

    def Subscribe(self, topic: str, callback: ServerCallback) -> Callable[[], None]:
        """Call `callback(message, unsub)` for every publication on `topic`; returns the unsubscribe function.

        `message` is `{"data": payload, "from": sender}`. The callback may be a coroutine function; one that
        raises answers acknowledged publications with `success: false` and the exception text.
        """
        subscription = self.broker.subscribe_server(topic, callback)
        return lambda: self.broker.topics.remove_server(subscription)

    def Unsubscribe(self, topic: str) -> None:
        """End every server-side subscription to `topic` (WebSocket subscribers are not touched)."""
        self.broker.topics.remove_server_topic(topic)

    def Publish(self, topic: str, data: Any) -> None:
        """Publish `data` to `topic`, with the server's ID as sender."""
        self.broker.publish(topic, _raw(data), self.id)

    def PublishToID(self, client_id: str, data: Any) -> None:
        """Send `data` to one client, or to `OnID` when `client_id` is the server's ID."""
        self.broker.publish_to_id(client_id, _raw(data), self.id)

    def PublishWithAck(self, topic: str, data: Any, timeout: float = 5.0) -> Ack:
        """Publish and collect acknowledgements for up to `timeout` seconds."""
        ack = Ack(self.broker.acks)
        ack._attach(self.broker.publish_with_ack(topic, _raw(data), self.id, timeout, listener=ack._on_update))
        return ack

    def PublishToIDWithAck(self, client_id: str, data: Any, timeout: float = 5.0) -> Ack:
        """Send `data` to one client (or `OnID`) and collect its acknowledgement."""
        ack = Ack(self.broker.acks)
        request = self.broker.publish_to_id_with_ack(client_id, _raw(data), self.id, timeout, listener=ack._on_update)
        ack._attach(request)
        return ack

    async def PublishToServer(self, address: str, data: Any, secure: bool = False) -> None:
        """Relay `data` to another server (spec §8), signed with the peer secret (spec §12.1).

        Server code is trusted: any address, not only `peers`, and no cap. Raises ServerError when the relay
        fails, with the reason (unlike a client's `publish_to_server`, spec §12.2).
        """
        target = _parse(address)
        try:
            await self.relayer.send(target, _raw(data), self.federation.origin(""), secure)
        except Exception as exc:
            raise ServerError(f"failed to relay to server: {exc}") from exc

    def CountClients(self) -> int:
        """Registered WebSocket clients."""
        return self.broker.count_clients()

    def CountSubscribers(self, topic: str) -> dict[str, int]:
        """`{"internal": n, "ws": n, "total": n}` for `topic`."""
        internal, ws = self.broker.count_subscribers(topic)
        return {"internal": internal, "ws": ws, "total": internal + ws}

    async def presence(self, topic: str) -> PresenceInfo:
        """Who subscribes to `topic` on every node: the registered clients' count and smallest IDs (spec §15).

        Server-side subscribers are not members. In a cluster the other nodes are asked, so this awaits one
        Redis round trip (at most 2 seconds for a node that does not answer).
        """
        done: asyncio.Future[PresenceInfo] = asyncio.get_running_loop().create_future()

        def reply(members: MemberList) -> None:
            if not done.done():
                count, ids, truncated = members
                done.set_result(PresenceInfo(count, list(ids), truncated))  # the list may be shared (cached)

        self.broker.presence_of(topic, reply)
        return await done

    @property
    def slow_consumers_closed(self) -> int:
        """Connections closed so far because they could not keep up (close code 4002)."""
        return self.broker.slow_consumers_closed

    subscribe = Subscribe
    unsubscribe = Unsubscribe
    publish = Publish
    publish_to_id = PublishToID
    publish_with_ack = PublishWithAck
    publish_to_id_with_ack = PublishToIDWithAck
    publish_to_server = PublishToServer
    count_clients = CountClients
    count_subscribers = CountSubscribers
    on_id = OnID
    authorize = Authorize
    on_server_data = OnServerData
    on_upgrade_ws = OnUpgradeWS
    use = Use
    run = Run


def _parse(address: str) -> RelayTarget:
    try:
        return parse_relay_address(address)
    except ValueError as exc:
        raise ServerError(str(exc)) from exc
