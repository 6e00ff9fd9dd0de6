"""The asyncio WebSocket server: a thin I/O layer around the broker."""

from .ack import Ack
from .config import ServerConfig
from .server import Server
from .upgrade import Middleware, Next, Reject, UpgradeHook, UpgradeRequest

__all__ = ["Ack", "Middleware", "Next", "Reject", "Server", "ServerConfig", "UpgradeHook", "UpgradeRequest"]
