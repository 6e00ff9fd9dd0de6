"""The options of a client, their defaults, and the keyword spellings `Client.connect` accepts.

One options type, :class:`ClientOptions`; `connect` takes its fields as snake_case keywords, and the
original KSPS PascalCase spellings (`Address`, `OnId`, ...) through one table, :data:`KSPS_OPTION_NAMES`.
"""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields, replace
from typing import Any

from ksps.protocol.vocabulary import ClientDefaults

from ._tokens import TokenCallback, TokenSource, token_claims
from .core import OverflowPolicy

__all__ = [
    "KSPS_OPTION_NAMES",
    "ClientOptions",
    "Message",
    "OverflowPolicy",
    "TokenCallback",
    "default_client_id",
]

#: What a subscription callback and the OnId handler receive: `{"data": payload, "from": sender}`, plus
#: `"offset"` (the publication's place in its topic's stream) on a topic with history (spec §14.2).
Message = dict[str, Any]

Hook = Callable[..., Awaitable[Any] | Any]


def default_client_id() -> str:
    """A fresh client ID in the original Python client's format, `client_<ms>_<8 hex>`."""
    return f"client_{int(time.time() * 1000)}_{os.urandom(4).hex()}"


@dataclass(frozen=True)
class ClientOptions:
    """Everything a :class:`~ksps.client.Client` can be told. Durations are seconds.

    `Client.connect` takes each field as a snake_case keyword (`address`, `on_id`, `reconnect_max_delay`,
    ...); the KSPS PascalCase spellings of :data:`KSPS_OPTION_NAMES` (`Address`, `OnId`, `OnID`,
    `RestartEvery`, ...) are accepted too.
    """

    #: `host:port` of the server. Required.
    address: str
    #: Path of the WebSocket endpoint; may carry a query string.
    path: str = "/ws/bus"
    #: Use `wss://` instead of `ws://`.
    secure: bool = False
    #: TLS settings for `wss://` (e.g. a private CA); the system's default verification when None.
    ssl_context: ssl.SSLContext | None = None
    #: The client's ID. When empty: the `sub` claim of the token (of the first one GetToken returns), else
    #: a fresh `client_<ms>_<hex>` (spec §10).
    id: str = ""
    #: A credential (JWT) sent as `ping.token` on every (re)connection, never in the URL (spec §10).
    token: str = ""
    #: `get_token()` (sync or async) returns a fresh token: called on every (re)connection and shortly
    #: before the current token's `exp`, to refresh it in place. Takes precedence over `token`.
    get_token: TokenCallback | None = None
    #: When the FIRST connection fails: False raises ConnectionFailed from NewClient; True returns at
    #: once and keeps trying in the background.
    autorestart: bool = False
    #: Re-establish a lost connection (with backoff, forever until Close). Close code 4001 never does.
    reconnect: bool = True
    #: First reconnect delay bound; each attempt waits a random time in [0, bound] (full jitter).
    reconnect_initial_delay: float = ClientDefaults.RECONNECT_INITIAL_DELAY
    #: Growth of the bound after each failed attempt.
    reconnect_factor: float = ClientDefaults.RECONNECT_FACTOR
    #: Largest bound.
    reconnect_max_delay: float = ClientDefaults.RECONNECT_MAX_DELAY
    #: Publications kept while disconnected and sent after the next connection.
    offline_queue_size: int = ClientDefaults.OFFLINE_QUEUE_SIZE
    #: See :data:`OverflowPolicy`.
    offline_queue_policy: OverflowPolicy = "drop_oldest"
    #: Seconds without incoming data before a WebSocket PING; 0 disables keepalive.
    keepalive_interval: float = ClientDefaults.KEEPALIVE_INTERVAL
    #: Seconds to wait for the PONG before the connection is declared dead (at most keepalive_interval).
    keepalive_timeout: float = ClientDefaults.KEEPALIVE_TIMEOUT
    #: Seconds allowed for one connection attempt: TCP, WebSocket upgrade, ping/pong, restoring topics.
    connect_timeout: float = ClientDefaults.CONNECT_TIMEOUT
    #: Deliveries that may wait behind slow async callbacks before the socket read pauses.
    max_pending_deliveries: int = ClientDefaults.MAX_PENDING_DELIVERIES
    #: `OnId(message)`: direct messages to this client (spec §5, §6.4).
    on_id: Hook | None = None
    #: `OnClose()`: the client is closed for good (Close(), close code 4001, or no reconnection).
    on_close: Hook | None = None
    #: `OnConnect()`: a connection is registered and its subscriptions restored (first and every reconnect).
    on_connect: Hook | None = None
    #: `OnDisconnect(code, reason)`: a ready connection was lost; `code` is None when no close frame came.
    on_disconnect: Hook | None = None
    #: `OnError(exc)`: a failure the caller did not see as an exception (see docs of each source).
    on_error: Hook | None = None
    #: `OnJoin(topic, id)`: `id` subscribed to a topic subscribed with `join_leave=True` (spec §15.3).
    on_join: Hook | None = None
    #: `OnLeave(topic, id)`: `id` left such a topic (unsubscribed, disconnected, renamed).
    on_leave: Hook | None = None
    #: `OnSubscribed(topic, info)`: a topic with history was subscribed or restored after a reconnection;
    #: `info` is a :class:`~ksps.client.SubscriptionInfo` (position, recovering, recovered; spec §14.3).
    on_subscribed: Hook | None = None

    async def with_id(self) -> ClientOptions:
        """These options with an ID: as given, else the `sub` of the token (the first one GetToken returns),
        else a fresh `client_<ms>_<hex>`. Raises what GetToken raises."""
        if self.id:
            return self
        token = self.token
        if self.get_token is not None:
            token = await TokenSource(self.token, self.get_token).fetch()
        return replace(self, id=_subject(token) or default_client_id())

    def url(self) -> str:
        """The WebSocket URL, `scheme://address + path` as in the original clients."""
        return ("wss://" if self.secure else "ws://") + self.address + self.path

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> ClientOptions:
        """Build options from `connect` keywords in either spelling; unknown keywords raise TypeError."""
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in kwargs.items():
            name = KSPS_OPTION_NAMES.get(key, key)
            if name not in known:
                raise TypeError(f"unknown client option {key!r}")
            if name in values:
                raise TypeError(f"client option {name!r} given twice")
            values[name] = value
        if not values.get("address"):
            raise TypeError("the Address option is required, e.g. Address='localhost:9313'")
        if not values.get("id") and not values.get("get_token"):
            values["id"] = _subject(values.get("token", "")) or default_client_id()
        options = cls(**values)
        options._check()
        return options

    def _check(self) -> None:
        if self.max_pending_deliveries < 1:
            raise ValueError("max_pending_deliveries must be >= 1")
        if self.offline_queue_size < 0:
            raise ValueError("offline_queue_size must be >= 0")
        if self.offline_queue_policy not in ("drop_oldest", "drop_newest", "raise"):
            raise ValueError(f"unknown offline_queue_policy {self.offline_queue_policy!r}")
        if self.reconnect_initial_delay < 0 or self.reconnect_max_delay < 0 or self.reconnect_factor < 1:
            raise ValueError("reconnect delays must be >= 0 and reconnect_factor >= 1")
        if self.keepalive_interval < 0 or self.keepalive_timeout < 0 or self.connect_timeout <= 0:
            raise ValueError("keepalive and connect timeouts must be positive")


