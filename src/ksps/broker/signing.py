"""Signed `server-to-server` frames (spec §12.1): an HMAC over the frame, a time window, no replays.

A relaying server proves it knows the shared peer secret without sending it: it adds `ts` (Unix seconds),
`nonce` (random, hex) and `sig` (hex HMAC-SHA256 of :func:`signed_bytes`) to the frame. The receiver
recomputes the HMAC, compares in constant time, refuses a `ts` outside its window and a nonce it has already
seen. The clock is passed in, so this module stays sans-I/O.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["PeerVerifier", "SignedFields", "sign", "signed_bytes"]

#: First field of the signed bytes: changing the format changes this (spec §12.1).
_VERSION = b"ksps-s2s-v1"


@dataclass(frozen=True)
class SignedFields:
    """The members of a `server-to-server` frame that the signature covers (spec §12.1)."""

    ts: int
    nonce: str
    to: str
    id: str
    #: The exact bytes of the frame's `data` member, as sent and as received.
    data: bytes


def _netstring(value: bytes) -> bytes:
    # `<length>:<bytes>,` - unambiguous whatever the bytes contain, and easy to rebuild in any language.
    return str(len(value)).encode() + b":" + value + b","


def signed_bytes(fields: SignedFields) -> bytes:
    """The canonical byte string the HMAC is computed over (spec §12.1)."""
    parts = (_VERSION, str(fields.ts).encode(), fields.nonce.encode(), fields.to.encode(), fields.id.encode())
    return b"".join(_netstring(part) for part in parts) + _netstring(fields.data)


def sign(secret: str, fields: SignedFields) -> str:
    """The `sig` member: hex HMAC-SHA256 of :func:`signed_bytes` under `secret`."""
    return hmac.new(secret.encode(), signed_bytes(fields), hashlib.sha256).hexdigest()


class PeerVerifier:
    """Checks the signature, time window and nonce of inbound `server-to-server` frames.

    Seen nonces are kept for twice the window (a frame with a valid `ts` cannot be valid longer), in
    arrival order, so expired ones are dropped from the front; at most `max_nonces` are kept, and a frame
    that would need more is refused rather than risking a replay.
    """

    def __init__(
        self, secret: str, *, clock: Callable[[], float], window: float = 30.0, max_nonces: int = 100_000
    ) -> None:
        self._secret = secret.encode()
        self._clock = clock
        self.window = window
        self._max_nonces = max_nonces
        #: nonce -> time after which it can be forgotten.
        self._seen: OrderedDict[str, float] = OrderedDict()

    def check(self, fields: SignedFields, sig: str) -> str:
        """'' when the frame is authentic and fresh; otherwise why not (for the server log, not the peer)."""
        if not self._secret:
            return "no peer secret configured"
        expected = hmac.new(self._secret, signed_bytes(fields), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), sig.encode()):
            return "bad signature"
        now = self._clock()
        if abs(now - fields.ts) > self.window:
            return f"timestamp {fields.ts} outside the ±{self.window:g} s window"
        self._forget_expired(now)
        if fields.nonce in self._seen:
            return "replayed nonce"
        if len(self._seen) >= self._max_nonces:
            return f"too many frames within the window (max {self._max_nonces})"
        self._seen[fields.nonce] = now + 2 * self.window
        return ""

    def _forget_expired(self, now: float) -> None:
        seen = self._seen
        while seen:
            nonce, until = next(iter(seen.items()))
            if until > now:
                break
            del seen[nonce]
