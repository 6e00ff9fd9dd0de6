"""The client's token helpers (sans-I/O): unverified claims, the refresh schedule, the default ID."""

from __future__ import annotations

import jwt

from ksps.client._options import ClientOptions
from ksps.client._tokens import REFRESH_LEAD, refresh_delay, token_claims, token_expiry


def test_claims_are_read_without_the_key() -> None:
    token = jwt.encode({"sub": "alice", "exp": 2_000_000_000}, "some-secret-0123456789abcdef-0123", algorithm="HS256")
    assert token_claims(token) == {"sub": "alice", "exp": 2_000_000_000}
    assert token_expiry(token) == 2_000_000_000.0


def test_a_fractional_exp_is_rounded_down_as_servers_compare_it() -> None:
    token = jwt.encode({"exp": 2_000_000_000.9}, "some-secret-0123456789abcdef-0123", algorithm="HS256")
    assert token_expiry(token) == 2_000_000_000.0


def test_not_a_jwt_has_no_claims() -> None:
    for token in ("", "opaque", "a.b", "a.!!!.c", "a." + "bnVsbA" + ".c"):  # the last one decodes to null
        assert token_claims(token) == {}
        assert token_expiry(token) is None


def test_refresh_happens_shortly_before_exp() -> None:
    assert refresh_delay(1000.0 + 10.0, 1000.0) == 8.0  # a short token: at 80 % of its life
    assert refresh_delay(1000.0 + 3600.0, 1000.0) == 3600.0 - REFRESH_LEAD  # a long one: REFRESH_LEAD early
    assert refresh_delay(999.0, 1000.0) == 0.0  # already expired: at once


def test_the_default_id_is_the_subject_of_the_token() -> None:
    token = jwt.encode({"sub": "alice"}, "some-secret-0123456789abcdef-0123", algorithm="HS256")
    assert ClientOptions.from_kwargs({"Address": "h:1", "Token": token}).id == "alice"
    assert ClientOptions.from_kwargs({"Address": "h:1", "Token": token, "Id": "bob"}).id == "bob"
    assert ClientOptions.from_kwargs({"Address": "h:1", "Token": "opaque"}).id.startswith("client_")
