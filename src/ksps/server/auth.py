"""The I/O side of authentication (spec §10): JWT verification, the upgrade's token, registration deadlines.

Tokens are verified with PyJWT, never by hand. The rules of what a verified identity may do live in the
sans-I/O broker (`broker/permissions.py`, `broker/registration.py`); this module reads keys from files,
reads the token from the upgrade request, and keeps the one timer of the registration deadline.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from ..broker.permissions import Identity
from ..broker.registration import AuthPolicy, InvalidToken
from ..errors import ListenError
from ..protocol import CloseCodes, CloseReasons
from .config import ServerConfig
from .upgrade import Middleware, Next, Reject, UpgradeRequest

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["RegistrationDeadlines", "TokenVerifier", "auth_policy", "token_middleware"]

#: Algorithms a key file may verify; a key's type fixes its algorithm (no algorithm confusion, RFC 8725 §3.1).
_ASYMMETRIC = frozenset({"RS256", "ES256"})


class TokenVerifier:
    """Turns a JWT into an :class:`Identity` (spec §10.2), or raises `InvalidToken` with the reason."""

    def __init__(
        self,
        *,
        secret: str = "",
        public_key_pem: bytes = b"",
        jwks_json: str = "",
        audience: str = "",
        issuer: str = "",
        leeway: float = 0.0,
        max_id_bytes: int = 256,
    ) -> None:
        #: algorithm -> key, for tokens without a `kid` found in the JWKS.
        self._keys: dict[str, Any] = {}
        self._jwks: dict[str, jwt.PyJWK] = {}
        if secret:
            self._keys["HS256"] = secret
        if public_key_pem:
            key = load_pem_public_key(public_key_pem)
            if isinstance(key, RSAPublicKey):
                self._keys["RS256"] = key
            elif isinstance(key, EllipticCurvePublicKey):
                self._keys["ES256"] = key
            else:
                raise ListenError("the JWT public key must be an RSA or EC (P-256) key")
        if jwks_json:
            for jwk in jwt.PyJWKSet.from_json(jwks_json).keys:
                if jwk.algorithm_name in _ASYMMETRIC:
                    self._jwks[jwk.key_id or ""] = jwk
        if not (self._keys or self._jwks):
            raise ListenError("a TokenVerifier needs a secret, a public key or a JWKS")
        self._audience = audience or None
        self._issuer = issuer or None
        self._leeway = leeway
        self._max_id_bytes = max_id_bytes

    @classmethod
    def from_config(cls, config: ServerConfig) -> TokenVerifier | None:
        """The verifier of `--jwt-secret` / `--jwt-public-key` / `--jwt-jwks`; None when none is set."""
        if not (config.jwt_secret or config.jwt_public_key or config.jwt_jwks):
            return None
        try:
            pem = Path(config.jwt_public_key).read_bytes() if config.jwt_public_key else b""
            jwks = Path(config.jwt_jwks).read_text() if config.jwt_jwks else ""
            return cls(
                secret=config.jwt_secret,
                public_key_pem=pem,
                jwks_json=jwks,
                audience=config.jwt_audience,
                issuer=config.jwt_issuer,
                leeway=config.jwt_leeway,
                max_id_bytes=config.max_id_bytes,
            )
        except (OSError, ValueError, jwt.PyJWKError, jwt.PyJWKSetError) as exc:
            # Name the file, never the key material.
            raise ListenError(f"cannot load the JWT key: {exc}") from exc

    def verify(self, token: str) -> Identity:
        """The identity of a valid token; raises `InvalidToken` for anything else (spec §10.2)."""
        try:
            header = jwt.get_unverified_header(token)
            algorithm = header.get("alg")
            key: Any = self._jwks.get(header.get("kid") or "")
            if key is None:
                key = self._keys.get(algorithm) if isinstance(algorithm, str) else None
            elif key.algorithm_name != algorithm:
                key = None
            if key is None:
                raise InvalidToken(f"no key for algorithm {str(algorithm)[:16]!r}")
            claims = jwt.decode(
                token,
                key,
                algorithms=[str(algorithm)],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        return self._identity(claims)

    def _identity(self, claims: dict[str, Any]) -> Identity:
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject or len(subject.encode()) > self._max_id_bytes:
            raise InvalidToken("sub must be a client ID")
        expiry = claims["exp"]
        if not isinstance(expiry, int | float) or not math.isfinite(expiry):
            raise InvalidToken("exp must be a number")
        for name in ("relay", "ack"):
            if claims.get(name) is not None and not isinstance(claims[name], bool):
                raise InvalidToken(f"{name} must be true or false")
        try:
            return Identity(
                id=subject,
                subscribe=claims.get("subscribe"),
                publish=claims.get("publish"),
                direct=claims.get("direct"),
                history=claims.get("history"),
                relay=claims.get("relay"),
                ack=claims.get("ack"),
                # Closed when `exp` (and the leeway allowed at verification) has passed (spec §10.5).
                expires_at=float(expiry) + self._leeway,
            )
        except TypeError:
            raise InvalidToken("subscribe, publish, direct and history must be lists of strings") from None


def upgrade_token(request: UpgradeRequest) -> str | None:
    """The token of an upgrade request: `Authorization: Bearer`, else the `token` query parameter."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    values = request.query.get("token")
    return values[0] if values else None


