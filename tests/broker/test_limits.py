"""LimitGuard: topics per connection and pending ack requests, refused with `code:"limit"` (spec §13.2)."""

from __future__ import annotations

import json
import logging

import msgspec
import pytest

from ksps.broker import Broker, BrokerLimits

from .fakes import ImmediateRunner, ManualClock, RecordingPeer


def broker(**limits: int) -> Broker:
    return Broker("server", ManualClock(), ImmediateRunner(), limits=BrokerLimits(**limits))


def registered(b: Broker, client_id: str) -> RecordingPeer:
    peer = RecordingPeer(client_id)
    b.register(peer, client_id)
    return peer


def test_topics_beyond_the_limit_are_refused_but_known_ones_are_not() -> None:
    b = broker(max_topics_per_connection=2)
    peer = registered(b, "p")
    for topic in ("a", "b"):
        assert b.guard.subscribe(peer, topic) is None
        b.topics.add_peer(topic, peer)
    assert b.guard.subscribe(peer, "a") is None
    refusal = b.guard.subscribe(peer, "c")
    assert refusal is not None
    assert json.loads(refusal.json) == {
        "action": "error",
        "error": "limit: max_topics_per_connection (2) reached",
        "code": "limit",
        "topic": "c",
    }
    assert b.guard.subscribe(registered(b, "other"), "c") is None  # per connection


def test_zero_means_unlimited() -> None:
    b = broker(max_topics_per_connection=0, max_pending_acks_per_connection=0, max_pending_acks=0)
    peer = registered(b, "p")
    for n in range(100):
        b.topics.add_peer(f"t{n}", peer)
        b.acks.open(f"s{n}", ["x"], timeout=5, owner=peer, client_ack_id=f"c{n}")
    assert b.guard.subscribe(peer, "more") is None and b.guard.ack_request(peer, "more") is None


def test_pending_acks_are_limited_per_connection_then_per_server() -> None:
    b = broker(max_pending_acks_per_connection=2, max_pending_acks=3)
    one, two = registered(b, "one"), registered(b, "two")
    silent = registered(b, "silent")
    b.topics.add_peer("t", silent)
    for n in range(2):
        b.publish_with_ack("t", msgspec.Raw(b"1"), "one", 5, owner=one, client_ack_id=f"c{n}")
    assert b.guard.ack_request(one, "c0") is None  # reusing a pending ID replaces, never refused
    refusal = b.guard.ack_request(one, "c2", topic="t")
    assert refusal is not None and json.loads(refusal.json) == {
        "action": "error",
        "error": "limit: max_pending_acks_per_connection (2) reached",
        "code": "limit",
        "topic": "t",
        "ack_id": "c2",
    }
    assert b.guard.ack_request(two, "c0") is None
    b.publish_with_ack("t", msgspec.Raw(b"1"), "two", 5, owner=two, client_ack_id="c0")
    refusal = b.guard.ack_request(two, "c1", to="silent")
    assert (
        refusal is not None
        and json.loads(refusal.json)["error"] == "limit: max_pending_acks (3) reached on this server"
    )
    assert json.loads(refusal.json)["to"] == "silent"
    b.disconnect(one)
    assert b.guard.ack_request(two, "c1") is None
    assert b.guard.refused == {"max_pending_acks_per_connection": 1, "max_pending_acks": 1}


def test_each_limit_is_logged_once_per_connection(caplog: pytest.LogCaptureFixture) -> None:
    b = broker(max_topics_per_connection=1, max_pending_acks_per_connection=1)
    peer = registered(b, "p")
    b.topics.add_peer("a", peer)
    b.acks.open("s", ["x"], timeout=5, owner=peer, client_ack_id="c")
    with caplog.at_level(logging.WARNING, logger="ksps.broker"):
        for n in range(10):
            assert b.guard.subscribe(peer, f"t{n}") is not None
            assert b.guard.ack_request(peer, f"c{n + 1}") is not None
        b.disconnect(peer)
        again = registered(b, "p")
        b.topics.add_peer("a", again)
        assert b.guard.subscribe(again, "b") is not None
    assert len(caplog.records) == 3, [r.getMessage() for r in caplog.records]
