"""The settings a :class:`~ksps.client.core.ClientSession` works with: durations in milliseconds.

The asyncio client builds them from its options (seconds); trace vectors give them as JSON with the
vocabulary's snake_case option names (spec/traces/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

from ksps.protocol.vocabulary import ClientDefaults

__all__ = ["OverflowPolicy", "SessionConfig"]

#: What happens to a publication made while disconnected when the offline queue is full:
#: `"drop_oldest"` drops the oldest queued one, `"drop_newest"` drops the new one, `"raise"` refuses the new
#: one (the asyncio client raises :class:`~ksps.errors.OfflineQueueFull`). Every overflow is reported.
OverflowPolicy = Literal["drop_oldest", "drop_newest", "raise"]


def _ms(seconds: float) -> int:
    """The vocabulary's defaults are in Python units (seconds); the session counts milliseconds."""
    return round(seconds * 1000)


@dataclass(frozen=True, kw_only=True)
class SessionConfig:
    """What the session needs to know; see :class:`~ksps.client.ClientOptions` for each option's meaning."""

    #: The client ID sent as `from` (spec §3.1).
    id: str
    #: `host:port` of the server.
    address: str
    #: Path of the WebSocket endpoint.
    path: str = "/ws/bus"
    #: `wss://` instead of `ws://`.
    secure: bool = False
    #: The credential sent as `ping.token` (spec §10); the driver may replace it (GetToken).
    token: str = ""
    #: True when the driver can fetch new tokens: an auth refusal is then retried instead of final.
    refreshable_token: bool = False
    #: When the FIRST connection fails: keep trying (True) or close (False).
    autorestart: bool = False
    #: Re-establish a lost connection (never after 4001).
    reconnect: bool = True
    #: Milliseconds: first bound of the reconnect delay (full jitter: a random delay in [0, bound]).
    reconnect_initial_delay: int = _ms(ClientDefaults.RECONNECT_INITIAL_DELAY)
    #: Growth of the bound after each attempt.
    reconnect_factor: float = ClientDefaults.RECONNECT_FACTOR
    #: Milliseconds: largest bound.
    reconnect_max_delay: int = _ms(ClientDefaults.RECONNECT_MAX_DELAY)
    #: Publications kept while disconnected.
    offline_queue_size: int = ClientDefaults.OFFLINE_QUEUE_SIZE
    #: See :data:`OverflowPolicy`.
    offline_queue_policy: OverflowPolicy = "drop_oldest"
    #: Milliseconds allowed for opening a connection, and again for registering and restoring it.
    connect_timeout: int = _ms(ClientDefaults.CONNECT_TIMEOUT)

    def url(self) -> str:
        """The WebSocket URL, `scheme://address + path` as in the original clients."""
        return ("wss://" if self.secure else "ws://") + self.address + self.path

    @classmethod
    def from_json(cls, options: dict[str, Any]) -> SessionConfig:
        """The settings of a trace vector's `options`; unknown names raise TypeError."""
        known = {field.name for field in fields(cls)}
        unknown = set(options) - known
        if unknown:
            raise TypeError(f"unknown session options {sorted(unknown)}")
        return cls(**options)
