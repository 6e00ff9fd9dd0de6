"""TopicRegistry: subscriptions of connections and of server-side callbacks (spec §4.1, §9.17)."""

from __future__ import annotations

from ksps.broker import ServerSubscription, TopicRegistry

from .fakes import RecordingPeer


def noop(message: object, unsub: object) -> None:
    return None


def test_add_is_idempotent_and_ordered() -> None:
    registry = TopicRegistry()
    a, b = RecordingPeer("a"), RecordingPeer("b")
    registry.add_peer("t", b)
    registry.add_peer("t", a)
    registry.add_peer("t", b)
    assert list(registry.peers("t") or ()) == [b, a]
    assert registry.count("t") == (0, 2)


def test_remove_is_harmless_when_absent_and_cleans_up() -> None:
    registry = TopicRegistry()
    a = RecordingPeer("a")
    registry.remove_peer("t", a)
    registry.add_peer("t", a)
    registry.remove_peer("t", a)
    registry.remove_peer("t", a)
    assert registry.peers("t") is None
    assert registry.topics_of(a) == []


def test_drop_peer_returns_topics_in_subscription_order() -> None:
    registry = TopicRegistry()
    a, b = RecordingPeer("a"), RecordingPeer("b")
    for topic in ("z", "a", "m"):
        registry.add_peer(topic, a)
    registry.add_peer("a", b)
    assert registry.drop_peer(a) == ["z", "a", "m"]
    assert registry.peers("z") is None and registry.peers("m") is None
    assert list(registry.peers("a") or ()) == [b]
    assert registry.drop_peer(a) == []


def test_move_peer_hands_over_every_subscription() -> None:
    registry = TopicRegistry()
    old, new, other = RecordingPeer("old"), RecordingPeer("new"), RecordingPeer("other")
    registry.add_peer("t1", old)
    registry.add_peer("t2", old)
    registry.add_peer("t1", other)
    registry.move_peer(old, new)
    assert registry.topics_of(old) == []
    assert registry.topics_of(new) == ["t1", "t2"]
    assert set(registry.peers("t1") or ()) == {other, new}


def test_server_subscriptions_are_separate_from_connections() -> None:
    registry = TopicRegistry()
    peer = RecordingPeer()
    registry.add_peer("t", peer)
    first, second = ServerSubscription(1, "t", noop), ServerSubscription(2, "t", noop)
    registry.add_server(first)
    registry.add_server(second)
    assert first.responder_id == "internal_1"
    assert registry.count("t") == (2, 1)
    registry.remove_server(first)
    registry.remove_server(first)
    assert not first.active and second.active
    assert registry.count("t") == (1, 1)
    # Unsubscribe(topic) removes server-side subscribers only (spec §9.17).
    assert registry.remove_server_topic("t") == 1
    assert not second.active
    assert registry.count("t") == (0, 1)
    assert registry.server_subscriptions("t") is None
    assert registry.remove_server_topic("t") == 0
