"""The options of a client, their defaults, and the keyword spellings `NewClient` accepts."""

from __future__ import annotations

import os
import re
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields, replace
from typing import Any, Literal, TypedDict

from ._tokens import TokenCallback, TokenSource, token_claims

__all__ = [
    "ClientKwargs",
    "ClientOptionKwargs",
    "ClientOptions",
    "Message",
    "OverflowPolicy",
    "TokenCallback",
    "default_client_id",
]

#: What a subscription callback and the OnId handler receive: `{"data": payload, "from": sender}`.
Message = dict[str, Any]

#: What happens to a publication made while disconnected when the offline queue is full:
#: `"drop_oldest"` drops the oldest queued one, `"drop_newest"` drops the new one, `"raise"` raises
#: :class:`~ksps.errors.OfflineQueueFull`. Every overflow is also reported to the OnError hook.
OverflowPolicy = Literal["drop_oldest", "drop_newest", "raise"]

Hook = Callable[..., Awaitable[Any] | Any]


def default_client_id() -> str:
    """A fresh client ID in the original Python client's format, `client_<ms>_<8 hex>`."""
    return f"client_{int(time.time() * 1000)}_{os.urandom(4).hex()}"


@dataclass(frozen=True)
class ClientOptions:
    """Everything a :class:`~ksps.client.Client` can be told. Durations are seconds.

    `NewClient` takes each field as a keyword, in the KSPS PascalCase spelling (`Address`, `OnId`,
    `ReconnectMaxDelay`, ...) or in snake_case (`address`, `on_id`, `reconnect_max_delay`, ...). The
    original clients' `RestartEvery` is accepted and sets `reconnect_initial_delay`; `OnID` means `OnId`.
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
    reconnect_initial_delay: float = 0.5
    #: Growth of the bound after each failed attempt.
    reconnect_factor: float = 2.0
    #: Largest bound.
    reconnect_max_delay: float = 30.0
    #: Publications kept while disconnected and sent after the next connection.
    offline_queue_size: int = 1024
    #: See :data:`OverflowPolicy`.
    offline_queue_policy: OverflowPolicy = "drop_oldest"
    #: Seconds without incoming data before a WebSocket PING; 0 disables keepalive.
    keepalive_interval: float = 20.0
    #: Seconds to wait for the PONG before the connection is declared dead (at most keepalive_interval).
    keepalive_timeout: float = 20.0
    #: Seconds allowed for one connection attempt: TCP, WebSocket upgrade, ping/pong, restoring topics.
    connect_timeout: float = 10.0
    #: Deliveries that may wait behind slow async callbacks before the socket read pauses.
    max_pending_deliveries: int = 10_000
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
        """Build options from `NewClient` keywords in either spelling; unknown keywords raise TypeError."""
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in kwargs.items():
            name = _ALIASES.get(key) or _snake(key)
            if name not in known:
                raise TypeError(f"unknown client option {key!r}")
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


# Spellings of the original clients that do not follow the PascalCase -> snake_case rule.
_ALIASES = {"Id": "id", "ID": "id", "OnID": "on_id", "RestartEvery": "reconnect_initial_delay",
            "restart_every": "reconnect_initial_delay"}


def _subject(token: str) -> str:
    """The `sub` claim of a JWT, the ID the server binds to it (spec §10); "" when there is none."""
    sub = token_claims(token).get("sub") if token else None
    return sub if isinstance(sub, str) else ""


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class ClientKwargs(TypedDict, total=False):
    """The keywords of `Client.NewClient`, in KSPS spelling; see :class:`ClientOptions` for each."""

    Address: str
    Path: str
    Secure: bool
    SslContext: ssl.SSLContext | None
    Id: str
    Token: str
    GetToken: TokenCallback | None
    Autorestart: bool
    RestartEvery: float
    Reconnect: bool
    ReconnectInitialDelay: float
    ReconnectFactor: float
    ReconnectMaxDelay: float
    OfflineQueueSize: int
    OfflineQueuePolicy: OverflowPolicy
    KeepaliveInterval: float
    KeepaliveTimeout: float
    ConnectTimeout: float
    MaxPendingDeliveries: int
    OnId: Hook | None
    OnClose: Hook | None
    OnConnect: Hook | None
    OnDisconnect: Hook | None
    OnError: Hook | None
    OnJoin: Hook | None
    OnLeave: Hook | None


class ClientOptionKwargs(TypedDict, total=False):
    """The keywords of `Client.new_client`, in snake_case; see :class:`ClientOptions` for each."""

    address: str
    path: str
    secure: bool
    ssl_context: ssl.SSLContext | None
    id: str
    token: str
    get_token: TokenCallback | None
    autorestart: bool
    reconnect: bool
    reconnect_initial_delay: float
    reconnect_factor: float
    reconnect_max_delay: float
    offline_queue_size: int
    offline_queue_policy: OverflowPolicy
    keepalive_interval: float
    keepalive_timeout: float
    connect_timeout: float
    max_pending_deliveries: int
    on_id: Hook | None
    on_close: Hook | None
    on_connect: Hook | None
    on_disconnect: Hook | None
    on_error: Hook | None
    on_join: Hook | None
    on_leave: Hook | None
