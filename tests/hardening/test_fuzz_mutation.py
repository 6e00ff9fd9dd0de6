"""Byte-level mutation of valid frames: flips, truncations, splices, insertions, deletions, repeats.

The seeds are one valid frame of each action (spec §3-§6); the mutants are sent as text frames (often invalid
UTF-8 or invalid JSON) or binary frames (spec §1.3: a server accepts JSON in binary frames). The server must
answer with an `error` frame where it cannot parse (spec §7.1, §9.7), never drop the connection for it, never
log an ERROR, and the bystanders' stream stays complete.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .fuzz_bus import FuzzBus, check_closed_cleanly, fuzz_bus, fuzz_settings
from .raw_frames import OP_BINARY, OP_TEXT, encode_frame
from .strategies import SEED_FRAMES

SEEDS = tuple(json.dumps(frame, ensure_ascii=False).encode() for frame in SEED_FRAMES)


@pytest.fixture(scope="module")
def bus() -> Iterator[FuzzBus]:
    with fuzz_bus() as bus:
        yield bus


@st.composite
def mutate(draw: st.DrawFn, data: bytes) -> bytes:
    """One mutation of `data` at positions drawn over its length."""
    buffer = bytearray(data)
    at = draw(st.integers(0, max(len(buffer) - 1, 0)))
    kind = draw(st.sampled_from(("flip", "truncate", "insert", "delete", "splice", "repeat", "byte")))
    if kind == "flip" and buffer:
        buffer[at] ^= 1 << draw(st.integers(0, 7))
    elif kind == "byte" and buffer:
        buffer[at] = draw(st.sampled_from(b'{}[]":,\\\x00\x80\xff\xc3 0e-'))
    elif kind == "truncate":
        del buffer[at:]
    elif kind == "insert":
        buffer[at:at] = draw(st.one_of(st.binary(min_size=1, max_size=8), st.sampled_from((b"{", b"[", b'"', b"\\u"))))
    elif kind == "delete":
        del buffer[at : at + draw(st.integers(1, 8))]
    elif kind == "splice":
        other = draw(st.sampled_from(SEEDS))
        buffer = buffer[:at] + other[draw(st.integers(0, len(other))) :]
    elif kind == "repeat":
        buffer[at:at] = buffer[at : at + draw(st.integers(1, 16))]
    return bytes(buffer)


@st.composite
def mutants(draw: st.DrawFn) -> bytes:
    """A seed frame with one to four mutations applied in turn."""
    data = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        data = draw(mutate(data))
    return data


def test_mutated_frames_get_errors_and_keep_the_connection(bus: FuzzBus) -> None:
    @fuzz_settings(max_examples=800)
    @given(payload=mutants(), opcode=st.sampled_from((OP_TEXT, OP_TEXT, OP_BINARY)))
    def one_mutant(payload: bytes, opcode: int) -> None:
        outcome = bus.run(bus.exchange(encode_frame(payload, opcode)))
        check_closed_cleanly(outcome)
        # A mutant is small and well-framed: only a connection-level limit may close it (spec §9.7).
        assert outcome.close_code in (None, 1008), outcome

    one_mutant()
    bus.check_healthy()


def test_mutants_back_to_back_in_one_read(bus: FuzzBus) -> None:
    """Many mutants in one TCP write: a bad frame must not disturb the parsing of the next (spec §1.3)."""

    @fuzz_settings(max_examples=100)
    @given(payloads=st.lists(mutants(), min_size=2, max_size=8))
    def many_mutants(payloads: list[bytes]) -> None:
        outcome = bus.run(bus.exchange(b"".join(encode_frame(p) for p in payloads)))
        check_closed_cleanly(outcome)
        assert outcome.close_code in (None, 1008), outcome

    many_mutants()
    bus.check_healthy()
