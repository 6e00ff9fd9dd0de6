"""ksps: real-time publish/subscribe over WebSocket, wire-compatible with the original KSPS.

The server (`Server`) and the asyncio client (`Client`) share one vocabulary: `Subscribe`, `Publish`,
`PublishToID`, `PublishToServer`, `PublishWithAck`, `PublishToIDWithAck`, and ack handles with `Wait`,
`WaitAny`, `GetStatus`, `IsComplete`, `Cancel`. See README.md and spec/protocol.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    AuthError,
    ClientClosed,
    ConfigError,
    ConnectionFailed,
    ConnectionReplaced,
    KspsError,
    ListenError,
    OfflineQueueFull,
    ProtocolError,
    ServerError,
)

if TYPE_CHECKING:
    from .client import Client, ClientAck
    from .server import Ack, Identity, Middleware, Next, Reject, Server, ServerConfig, UpgradeRequest

# Imported on first use, so that `import ksps.client` loads no server code (issue 14; server-api owns this file
# and makes the same change, the merge keeps one).
_SERVER_NAMES = ("Ack", "Identity", "Middleware", "Next", "Reject", "Server", "ServerConfig", "UpgradeRequest")

__version__ = "0.1.0"

__all__ = [
    "Ack",
    "AuthError",
    "Client",
    "ClientAck",
    "ClientClosed",
    "ConfigError",
    "ConnectionFailed",
    "ConnectionReplaced",
    "Identity",
    "KspsError",
    "ListenError",
    "Middleware",
    "Next",
    "OfflineQueueFull",
    "ProtocolError",
    "Reject",
    "Server",
    "ServerConfig",
    "ServerError",
    "UpgradeRequest",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # The client is imported on first use, so a server process never loads it (and vice versa).
    if name in ("Client", "ClientAck"):
        from . import client

        return getattr(client, name)
    if name in _SERVER_NAMES:
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module 'ksps' has no attribute {name!r}")
