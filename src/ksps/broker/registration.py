"""The registration `ping` under an authentication policy (spec §3, §10): tokens, ID binding, takeover.

Still no I/O: tokens are checked by a `verify` function the server passes in (server/auth.py wraps PyJWT),
and timers (expiry, registration deadline) belong to the connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..protocol import CloseCodes, CloseReasons, Envelope, ErrorCodes, Errors, encode_error, encode_reply
from ..protocol import actions as act
from .core import Broker
from .interfaces import Peer
from .permissions import Access, Identity, claimant, may_take_over

__all__ = ["AuthPolicy", "InvalidToken", "Registrar"]

#: Longest close reason a WebSocket close frame can carry (RFC 6455 §5.5: 125 bytes minus the code).
_MAX_REASON_BYTES = 123


class InvalidToken(Exception):
    """A token that does not verify; `str(exc)` is the reason given to the client (spec §10.3)."""


@dataclass(frozen=True)
class AuthPolicy:
    """The deployment's authentication rules (spec §10); the default is the original's: no checks at all."""

    #: Permissions of the `None` fields of an Identity, and of anonymous connections.
    default_allow: bool = True
    #: Whether a connection without an identity may register.
    anonymous: bool = True
    #: Whether an unauthenticated `ping` may take an ID that another unauthenticated connection holds.
    takeover_replace: bool = True
    #: Turns a `ping.token` into an Identity or raises InvalidToken; None = tokens are not checked (ignored).
    verify: Callable[[str], Identity] | None = None


def unauthorized(detail: str) -> str:
    """The close reason for code 4003, cut to what a close frame can carry."""
    reason = CloseReasons.UNAUTHORIZED.format(detail=detail).encode()
    return reason[:_MAX_REASON_BYTES].decode(errors="ignore")


class Registrar:
    """Answers `ping`: binds the connection's identity to its ID, or refuses (spec §10.3, §10.6)."""

    def __init__(self, broker: Broker, policy: AuthPolicy) -> None:
        self.broker = broker
        self.policy = policy
        # Claims from other nodes of a cluster follow the same rule (RemoteInbox.keeps, spec/cluster.md §5).
        broker.takeover_replace = policy.takeover_replace
        #: Shared by every anonymous connection: compiled once.
        self.anonymous_access = Access(None, policy.default_allow)

    def access(self, identity: Identity | None) -> Access:
        """The compiled permissions of `identity` under this policy."""
        if identity is None:
            return self.anonymous_access
        return Access(identity, self.policy.default_allow)

    def ping(self, peer: Peer, envelope: Envelope) -> None:
        """Register, rename or refresh `peer`; answer `pong`, an `id_taken` error, or close with 4003."""
        accepted, identity = self._identity(peer, envelope.token)
        if not accepted:
            return
        requested = envelope.from_ or ""
        if identity is not None and identity.id is not None:
            # A token's `sub` is the only ID the connection may register (spec §10.3).
            if requested and requested != identity.id:
                peer.close(CloseCodes.UNAUTHORIZED, unauthorized(CloseReasons.ID_NOT_ALLOWED))
                return
            requested = identity.id
        rid = envelope.rid or ""
        holder = self.broker.clients.get(requested) if requested else None
        replace = self.policy.takeover_replace
        if holder not in (None, peer) and not may_take_over(claimant(identity, requested), holder.identity, replace):
            text = Errors.ID_TAKEN.format(id=requested)
            peer.send(encode_error(text, code=ErrorCodes.ID_TAKEN, rid=rid))
            return
        if identity is not peer.identity:
            peer.authenticate(identity, self.access(identity))
        client_id = self.broker.register(peer, requested)
        peer.send(encode_reply(act.PONG, id=client_id, rid=rid))

    def _identity(self, peer: Peer, token: str | None) -> tuple[bool, Identity | None]:
        """(False, None) when the connection was closed instead, else (True, the identity to register with)."""
        current = peer.identity
        verify = self.policy.verify
        if token and verify is not None:
            try:
                fresh = verify(token)
            except InvalidToken as exc:
                peer.close(CloseCodes.UNAUTHORIZED, unauthorized(CloseReasons.INVALID_TOKEN.format(reason=exc)))
                return False, None
            # A refresh may extend the expiry, never change who the connection is (spec §10.5).
            if current is not None and current.id is not None and fresh.id != current.id:
                peer.close(CloseCodes.UNAUTHORIZED, unauthorized(CloseReasons.OTHER_SUBJECT))
                return False, None
            return True, fresh
        if current is None and not self.policy.anonymous:
            peer.close(CloseCodes.UNAUTHORIZED, unauthorized(CloseReasons.TOKEN_REQUIRED))
            return False, None
        return True, current
