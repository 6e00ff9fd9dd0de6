"""ksps: real-time publish/subscribe over WebSocket, wire-compatible with the original KSPS.

The server (`Server`) and the asyncio client (`Client`) share one vocabulary, snake_case in Python
(`subscribe`, `publish`, `publish_to_id`, `publish_to_server`, `publish_with_ack`, `publish_to_id_with_ack`,
and ack handles with `wait`, `wait_any`, `get_status`, `is_complete`, `cancel`); the original KSPS spelling
(`Subscribe`, `PublishWithAck`, ...) works too. `ksps.sync` is a blocking client. See README.md and
spec/protocol.md.

Only the exceptions are imported with the package: `Server` and `Client` load on first use (PEP 562), so
`import ksps.client` (or a script that only publishes) never loads the server, and the reverse.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    AuthError,
    CallbackError,
    ClientClosed,
    ConfigError,
    ConnectionFailed,
    ConnectionReplaced,
    KspsError,
    ListenError,
    NotConnected,
    OfflineQueueFull,
    ProtocolError,
)

if TYPE_CHECKING:
    from .client import Client, ClientAck
    from .server import Ack, Identity, Middleware, Next, Reject, Server, ServerConfig, UpgradeRequest

__version__ = "0.1.0"

__all__ = [
    "Ack",
    "AuthError",
    "CallbackError",
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
    "NotConnected",
    "OfflineQueueFull",
    "ProtocolError",
    "Reject",
    "Server",
    "ServerConfig",
    "UpgradeRequest",
    "__version__",
]

#: public name -> the module that defines it, imported on first use.
_LAZY = {
    "Client": "ksps.client",
    "ClientAck": "ksps.client",
    "Ack": "ksps.server.ack",
    "Identity": "ksps.broker.permissions",
    "Middleware": "ksps.server.upgrade",
    "Next": "ksps.server.upgrade",
    "Reject": "ksps.server.upgrade",
    "Server": "ksps.server.server",
    "ServerConfig": "ksps.server.config",
    "UpgradeRequest": "ksps.server.upgrade",
}


def __getattr__(name: str) -> Any:
    if name == "ServerError":  # deprecated alias of ListenError (ksps.errors warns)
        from . import errors

        return errors.ServerError
    home = _LAZY.get(name)
    if home is None:
        raise AttributeError(f"module 'ksps' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | {"__version__"} | {n for n in globals() if n.startswith("__")})
