"""Identity and its compiled permissions, without sockets (spec §10.2, §10.4)."""

from __future__ import annotations

import pytest

from ksps.broker.permissions import Access, Identity, TopicPatterns


@pytest.mark.parametrize(
    ("pattern", "name", "allowed"),
    [
        ("news.*", "news.sport", True),
        ("news.*", "news.", True),  # `*` also matches the empty run
        ("news.*", "news.a/b.c", True),  # and `/` and `.`
        ("news.*", "newsX", False),
        ("news.*", "old.news.x", False),  # anchored at both ends
        ("a*b*c", "abc", True),
        ("a*b*c", "a-b-c-d", False),
        ("a.b", "aXb", False),  # everything but `*` is literal
        ("a+b?[c]", "a+b?[c]", True),
        ("a+b?[c]", "aab", False),
        ("*", "", True),
        ("*", "any thing\nat all", True),
    ],
)
def test_star_patterns(pattern: str, name: str, allowed: bool) -> None:
    assert TopicPatterns((pattern,), default=False).allows(name) is allowed


def test_none_means_the_deployment_default() -> None:
    assert TopicPatterns(None, default=True).everything
    assert not TopicPatterns(None, default=False).allows("x")
    assert not TopicPatterns((), default=True).allows("x")  # an empty list allows nothing


def test_the_decision_cache_stays_bounded() -> None:
    patterns = TopicPatterns(("t.*",), default=False)
    for n in range(10_000):
        assert patterns.allows(f"t.{n}")
    assert len(patterns._cache) <= 256


def test_access_precomputes_the_publish_fast_path() -> None:
    assert Access(None, default_allow=True).publish_any
    assert not Access(None, default_allow=False).publish_any
    assert not Access(Identity(publish=["a"]), default_allow=True).publish_any
    limited = Access(Identity(ack=False, relay=None), default_allow=True)
    assert (limited.ack, limited.relay) == (False, True)


def test_identity_takes_lists_and_rejects_strings() -> None:
    identity = Identity(id="alice", subscribe=["a", "b"])
    assert identity.subscribe == ("a", "b")
    assert hash(identity) == hash(Identity(id="alice", subscribe=("a", "b")))
    with pytest.raises(TypeError):
        Identity(subscribe="news.*")  # type: ignore[arg-type]
    assert repr(Identity(id="a")) == "Identity(id='a')"
