"""The messages cluster nodes exchange over Redis pub/sub (spec/cluster.md §3). No I/O."""

from __future__ import annotations

import msgspec

from ..protocol import AckAnswer

__all__ = [
    "Bye",
    "Claim",
    "Direct",
    "DirectAck",
    "Expect",
    "Hello",
    "Member",
    "Members",
    "Moved",
    "NodeMessage",
    "PresenceAnswer",
    "PresenceAsk",
    "Publication",
    "PublicationAck",
    "Result",
    "State",
    "Taken",
    "batch",
    "decode",
    "encode",
]


class _Base(msgspec.Struct, tag_field="k", gc=False):
    #: The sending node.
    n: str


class Publication(_Base, tag="pub", omit_defaults=True):
    """A publication on topic `t` by `s`; `d` is the raw payload, `o` its history offset (0 = none) in epoch `e`;
    `r` when it comes from an outage buffer, late (a node may have delivered it already, from the history)."""

    t: str
    s: str
    d: msgspec.Raw
    o: int = 0
    e: str = ""
    r: bool = False


class PublicationAck(_Base, tag="pack"):
    """A publication with acknowledgement `a`, collected for `x` seconds."""

    t: str
    s: str
    d: msgspec.Raw
    a: str
    x: float


class Direct(_Base, tag="dm"):
    """A direct message to client `to`."""

    to: str
    s: str
    d: msgspec.Raw


class DirectAck(_Base, tag="dack"):
    """A direct message with acknowledgement `a` to client `to`."""

    to: str
    s: str
    d: msgspec.Raw
    a: str
    x: float


class Expect(_Base, tag="exp"):
    """Node `n` will forward the answers of responders `r` to request `a` (possibly none)."""

    a: str
    r: list[str]


class Result(_Base, tag="res"):
    """One answer to request `a`."""

    a: str
    r: AckAnswer


class Claim(_Base, tag="claim"):
    """Client `id` registered on node `n` at wall-clock time `at`."""

    id: str
    at: float
    #: How the claimant authenticated: "auth" (as `id`), "anon", "other" (spec §10.6); absent = "anon".
    who: str = "anon"


class Taken(_Base, tag="taken"):
    """Node `n` keeps client `id`: its holder's identity refused the claim (spec §10.6)."""

    id: str


class Moved(_Base, tag="moved"):
    """The subscriptions of client `id`, handed to the node that took it over."""

    id: str
    topics: list[str]


class State(_Base, tag="state"):
    """Node `n`'s counts: `c` clients; `t` topic -> [server-side, WebSocket]; `full` replaces earlier state."""

    c: int
    t: dict[str, tuple[int, int]]
    full: bool
    #: Topics with `join_leave` watchers on `n` (spec/cluster.md §10): true = watched; `full` replaces them too.
    w: dict[str, bool] = msgspec.field(default_factory=dict)


class Hello(_Base, tag="hello"):
    """Node `n` (re)joined: everyone answers with its full state."""


class Bye(_Base, tag="bye"):
    """Node `n` is stopping."""


class PresenceAsk(_Base, tag="pq"):
    """Node `n` asks for the members of topic `t`, query `q` (spec/cluster.md §10)."""

    q: str
    t: str


class PresenceAnswer(_Base, tag="pa"):
    """The answer to query `q`: `c` members, the smallest IDs `i` (at most 1,000), `tr` when cut."""

    q: str
    c: int
    i: list[str]
    tr: bool = False


class Member(_Base, tag="mem"):
    """Client `id` joined (`j`) or left topic `t` on node `n`; sent to the nodes watching `t`."""

    t: str
    id: str
    j: bool


class Members(_Base, tag="mems"):
    """Node `n`'s members of topic `t` (at most 10,000), sent once to a node that started watching `t`."""

    t: str
    i: list[str]


NodeMessage = (
    Publication
    | PublicationAck
    | Direct
    | DirectAck
    | Expect
    | Result
    | Claim
    | Taken
    | Moved
    | State
    | Hello
    | Bye
    | PresenceAsk
    | PresenceAnswer
    | Member
    | Members
)

_decoder: msgspec.json.Decoder[list[NodeMessage]] = msgspec.json.Decoder(list[NodeMessage])
encode = msgspec.json.encode


def decode(payload: bytes) -> list[NodeMessage]:
    """Decode one Redis message: a JSON array of node messages (one batch of the sender)."""
    return _decoder.decode(payload)


def batch(payloads: list[bytes]) -> bytes:
    """Join encoded node messages into one Redis message."""
    return b"[" + b",".join(payloads) + b"]"
