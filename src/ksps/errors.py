"""The exceptions ksps raises.

Every exception ksps raises derives from :class:`KspsError`::

    KspsError
    ├── ProtocolError          a frame that breaks spec/protocol.md (server and client)
    ├── ConnectionFailed       a client could not connect (first connection, no auto-restart)
    ├── ClientClosed           a call on a client that was closed
    │   └── ConnectionReplaced another connection registered the client's ID (close code 4001)
    ├── AuthError              the server refused the client's credentials (close 4003/4004, HTTP 401)
    ├── OfflineQueueFull       a publish made while offline did not fit the bounded queue
    ├── CallbackError          a user callback (subscription, OnId) raised; reported to OnError
    ├── NotConnected           an operation that needs the server (fetch_status, presence) while disconnected
    └── ListenError            the server could not start: its socket could not be opened (address in use)
        └── ConfigError        settings that cannot work (each problem listed), raised before anything starts

The client's ``ServerErrorReply`` (an ``error`` frame answering a request) lives with the client. Each name has
one meaning in every ksps client: docs/api-names.md, generated from spec/vocabulary.toml. ``ServerError``, the
old name of :class:`ListenError`, is a deprecated alias of it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any, NamedTuple

__all__ = [
    "AuthError",
    "CallbackError",
    "ClientClosed",
    "ConfigError",
    "ConfigProblem",
    "ConnectionFailed",
    "ConnectionReplaced",
    "KspsError",
    "ListenError",
    "NotConnected",
    "OfflineQueueFull",
    "ProtocolError",
]


class KspsError(Exception):
    """Root of every exception raised by ksps."""


class ProtocolError(KspsError):
    """A frame does not follow spec/protocol.md."""


class ConnectionFailed(KspsError):
    """A client could not reach the server and was not asked to keep trying."""


class AuthError(KspsError):
    """The server refused the client's credentials (spec §10): close code 4003 (bad token, ID not allowed),
    4004 (token expired) or HTTP 401 at the upgrade.

    A client with a `GetToken` callback gets a new token and tries again (at once after 4004, with backoff
    after 4003/401); without one, the client closes for good and reports this error, like close 4001.
    `code` is the close code, or 401 for the HTTP refusal.
    """

    def __init__(self, message: str, *, code: int) -> None:
        super().__init__(message)
        #: The close code (4003, 4004) or the HTTP status (401) that refused the credentials.
        self.code = code


class ClientClosed(KspsError):
    """The client was closed; create a new one to go on."""


class ConnectionReplaced(ClientClosed):
    """Another connection registered this client's ID; the client closed for good (spec §3.3).

    A kind of :class:`ClientClosed`, as in every ksps client: `except ClientClosed` catches it too.
    """


class OfflineQueueFull(KspsError):
    """A publish made while disconnected did not fit the client's bounded offline queue."""


class CallbackError(KspsError):
    """A subscription callback or the OnId handler raised; reported to the client's OnError hook.

    The publisher of a message with acknowledgement gets a failed ack with the error's text (spec §6.1).
    The exception the callback raised is `__cause__`.
    """

    def __init__(self, topic: str, cause: BaseException) -> None:
        where = f"the callback of topic {topic!r}" if topic else "the OnId handler"
        super().__init__(f"{where} failed: {cause}")
        #: The topic of the delivery, "" for a direct message to the OnId handler.
        self.topic = topic
        self.__cause__ = cause


class NotConnected(KspsError):
    """An operation that needs the server (an ack handle's `fetch_status`, the client's `presence`) was made
    while the client was disconnected. Try again once it reconnected (the OnConnect hook tells when)."""


class ListenError(KspsError):
    """The server could not start: its listening socket could not be opened (address in use, permission
    denied, unknown host), or (:class:`ConfigError`) its settings cannot work."""


class ConfigProblem(NamedTuple):
    """One thing wrong with the settings: which setting (a `ServerConfig` field name) and what is wrong."""

    setting: str
    message: str
    #: True when the problem is a file that cannot be read or loaded (TLS, JWT keys, the config file).
    file: bool = False


class ConfigError(ListenError):
    """The settings cannot work; raised by `ServerConfig.validate()` and `Server(...)` before anything starts.

    `problems` lists every problem found, not only the first, so one fix-and-retry round is enough.
    """

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        lines = "".join(f"\n  {problem.setting}: {problem.message}" for problem in self.problems)
        super().__init__(f"invalid configuration:{lines}")


def __getattr__(name: str) -> Any:
    # `ServerError` was the name of ListenError; kept as a deprecated alias so old `except` clauses work.
    if name == "ServerError":
        warnings.warn("ksps.errors.ServerError is deprecated: use ListenError", DeprecationWarning, stacklevel=2)
        return ListenError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
