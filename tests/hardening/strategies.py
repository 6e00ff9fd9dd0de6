"""Hypothesis strategies over the client frames of spec/protocol.md §3-§8, valid and broken.

Each action has its members and a strategy for a valid value of each; a generated frame takes every member
valid, wrong-typed, missing, oversized (over the 256-byte limits of spec §2.4) or full of unicode, plus
unknown members. Beside them: unknown actions, a missing or non-string `action`, and arrays or scalars where
an object belongs (spec §7.1). Everything stays on loopback: `publish_to_server` only ever names
127.0.0.1 addresses (spec §8.1), so the fuzzer cannot make the server connect anywhere else.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ksps.testing import free_port

#: A port nothing listens on (relays to it fail at once with "failed to relay to server").
_CLOSED_PORT = free_port()

#: A few names shared by the frames of one run, so that subscriptions, publications and acks meet.
TOPICS = ("fz/a", "fz/b", "fz.é", "__direct_x_1", "")
IDS = ("fz-peer", "fz-other", "")

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
#: Any JSON value, nested a few levels (deep nesting has its own test: msgspec recursion, issue 11 row 3).
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

#: Any encodable character (no lone surrogates: those come from `st.text()` in the other strategies).
unicode_text = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40)
#: Strings over the 256-byte limits: ASCII and multi-byte (200 'é' is 400 bytes but only 200 characters).
oversized_text = st.one_of(st.integers(257, 2000).map(lambda n: "t" * n), st.integers(129, 600).map(lambda n: "é" * n))


def _string(names: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(names), st.text(max_size=12))


_topic = _string(TOPICS)
_client_id = _string(IDS)
_ack_id = st.one_of(st.sampled_from(("a1", "a2", "")), st.text(max_size=12))
#: Milliseconds (spec §6.2): small ones, the boundaries of the 300 s cap and of 32/64-bit integers, anything.
_timeout = st.one_of(
    st.integers(0, 2_000),
    st.sampled_from((1_000, 5_000, 299_999, 300_000, 300_001, 2**31, 2**63 - 1, 2**63, 2**64, -1)),
    st.integers(-(2**63), 2**64),
    st.floats(allow_nan=False),
)
_ack_data = st.fixed_dictionaries(
    {"ack_id": _ack_id, "client_id": _client_id, "success": st.booleans()},
    optional={"error": st.text(max_size=12)},
)
_relay_target = st.sampled_from(
    (
        f"127.0.0.1:{_CLOSED_PORT}",
        f"127.0.0.1:{_CLOSED_PORT}/ws/bus",
        f"127.0.0.1:{_CLOSED_PORT}::127.0.0.1:{_CLOSED_PORT}",
        "127.0.0.1",
        ":",
        "",
    )
)

#: Members of each client action (spec §3-§8) and a strategy for a valid value of each.
ACTIONS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "ping": {"from": _client_id},
    "subscribe": {"topic": _topic},
    "unsubscribe": {"topic": _topic},
    "publish": {"topic": _topic, "data": json_values, "from": _client_id},
    "direct_message": {"to": _client_id, "data": json_values},
    "publish_with_ack": {
        "topic": _topic,
        "data": json_values,
        "ack_id": _ack_id,
        "timeout": _timeout,
        "progress": st.booleans(),
    },
    "publish_to_id_with_ack": {
        "to": _client_id,
        "data": json_values,
        "ack_id": _ack_id,
        "timeout": _timeout,
        "progress": st.booleans(),
    },
    "ack": {"ack_id": _ack_id, "data": _ack_data},
    "get_ack_status": {"ack_id": _ack_id},
    "cancel_ack": {"ack_id": _ack_id},
    "publish_to_server": {
        "to": _relay_target,
        "data": json_values,
        "status": st.fixed_dictionaries({"is_secure": st.booleans()}),
    },
    "server-to-server": {
        "to": st.sampled_from((f"127.0.0.1:{_CLOSED_PORT}", "", "nowhere:1")),
        "id": _client_id,
        "secret": st.text(max_size=8),
        "data": st.one_of(json_values, st.fixed_dictionaries({"topic": _topic, "data": json_values}), st.none()),
    },
}


def _wrong_type() -> st.SearchStrategy[Any]:
    """A JSON value that is (most likely) not of the member's type: any value at all, or a container."""
    containers = st.one_of(
        st.lists(json_scalars, max_size=2), st.dictionaries(st.text(max_size=4), json_scalars, max_size=2)
    )
    return st.one_of(json_scalars, containers)


_MISSING = object()


def _broken() -> st.SearchStrategy[Any]:
    """A member's value that breaks it: wrong-typed, oversized, unicode, null, or left out."""
    return st.one_of(_wrong_type(), oversized_text, unicode_text, st.none(), st.just(_MISSING))


@st.composite
def action_frames(draw: st.DrawFn, action: str) -> dict[str, Any]:
    """A frame of `action`: all members valid, one member broken, or each member maybe broken; plus maybe
    unknown members (spec §2.2: ignored)."""
    members = ACTIONS[action]
    mode = draw(st.sampled_from(("one broken", "valid", "each maybe broken")))
    target = draw(st.sampled_from(sorted(members)))
    frame: dict[str, Any] = {}
    for name, valid in members.items():
        if mode == "each maybe broken":
            value = draw(st.one_of(valid, _broken()))
        elif mode == "one broken" and name == target:
            value = draw(_broken())
        else:
            value = draw(valid)
        if value is not _MISSING:
            frame[name] = value
    frame.update(draw(st.dictionaries(st.text(min_size=1, max_size=6), json_values, max_size=2)))
    frame["action"] = action
    return frame


#: Frames that are not a well-formed request of any action: unknown, missing and non-string actions, objects
#: of anything, arrays and scalars where an object belongs (spec §7.1).
malformed_frames: st.SearchStrategy[Any] = st.one_of(
    st.fixed_dictionaries({"action": st.one_of(st.text(max_size=30), oversized_text)}, optional={"data": json_values}),
    st.fixed_dictionaries({"action": _wrong_type()}, optional={"topic": _topic}),
    st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    st.lists(json_values, max_size=4),
    json_scalars,
)

#: Any frame a client could send: every action of spec §3-§8 (most of the time), or a malformed frame.
client_frames: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(sorted(ACTIONS)).flatmap(action_frames),
    st.sampled_from(sorted(ACTIONS)).flatmap(action_frames),
    malformed_frames,
)


#: One valid frame of each action, the seeds of byte-level mutation. No `publish_to_server`: a mutated address
#: could name a real host; relays are fuzzed structurally above, with loopback addresses only (spec §8.1).
SEED_FRAMES: tuple[dict[str, Any], ...] = (
    {"action": "ping", "from": "fz-peer"},
    {"action": "subscribe", "topic": "fz/a"},
    {"action": "unsubscribe", "topic": "fz/a"},
    {"action": "publish", "topic": "fz/a", "data": {"n": 1, "s": "é", "l": [1, 2.5, None, True]}},
    {"action": "direct_message", "to": "fz-peer", "data": "hi"},
    {"action": "publish_with_ack", "topic": "fz/a", "data": [1], "ack_id": "a1", "timeout": 50, "progress": True},
    {"action": "publish_to_id_with_ack", "to": "fz-peer", "data": {}, "ack_id": "a2", "timeout": 50},
    {"action": "ack", "ack_id": "s1", "data": {"ack_id": "s1", "client_id": "fz-peer", "success": True}},
    {"action": "get_ack_status", "ack_id": "a1"},
    {"action": "cancel_ack", "ack_id": "a1"},
)
