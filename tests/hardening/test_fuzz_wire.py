"""Wire-level fuzzing over a raw socket: fragmentation, control frames between fragments, binary frames,
masking, lengths around the 125/126/65535/65536 boundaries of the length encodings, and framing violations.

A well-formed plan (masked, every fragment in place) carries one `publish` to a topic the fuzzed connection
subscribed: the server must reassemble it and deliver it back exactly once (RFC 6455 §5.4, spec §1.3, §4.2).
A plan with a violation (RSV bits, a non-minimal length, a continuation with no start, a data frame inside a
fragmented message, an unmasked frame, a fragmented or oversized control frame) may be refused with 1002
(RFC 6455 §5.2, §5.4, §5.5; issue 11 row 11) or ignored; never 1011, never an ERROR logged; the bystanders'
stream stays complete.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .fuzz_bus import FuzzBus, check_closed_cleanly, fuzz_bus, fuzz_settings
from .raw_frames import OP_BINARY, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT, encode_frame

TOPIC = "fz/wire"
SUBSCRIBE = encode_frame(json.dumps({"action": "subscribe", "topic": TOPIC}).encode())
#: Violations a plan may carry; "" is none.
VIOLATIONS = (
    "",
    "",
    "rsv",
    "non_minimal_length",
    "stray_continuation",
    "data_inside_fragments",
    "unmasked",
    "fragmented_control",
    "big_control",
)


@pytest.fixture(scope="module")
def bus() -> Iterator[FuzzBus]:
    with fuzz_bus() as bus:
        yield bus


@dataclass
class Plan:
    """One message split into frames, with control frames between them and maybe one violation."""

    payload: bytes
    wire: bytes
    violation: str


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    size = draw(st.one_of(st.integers(0, 300), st.sampled_from((60, 61, 62, 64, 65_470, 65_471, 65_520, 66_000))))
    # The padding makes the whole frame cross the length-encoding boundaries (RFC 6455 §5.2) for some sizes.
    payload = json.dumps({"action": "publish", "topic": TOPIC, "data": "x" * size}).encode()
    opcode = draw(st.sampled_from((OP_TEXT, OP_BINARY)))
    cuts = sorted(draw(st.lists(st.integers(0, len(payload)), max_size=5)))
    pieces = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, len(payload)], strict=True)]
    violation = draw(st.sampled_from(VIOLATIONS))
    frames: list[bytes] = []
    for index, piece in enumerate(pieces):
        if index:
            controls = st.tuples(st.sampled_from((OP_PING, OP_PONG)), st.binary(max_size=125))
            frames += [encode_frame(body, control) for control, body in draw(st.lists(controls, max_size=2))]
        last = index == len(pieces) - 1
        frames.append(
            encode_frame(
                piece,
                opcode if index == 0 else OP_CONTINUATION,
                fin=last,
                long_length=violation == "non_minimal_length" and last and len(piece) < 65536,
                rsv=0b100 if violation == "rsv" and last else 0,
                mask=not (violation == "unmasked" and last),
            )
        )
    at = draw(st.integers(0, len(frames)))
    if violation == "stray_continuation":
        frames.insert(0, encode_frame(b'{"x":1}', OP_CONTINUATION))
    elif violation == "data_inside_fragments":
        frames.insert(1, encode_frame(b'{"action":"ping"}', OP_TEXT, fin=False))
    elif violation == "fragmented_control":
        frames.insert(at, encode_frame(b"ab", OP_PING, fin=False))
    elif violation == "big_control":
        frames.insert(at, encode_frame(b"p" * draw(st.integers(126, 300)), OP_PING))
    return Plan(payload, b"".join(frames), violation)


def test_fragmented_and_interleaved_frames(bus: FuzzBus) -> None:
    @fuzz_settings(max_examples=400)
    @given(plan=plans())
    def one_plan(plan: Plan) -> None:
        outcome = bus.run(bus.exchange(SUBSCRIBE + plan.wire))
        check_closed_cleanly(outcome)
        if plan.violation:
            # A violation the server let through may leave the connection mid-message: start afresh.
            bus.drop()
            return
        if outcome.close_code == 1008:
            return  # a frame-rate or control-frame-rate limit (spec §7.2, §13): the fuzzer is a fast client
        assert outcome.close_code is None, f"a well-formed plan cost the connection: {outcome}"
        sent = json.loads(plan.payload)["data"]
        delivered = [f for f in outcome.frames if f["action"] == "publish" and f.get("topic") == TOPIC]
        assert [f["data"]["data"] for f in delivered] == [sent], "the reassembled message was not delivered once"

    one_plan()
    bus.check_healthy()


@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY])
def test_a_message_over_the_size_limit_is_closed_with_1009(bus: FuzzBus, opcode: int) -> None:
    """Spec §1.4: 1 MiB by default, as one frame or as fragments (the fragments' sum counts)."""
    big = b'{"action":"publish","topic":"fz/wire","data":"' + b"x" * (1024 * 1024) + b'"}'
    one = bus.run(bus.exchange(encode_frame(big, opcode)))
    assert one.close_code == 1009, one
    half = len(big) // 2
    fragmented = encode_frame(big[:half], opcode, fin=False) + encode_frame(big[half:], OP_CONTINUATION)
    two = bus.run(bus.exchange(fragmented))
    assert two.close_code == 1009, two
    bus.check_healthy()
