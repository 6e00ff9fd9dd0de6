"""Signed server-to-server frames: signature, time window, replays (spec §12.1). No sockets."""

from __future__ import annotations

import hashlib
import hmac

from ksps.broker.signing import PeerVerifier, SignedFields, sign, signed_bytes


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def fields(nonce: str = "n1", ts: int = 1_700_000_000, data: bytes = b'{"data":1,"from":"o"}') -> SignedFields:
    return SignedFields(ts=ts, nonce=nonce, to="127.0.0.1:9313", id="", data=data)


def test_signed_bytes_are_netstrings_in_a_fixed_order() -> None:
    signed = SignedFields(ts=12, nonce="ab", to="h:1", id="i:2", data=b'{"x":","}')
    assert signed_bytes(signed) == b'11:ksps-s2s-v1,2:12,2:ab,3:h:1,3:i:2,9:{"x":","},'
    expected = hmac.new(b"k", signed_bytes(signed), hashlib.sha256).hexdigest()
    assert sign("k", signed) == expected


def test_a_good_signature_is_accepted_once() -> None:
    verifier = PeerVerifier("s", clock=Clock())
    assert verifier.check(fields(), sign("s", fields())) == ""
    assert verifier.check(fields(), sign("s", fields())) == "replayed nonce"
    assert verifier.check(fields("n2"), sign("s", fields("n2"))) == ""


def test_bad_signatures_are_refused() -> None:
    verifier = PeerVerifier("s", clock=Clock())
    good = sign("s", fields())
    assert verifier.check(fields(), sign("other", fields())) == "bad signature"
    assert verifier.check(fields(), "") == "bad signature"
    assert verifier.check(fields(), good.upper()) == "bad signature"
    assert verifier.check(fields(data=b'{"data":2,"from":"o"}'), good) == "bad signature"  # data changed
    assert verifier.check(fields(ts=1_700_000_001), good) == "bad signature"  # ts changed
    assert verifier.check(fields(), "é" * 64) == "bad signature"  # not even hex
    # A refused frame does not burn its nonce: the genuine one still passes.
    assert verifier.check(fields(), good) == ""


def test_timestamps_outside_the_window_are_refused() -> None:
    clock = Clock()
    verifier = PeerVerifier("s", clock=clock, window=30)
    for offset in (-31, 31, -3600):
        frame = fields(nonce=f"n{offset}", ts=int(clock.now) + offset)
        assert "outside the ±30 s window" in verifier.check(frame, sign("s", frame))
    for offset in (-30, 0, 30):
        frame = fields(nonce=f"n{offset}", ts=int(clock.now) + offset)
        assert verifier.check(frame, sign("s", frame)) == ""


def test_no_secret_refuses_everything() -> None:
    verifier = PeerVerifier("", clock=Clock())
    assert verifier.check(fields(), sign("", fields())) == "no peer secret configured"


def test_seen_nonces_expire_and_are_bounded() -> None:
    clock = Clock()
    verifier = PeerVerifier("s", clock=clock, window=30, max_nonces=2)
    assert verifier.check(fields("a"), sign("s", fields("a"))) == ""
    assert verifier.check(fields("b"), sign("s", fields("b"))) == ""
    assert "too many" in verifier.check(fields("c"), sign("s", fields("c")))
    clock.now += 61  # twice the window: a and b can no longer be replayed, so they are forgotten
    late = fields("c", ts=int(clock.now))
    assert verifier.check(late, sign("s", late)) == ""
