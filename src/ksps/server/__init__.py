"""The asyncio WebSocket server: a thin I/O layer around the broker.

The names below are imported on first use (PEP 562), so importing one submodule (`ksps.server.config` for the
settings of `ksps --help`) does not load picows and the broker.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: public name -> the module that defines it.
_HOMES = {
    "Ack": "ksps.server.ack",
    "AuthorizeHook": "ksps.broker.permissions",
    "Identity": "ksps.broker.permissions",
    "Middleware": "ksps.server.upgrade",
    "Next": "ksps.server.upgrade",
    "Reject": "ksps.server.upgrade",
    "Server": "ksps.server.server",
    "ServerConfig": "ksps.server.config",
    "UpgradeHook": "ksps.server.upgrade",
    "UpgradeRequest": "ksps.server.upgrade",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'ksps.server' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
