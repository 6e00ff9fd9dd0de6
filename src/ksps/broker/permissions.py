"""Who a connection is and what it may do (spec §10), decided without I/O.

An :class:`Identity` comes from a token's claims or from middleware; :class:`Access` is its compiled form,
built once per connection (or once per refresh), so that the per-frame check is cheap. The publish path is
hot: a connection that may publish anywhere pays one attribute read (`Access.publish_any`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..protocol import ErrorCodes, Errors, encode_error

if TYPE_CHECKING:
    from ..protocol import Envelope
    from .interfaces import Peer

__all__ = ["Access", "AuthorizeHook", "Gate", "Identity", "TopicPatterns", "claimant", "may_take_over"]

#: Per-pattern-set cache of decisions; cleared when full, so a client cycling topics cannot grow it.
_CACHE_SIZE = 256


def _patterns(value: Any, name: str) -> Sequence[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError(f"Identity.{name} must be a list of patterns or None, got {value!r}")
    items = tuple(value)
    if not all(isinstance(item, str) for item in items):
        raise TypeError(f"Identity.{name} must hold strings, got {value!r}")
    return items


@dataclass(frozen=True)
class Identity:
    """An authenticated identity and its permissions (spec §10.2).

    Every `None` field means "the deployment default" (`--default-permissions`). Patterns are topics (or
    client IDs for `direct`) where `*` matches any run of characters, `/` and `.` included; `("*",)` allows
    everything and `()` nothing. Lists are accepted and stored as tuples.

    Example (in a middleware)::

        request.identity = Identity(id="alice", subscribe=["news.*"], publish=[])
    """

    #: The client ID this identity may register; None = any ID (the `ping`'s `from`, or a UUID).
    id: str | None = None
    #: Topics it may subscribe to.
    subscribe: Sequence[str] | None = None
    #: Topics it may publish to (also with acknowledgement).
    publish: Sequence[str] | None = None
    #: Client IDs it may send direct messages to (`direct_message`, `publish_to_id_with_ack`).
    direct: Sequence[str] | None = None
    #: Topics whose history it may read: `history` requests and recovery on subscribe (spec §14.6). None =
    #: the same as `subscribe`.
    history: Sequence[str] | None = None
    #: Whether it may ask the server to relay to another server (`publish_to_server`).
    relay: bool | None = None
    #: Whether it may publish with acknowledgement (answering `ack`s is always allowed).
    ack: bool | None = None
    #: When it stops being valid, in seconds since the epoch (a token's `exp`); None = never.
    expires_at: float | None = None

    def __post_init__(self) -> None:
        for name in ("subscribe", "publish", "direct", "history"):
            object.__setattr__(self, name, _patterns(getattr(self, name), name))

    def __repr__(self) -> str:
        # Short, and without anything secret: an Identity holds claims, never the token itself.
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if v is not None)
        return f"Identity({fields})"


#: `Authorize(action, identity, target) -> bool`, asked after the identity's claims allowed an operation.
#: `identity` is None for an anonymous connection; `target` is the topic, client ID or server address.
AuthorizeHook = Callable[[str, "Identity | None", str], bool]


def claimant(identity: Identity | None, client_id: str) -> str:
    """How a connection asking for `client_id` authenticated: "auth" (as that ID), "anon" (no identity), "other"."""
    if identity is None:
        return "anon"
    return "auth" if identity.id == client_id else "other"


def may_take_over(who: str, holder: Identity | None, replace: bool) -> bool:
    """Whether a claimant (see :func:`claimant`) may take an ID from a holder with identity `holder` (spec §10.6).

    The same identity always may; between unauthenticated connections only the `replace` policy allows it (the
    original's behaviour, spec §3.3).
    """
    if who == "auth":
        return True
    return who == "anon" and holder is None and replace


class TopicPatterns:
    """A set of `*` patterns compiled into one regular expression, with a small cache of decisions."""

    __slots__ = ("_cache", "_regex", "everything", "nothing")

    def __init__(self, patterns: Sequence[str] | None, default: bool) -> None:
        if patterns is None:
            patterns = ("*",) if default else ()
        #: True when every name matches: the check is then skipped.
        self.everything = "*" in patterns
        self.nothing = not patterns
        self._regex: re.Pattern[str] | None = None
        if not (self.everything or self.nothing):
            # `*` is the only wildcard (spec §10.2): everything else is literal, hence re.escape.
            alternatives = "|".join(re.escape(p).replace(r"\*", ".*") for p in patterns)
            self._regex = re.compile(f"(?:{alternatives})", re.DOTALL)
        self._cache: dict[str, bool] = {}

    def allows(self, name: str) -> bool:
        """Whether `name` matches one of the patterns."""
        if self._regex is None:
            return self.everything
        cache = self._cache
        decision = cache.get(name)
        if decision is None:
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            decision = cache[name] = self._regex.fullmatch(name) is not None
        return decision


class Access:
    """The compiled permissions of one connection (spec §10.2): built once, checked per frame."""

    __slots__ = ("ack", "direct", "history", "publish", "publish_any", "relay", "subscribe")

    def __init__(self, identity: Identity | None, default_allow: bool) -> None:
        claims = identity or Identity()
        self.subscribe = TopicPatterns(claims.subscribe, default_allow)
        self.publish = TopicPatterns(claims.publish, default_allow)
        self.direct = TopicPatterns(claims.direct, default_allow)
        # Reading history is subscribing to the past: the same topics unless the identity says otherwise.
        self.history = self.subscribe if claims.history is None else TopicPatterns(claims.history, default_allow)
        self.relay = default_allow if claims.relay is None else claims.relay
        self.ack = default_allow if claims.ack is None else claims.ack
        #: Precomputed for the hot publish path: no per-topic check at all.
        self.publish_any = self.publish.everything

    @classmethod
    def everything(cls) -> Access:
        """Permission for everything: what a connection has when no policy applies (the original's rules)."""
        return cls(None, True)


class Gate:
    """Decides one operation of a connection: its Access first, then the `Authorize` hook (spec §10.4)."""

    __slots__ = ("authorize",)

    def __init__(self) -> None:
        #: `Authorize(action, identity, target)`, asked only about what the identity allows; None = not set.
        self.authorize: AuthorizeHook | None = None

    def permit(self, peer: Peer, envelope: Envelope, granted: bool, action: str, target: str) -> bool:
        """True when the operation may go on; else answers `error` with code `forbidden` and returns False."""
        if granted and (self.authorize is None or self._ask(action, peer.identity, target)):
            return True
        peer.send(
            encode_error(
                Errors.FORBIDDEN.format(action=action, target=target),
                code=ErrorCodes.FORBIDDEN,
                topic=envelope.topic or "",
                to=envelope.to or "",
                ack_id=envelope.ack_id or "",
                rid=envelope.rid or "",
            )
        )
        return False

    def allows(self, peer: Peer, granted: bool, action: str, target: str) -> bool:
        """Like :meth:`permit`, without answering: for operations that degrade instead of failing (spec §14.6)."""
        return granted and (self.authorize is None or self._ask(action, peer.identity, target))

    def _ask(self, action: str, identity: Identity | None, target: str) -> bool:
        hook = self.authorize
        try:
            return hook is None or hook(action, identity, target) is True
        except Exception:
            return False  # a failing hook refuses: fail closed (spec §10.4)
