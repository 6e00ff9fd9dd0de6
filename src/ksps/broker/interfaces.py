"""What the broker needs from the I/O layer around it: connections, a clock, callback runners, a relay.

The broker never performs I/O itself; the server implements these small interfaces with asyncio and picows,
and tests may implement them with plain objects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from ..protocol import Frame

if TYPE_CHECKING:
    from .permissions import Access, Identity

__all__ = ["Cancellable", "Message", "Peer", "Relay", "Runner", "Scheduler"]

#: What a server-side callback receives: `{"data": payload, "from": sender}`, as in every ksps client.
Message = dict[str, Any]


class Peer(Protocol):
    """One client connection as the broker sees it."""

    #: The registered client ID, None before the first `ping` (spec §3).
    client_id: str | None
    #: True when the remote address is loopback (spec §8.3, peer authentication without a secret).
    is_loopback: bool
    #: Who the connection authenticated as; None = anonymous (spec §10).
    identity: Identity | None
    #: The compiled permissions of `identity`, checked on each operation (spec §10.4).
    access: Access

    def authenticate(self, identity: Identity | None, access: Access) -> None:
        """Adopt a (new or refreshed) identity; the I/O layer re-arms its expiry timer (spec §10.5)."""

    def send(self, frame: Frame) -> None:
        """Queue one frame for this connection. Never blocks; bounded by the I/O layer (spec §9.12)."""

    def close(self, code: int, reason: str) -> None:
        """Close the connection with a WebSocket close code (spec §7.2)."""


class Cancellable(Protocol):
    """A scheduled call that can be called off (an `asyncio.TimerHandle` is one)."""

    def cancel(self) -> None: ...


class Scheduler(Protocol):
    """A clock that calls back later (an asyncio event loop is one)."""

    def call_later(self, delay: float, callback: Callable[[], object], /) -> Cancellable: ...

    def time(self) -> float: ...


#: Called once a server-side callback finished: `(success, error_text)`.
Completion = Callable[[bool, str], None]


class Runner(Protocol):
    """Runs server-side callbacks away from the socket read loop, in order per subscription."""

    def run(self, lane: object, call: Callable[[], Any], done: Completion | None) -> None:
        """Run `call` after the calls already queued on `lane`; report its outcome to `done`."""


class Relay(Protocol):
    """Sends `server-to-server` frames to another server (spec §8)."""

    def relay(
        self, address: str, data: msgspec.Raw, origin: str, secure: bool, reply: Callable[[str | None], None]
    ) -> None:
        """Deliver `data` to the server at `address`; call `reply(None)` when sent, `reply(reason)` on failure."""
