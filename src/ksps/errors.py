"""The exceptions ksps raises.

Every exception ksps raises derives from :class:`KspsError`::

    KspsError
    ├── ProtocolError        a frame that breaks spec/protocol.md (server and client)
    ├── ConnectionFailed     a client could not connect (first connection, no auto-restart)
    ├── ConnectionReplaced   another connection registered the client's ID (close code 4001)
    ├── AuthError            the server refused the client's credentials (close 4003/4004, HTTP 401)
    ├── ClientClosed         a call on a client that was closed
    ├── OfflineQueueFull     a publish made while offline did not fit the bounded queue
    ├── NotConnected         an operation that needs the server (e.g. presence) while disconnected
    └── ServerError          the server could not start, or a server API misuse
        ├── ConfigError      settings that cannot work (each problem listed), raised before anything starts
        └── ListenError      the listening socket could not be opened (address in use, permission)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

__all__ = [
    "AuthError",
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
    "ServerError",
]


class KspsError(Exception):
    """Root of every exception raised by ksps."""


class ProtocolError(KspsError):
    """A frame does not follow spec/protocol.md."""


class ConnectionFailed(KspsError):
    """A client could not reach the server and was not asked to keep trying."""


class ConnectionReplaced(KspsError):
    """Another connection registered this client's ID; the client closed for good (spec §3.3)."""


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


class OfflineQueueFull(KspsError):
    """A publish made while disconnected did not fit the client's bounded offline queue."""


class NotConnected(KspsError):
    """An operation that needs an answer from the server (e.g. `presence`) was asked while disconnected."""


class ServerError(KspsError):
    """The server could not start or was used in a way it does not support."""


class ConfigProblem(NamedTuple):
    """One thing wrong with the settings: which setting (a `ServerConfig` field name) and what is wrong."""

    setting: str
    message: str
    #: True when the problem is a file that cannot be read or loaded (TLS, JWT keys, the config file).
    file: bool = False


class ConfigError(ServerError):
    """The settings cannot work; raised by `ServerConfig.validate()` and `Server(...)` before anything starts.

    `problems` lists every problem found, not only the first, so one fix-and-retry round is enough.
    """

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        lines = "".join(f"\n  {problem.setting}: {problem.message}" for problem in self.problems)
        super().__init__(f"invalid configuration:{lines}")


class ListenError(ServerError):
    """The server could not open its listening socket: address in use, permission denied, unknown host."""
