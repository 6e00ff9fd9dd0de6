"""What the public `Server` needs from its core, and nothing more: the in-process verbs and the hook slots.

`Server` (server/server.py) is the API users see; `ServerCore` (server/core.py) owns the broker, the
connections and the routers. Between them this narrow interface is the only way the facade's verbs reach
the broker, the frame handler and the upgrade router, so those can change without touching the public API.
Payloads here are already-encoded JSON (`msgspec.Raw`); the facade encodes the user's values.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from ..broker import Message, RelayTarget, ServerCallback
from ..broker.permissions import AuthorizeHook
from ..broker.presence import MemberList
from ..protocol.presence import PresenceInfo
from .ack import Ack
from .history import HistoryPage, read_history
from .upgrade import Middleware, UpgradeHook

if TYPE_CHECKING:
    from .core import ServerCore

__all__ = ["LocalApi"]


class LocalApi:
    """The in-process side of one server: verbs with the server's ID as sender, and the hooks."""

    __slots__ = ("_core",)

    def __init__(self, core: ServerCore) -> None:
        self._core = core

    # -- verbs -------------------------------------------------------------------------------------------

    def subscribe(self, topic: str, callback: ServerCallback) -> Callable[[], None]:
        """A server-side subscription; returns the function that ends it."""
        broker = self._core.broker
        subscription = broker.subscribe_server(topic, callback)
        return lambda: broker.topics.remove_server(subscription)

    def unsubscribe(self, topic: str) -> None:
        """End every server-side subscription to `topic`."""
        self._core.broker.topics.remove_server_topic(topic)

    def publish(self, topic: str, data: msgspec.Raw) -> None:
        """Publish with the server's ID as sender."""
        core = self._core
        core.broker.publish(topic, data, core.id)

    def publish_to_id(self, client_id: str, data: msgspec.Raw) -> None:
        """Send to one client (or to `on_id`) with the server's ID as sender."""
        core = self._core
        core.broker.publish_to_id(client_id, data, core.id)

    def publish_with_ack(self, topic: str, data: msgspec.Raw, timeout: float) -> Ack:
        """Publish and follow the acknowledgements with an `Ack` handle."""
        core, broker = self._core, self._core.broker
        return Ack(
            lambda listener: broker.publish_with_ack(topic, data, core.id, timeout, listener=listener),
            cancel=broker.acks.cancel,
        )

    def publish_to_id_with_ack(self, client_id: str, data: msgspec.Raw, timeout: float) -> Ack:
        """Send to one client (or `on_id`) and follow its acknowledgement with an `Ack` handle."""
        core, broker = self._core, self._core.broker
        return Ack(
            lambda listener: broker.publish_to_id_with_ack(client_id, data, core.id, timeout, listener=listener),
            cancel=broker.acks.cancel,
        )

    async def relay(self, target: RelayTarget, data: msgspec.Raw, secure: bool) -> None:
        """Send a signed `server-to-server` frame to `target` (spec §8, §12.1); raises on failure."""
        core = self._core
        await core.relayer.send(target, data, core.federation.origin(""), secure)

    def count_clients(self) -> int:
        """Registered WebSocket clients."""
        return self._core.broker.count_clients()

    def count_subscribers(self, topic: str) -> tuple[int, int]:
        """(server-side, WebSocket) subscribers of `topic`."""
        return self._core.broker.count_subscribers(topic)

    async def presence(self, topic: str) -> PresenceInfo:
        """The registered client subscribers of `topic` on every node (spec §15.2); asks the cluster if any."""
        done: asyncio.Future[PresenceInfo] = asyncio.get_running_loop().create_future()

        def reply(members: MemberList) -> None:
            if not done.done():
                count, ids, truncated = members
                done.set_result(PresenceInfo(count, list(ids), truncated))  # the list may be shared (cached)

        self._core.broker.presence_of(topic, reply)
        return await done
    async def history(
        self, topic: str, *, since: tuple[int, str] | None, limit: int | None, reverse: bool
    ) -> HistoryPage:
        """`topic`'s kept publications, as a client's `history` request reads them (spec §14.4)."""
        return await read_history(self._core.broker.history, topic, since=since, limit=limit, reverse=reverse)

    # -- hooks -------------------------------------------------------------------------------------------

    def set_upgrade_hook(self, hook: UpgradeHook) -> None:
        """The hook that decides on each upgrade."""
        self._core.router.hook = hook

    def add_middleware(self, middleware: Middleware) -> None:
        """One more middleware around the upgrade (after those added before)."""
        self._core.router.middleware.append(middleware)

    def set_authorize(self, hook: AuthorizeHook | None) -> None:
        """The per-operation authorization hook (spec §10.4), or None."""
        self._core.handler.gate.authorize = hook

    def set_on_id(self, handler: Callable[[Message], Any]) -> None:
        """The handler of direct messages to the server's ID."""
        self._core.broker.on_id = handler

    def add_on_server_data(self, handler: Callable[[Message], Any]) -> None:
        """One more handler of data relayed by other servers."""
        self._core.handler.on_server_data.append(handler)
