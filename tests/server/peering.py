"""Hand-made signed `server-to-server` frames, written from spec/protocol.md §12.1 (not from ksps' code)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from typing import Any


def _netstring(value: bytes) -> bytes:
    return str(len(value)).encode() + b":" + value + b","


def signature(secret: str, *, ts: int, nonce: str, to: str, id: str, data: bytes) -> str:
    """hex HMAC-SHA256 over netstrings of "ksps-s2s-v1", ts, nonce, to, id and the raw `data` (spec §12.1)."""
    message = b"".join(_netstring(part) for part in (b"ksps-s2s-v1", str(ts).encode(), nonce.encode(), to.encode()))
    message += _netstring(id.encode()) + _netstring(data)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_frame(
    secret: str,
    *,
    data: Any,
    to: str = "",
    id: str = "",
    ts: int | None = None,
    nonce: str | None = None,
    sig: str | None = None,
) -> str:
    """A `server-to-server` text frame whose `data` bytes are exactly the ones signed."""
    ts = int(time.time()) if ts is None else ts
    nonce = os.urandom(16).hex() if nonce is None else nonce
    raw = json.dumps(data, separators=(",", ":")).encode()
    head: dict[str, Any] = {"action": "server-to-server", "ts": ts, "nonce": nonce}
    if to:
        head["to"] = to
    if id:
        head["id"] = id
    head["sig"] = sig if sig is not None else signature(secret, ts=ts, nonce=nonce, to=to, id=id, data=raw)
    return json.dumps(head)[:-1] + ', "data": ' + raw.decode() + "}"
