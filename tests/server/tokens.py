"""Tokens for the authentication tests (spec §10): signed with PyJWT, as an identity provider would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

#: The HS256 secret of the test servers (32 bytes: PyJWT warns below that).
SECRET = "test-secret-0123456789abcdef-0123"


def hs256(sub: str, *, expires_in: float = 60.0, secret: str = SECRET, **claims: Any) -> str:
    """An HS256 token for `sub`, valid for `expires_in` seconds, with extra claims."""
    return jwt.encode({"sub": sub, "exp": time.time() + expires_in, **claims}, secret, algorithm="HS256")


def forged_hs256(sub: str, key: bytes) -> str:
    """An HS256 token made by hand with `key` (PyJWT refuses PEM keys as HMAC secrets, attackers do not)."""

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"sub": sub, "exp": time.time() + 60}).encode())
    signature = b64(hmac.new(key, head + b"." + body, hashlib.sha256).digest())
    return (head + b"." + body + b"." + signature).decode()


class KeyPair:
    """An RSA or EC (P-256) key pair: signs tokens, and writes its public key as PEM or JWKS."""

    def __init__(self, kind: str) -> None:
        self.algorithm = "RS256" if kind == "rsa" else "ES256"
        self.private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if kind == "rsa"
            else ec.generate_private_key(ec.SECP256R1())
        )

    def token(self, sub: str, *, expires_in: float = 60.0, kid: str | None = None, **claims: Any) -> str:
        headers = {"kid": kid} if kid else None
        payload = {"sub": sub, "exp": time.time() + expires_in, **claims}
        return jwt.encode(payload, self.private_key, algorithm=self.algorithm, headers=headers)

    def write_pem(self, path: Path) -> str:
        path.write_bytes(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        return str(path)

    def write_jwks(self, path: Path, kid: str) -> str:
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        jwk = algorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        jwk.update(kid=kid, alg=self.algorithm, use="sig")
        path.write_text(json.dumps({"keys": [jwk]}))
        return str(path)
