"""Where the client's credential comes from, and when to refresh it (spec §10).

A static `token`, or a `get_token` callback (sync or async) called on every (re)connection and shortly
before the current token's `exp`. The `exp` claim is read from the JWT payload WITHOUT verifying the
signature: the client only needs to know when the server will stop accepting the token (close 4004); the
server does the verifying.
"""

from __future__ import annotations

import base64
import inspect
import json
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ksps.errors import AuthError

__all__ = ["CLOSE_TOKEN_EXPIRED", "CLOSE_UNAUTHORIZED", "HTTP_UNAUTHORIZED", "TokenCallback", "TokenSource",
           "auth_refusal", "refresh_delay", "token_claims"]

#: Close code of a refused credential: bad or missing token, ID not allowed (spec §7.2, §10).
CLOSE_UNAUTHORIZED = 4003
#: Close code of a connection whose token expired (spec §7.2, §10).
CLOSE_TOKEN_EXPIRED = 4004
#: HTTP status of a bad token at the upgrade (spec §10).
HTTP_UNAUTHORIZED = 401

#: A token callback: `get_token()` returns the token (a str), or an awaitable of it.
TokenCallback = Callable[[], Awaitable[str] | str]

#: Seconds before `exp` at which the client refreshes a long-lived token in place.
REFRESH_LEAD = 30.0
#: Fraction of a short token's remaining life left when it is refreshed (a 10 s token: at 8 s).
REFRESH_FRACTION = 0.2


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT (its middle, base64url-encoded part), unverified; {} when it is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


def token_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT as a Unix time, or None when it has none.

    A fractional `exp` is rounded down: servers (PyJWT) compare its integer part.
    """
    exp = token_claims(token).get("exp")
    return float(math.floor(exp)) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


def auth_refusal(code: int | None, reason: str | None) -> AuthError | None:
    """The AuthError of a connection the server closed with 4003 or 4004 (spec §7.2), else None."""
    if code == CLOSE_UNAUTHORIZED:
        return AuthError(f"the server refused the credentials: {reason or 'unauthorized'}", code=code)
    if code == CLOSE_TOKEN_EXPIRED:
        return AuthError(f"the token expired: {reason or 'token expired'}", code=code)
    return None


def refresh_delay(expiry: float, now: float) -> float:
    """Seconds from `now` until a token expiring at `expiry` should be replaced: shortly before `exp`."""
    remaining = expiry - now
    return max(0.0, remaining - min(REFRESH_LEAD, remaining * REFRESH_FRACTION))


class TokenSource:
    """The client's current token, and how to get the next one."""

    def __init__(self, token: str, get_token: TokenCallback | None) -> None:
        self.current = token
        self._get_token = get_token

    @property
    def refreshable(self) -> bool:
        """True when a callback can supply new tokens (then auth refusals are retried)."""
        return self._get_token is not None

    async def fetch(self) -> str:
        """The token for the next (re)connection: a fresh one from the callback, else the static one.

        Raises what the callback raises, or TypeError when it returns something other than a str.
        """
        if self._get_token is None:
            return self.current
        token = self._get_token()
        if inspect.isawaitable(token):
            token = await token
        if not isinstance(token, str):
            raise TypeError(f"GetToken must return a str, got {type(token).__name__}")
        self.current = token
        return token

    def expiry(self) -> float | None:
        """`exp` of the current token, or None."""
        return token_expiry(self.current) if self.current else None

    def refresh_in(self) -> float | None:
        """Seconds until the current token should be refreshed in place; None when it never needs to be."""
        expiry = self.expiry()
        if self._get_token is None or expiry is None:
            return None
        return refresh_delay(expiry, time.time())
