"""The asyncio WebSocket server: a thin I/O layer around the broker."""

from ..broker.permissions import AuthorizeHook, Identity
from .ack import Ack
from .config import ServerConfig
from .server import Server
from .upgrade import Middleware, Next, Reject, UpgradeHook, UpgradeRequest

__all__ = [
    "Ack",
    "AuthorizeHook",
    "Identity",
    "Middleware",
    "Next",
    "Reject",
    "Server",
    "ServerConfig",
    "UpgradeHook",
    "UpgradeRequest",
]