#: The KSPS spellings of the options: PascalCase keyword -> ClientOptions field. `RestartEvery` (the original
#: clients' fixed retry delay) sets the first reconnect delay bound; `ID` and `OnID` are the Go spellings.
KSPS_OPTION_NAMES: dict[str, str] = {
    "Address": "address", "Path": "path", "Secure": "secure", "SslContext": "ssl_context", "Id": "id", "ID": "id",
    "Token": "token", "GetToken": "get_token", "Autorestart": "autorestart", "AutoRestart": "autorestart",
    "RestartEvery": "reconnect_initial_delay", "Reconnect": "reconnect",
    "ReconnectInitialDelay": "reconnect_initial_delay", "ReconnectFactor": "reconnect_factor",
    "ReconnectMaxDelay": "reconnect_max_delay", "OfflineQueueSize": "offline_queue_size",
    "OfflineQueuePolicy": "offline_queue_policy", "KeepaliveInterval": "keepalive_interval",
    "KeepaliveTimeout": "keepalive_timeout", "ConnectTimeout": "connect_timeout",
    "MaxPendingDeliveries": "max_pending_deliveries", "OnId": "on_id", "OnID": "on_id", "OnClose": "on_close",
    "OnConnect": "on_connect", "OnDisconnect": "on_disconnect", "OnError": "on_error",
    "OnJoin": "on_join", "OnLeave": "on_leave", "OnSubscribed": "on_subscribed",
}


def _subject(token: str) -> str:
    """The `sub` claim of a JWT, the ID the server binds to it (spec §10); "" when there is none."""
    sub = token_claims(token).get("sub") if token else None
    return sub if isinstance(sub, str) else ""