def token_middleware(verifier: TokenVerifier) -> Middleware:
    """The middleware of the JWT options: a token on the upgrade sets `request.identity`, or refuses with 401."""

    def middleware(request: UpgradeRequest, call_next: Next) -> Reject | None:
        token = upgrade_token(request)
        if token is not None:
            try:
                request.identity = verifier.verify(token)
            except InvalidToken as exc:
                return Reject(401, CloseReasons.INVALID_TOKEN.format(reason=exc))
        return call_next(request)

    return middleware


def auth_policy(config: ServerConfig, verifier: TokenVerifier | None) -> AuthPolicy:
    """The broker's AuthPolicy from the settings; raises ListenError for a value it does not know."""
    anonymous = config.anonymous or ("deny" if verifier is not None else "allow")
    for name, value, allowed in (
        ("anonymous", anonymous, ("allow", "deny")),
        ("default_permissions", config.default_permissions, ("allow", "deny")),
        ("id_takeover", config.id_takeover, ("replace", "reject")),
    ):
        if value not in allowed:
            raise ListenError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return AuthPolicy(
        default_allow=config.default_permissions == "allow",
        anonymous=anonymous == "allow",
        takeover_replace=config.id_takeover == "replace",
        verify=verifier.verify if verifier is not None else None,
    )


class RegistrationDeadlines:
    """Closes connections that sent no `ping` in time with 4005 (spec §10.3), with one timer for all.

    Connections are kept in opening order, so their deadlines are in order too: a sweep pops the due ones
    from the front and re-arms the timer for the next.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._pending: dict[Connection, float] = {}
        self._timer: asyncio.TimerHandle | None = None

    def add(self, connection: Connection) -> None:
        """Start the deadline of a new connection."""
        if self.timeout <= 0:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        self._pending[connection] = deadline
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._sweep)

    def discard(self, connection: Connection) -> None:
        """Forget a closed connection."""
        self._pending.pop(connection, None)

    def stop(self) -> None:
        """Cancel the timer (server shutdown)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pending.clear()

    def _sweep(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        pending = self._pending
        while pending:
            connection, deadline = next(iter(pending.items()))
            if deadline > now:
                self._timer = loop.call_at(deadline, self._sweep)
                return
            del pending[connection]
            if connection.client_id is None:
                connection.close(CloseCodes.REGISTRATION_TIMEOUT, CloseReasons.REGISTRATION_TIMEOUT)
