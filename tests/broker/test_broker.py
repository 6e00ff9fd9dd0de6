"""The broker and its frame handler driven with plain objects: no sockets, no event loop (spec §3-§6)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import msgspec
import pytest

from ksps.broker import Broker, FederationConfig, FrameHandler

from .fakes import ImmediateRunner, ManualClock, RecordingPeer


class NoRelay:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def relay(
        self, address: str, data: msgspec.Raw, origin: str, secure: bool, reply: Callable[[str | None], None]
    ) -> None:
        self.calls.append(address)
        reply(None)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def handler(clock: ManualClock) -> FrameHandler:
    broker = Broker("server-id", clock, ImmediateRunner(), default_ack_timeout=5.0)
    return FrameHandler(broker, FederationConfig(address="127.0.0.1:9313", path="/ws/bus"), NoRelay())


def send(handler: FrameHandler, peer: RecordingPeer, frame: dict[str, object]) -> list[dict[str, object]]:
    handler.handle(peer, json.dumps(frame).encode())
    return peer.take()


def registered(handler: FrameHandler, name: str) -> RecordingPeer:
    peer = RecordingPeer(name)
    assert send(handler, peer, {"action": "ping", "from": name}) == [{"action": "pong", "id": name}]
    return peer


def test_a_publication_is_encoded_once_for_all_subscribers(handler: FrameHandler) -> None:
    subscribers = [registered(handler, f"s{n}") for n in range(5)]
    for peer in subscribers:
        send(handler, peer, {"action": "subscribe", "topic": "t"})
    publisher = registered(handler, "pub")
    assert send(handler, publisher, {"action": "publish", "topic": "t", "data": 1}) == [
        {"action": "published", "topic": "t"}
    ]
    frames = [peer.frames[0] for peer in subscribers]
    assert all(frame is frames[0] for frame in frames), "one Frame object shared by every subscriber"
    assert json.loads(frames[0].json) == {"action": "publish", "topic": "t", "data": {"data": 1, "from": "pub"}}


def test_takeover_closes_the_older_peer_with_4001(handler: FrameHandler) -> None:
    older = registered(handler, "dup")
    send(handler, older, {"action": "subscribe", "topic": "t"})
    newer = registered(handler, "dup")
    assert older.closed == (4001, "replaced by a newer connection")
    assert older.client_id is None
    assert handler.broker.clients == {"dup": newer}
    assert list(handler.broker.topics.peers("t") or ()) == [newer]


def test_disconnect_forgets_everything(handler: FrameHandler, clock: ManualClock) -> None:
    subscriber, publisher = registered(handler, "s"), registered(handler, "p")
    send(handler, subscriber, {"action": "subscribe", "topic": "t"})
    send(handler, publisher, {"action": "publish_with_ack", "topic": "t", "ack_id": "c1", "timeout": 60000})
    handler.broker.disconnect(subscriber)
    [response] = publisher.take()
    assert response["responses"]["s"]["error"] == "client disconnected"  # type: ignore[index]
    assert handler.broker.count_clients() == 1
    assert handler.broker.topics.count("t") == (0, 0)
    assert clock.run_out() == 0 and handler.broker.acks.timed_out == 0
    assert publisher.take() == [], "the request ended once: no second ack_response at its deadline"


def test_client_timeout_is_in_milliseconds_and_capped(handler: FrameHandler, clock: ManualClock) -> None:
    subscriber, publisher = registered(handler, "s"), registered(handler, "p")
    send(handler, subscriber, {"action": "subscribe", "topic": "t"})
    send(handler, publisher, {"action": "publish_with_ack", "topic": "t", "ack_id": "c1", "timeout": 1500})
    clock.advance(1.49)
    assert publisher.take() == []
    clock.advance(0.02)
    assert publisher.take() == [{"action": "ack_response", "ack_id": "c1"}]
    send(handler, publisher, {"action": "publish_with_ack", "topic": "t", "ack_id": "c2", "timeout": 10**9})
    clock.advance(handler.limits.max_ack_timeout + 0.01)
    assert publisher.take() == [{"action": "ack_response", "ack_id": "c2"}]


def test_default_timeout_when_absent(handler: FrameHandler, clock: ManualClock) -> None:
    subscriber, publisher = registered(handler, "s"), registered(handler, "p")
    send(handler, subscriber, {"action": "subscribe", "topic": "t"})
    send(handler, publisher, {"action": "publish_with_ack", "topic": "t", "ack_id": "c1"})
    clock.advance(4.99)
    assert publisher.take() == []
    clock.advance(0.02)
    assert publisher.take() == [{"action": "ack_response", "ack_id": "c1"}]


def test_server_callbacks_answer_as_internal_responders(handler: FrameHandler) -> None:
    def failing(message: object, unsub: object) -> None:
        raise RuntimeError("nope")

    handler.broker.subscribe_server("t", lambda message, unsub: None)
    handler.broker.subscribe_server("t", failing)
    publisher = registered(handler, "p")
    [response] = send(handler, publisher, {"action": "publish_with_ack", "topic": "t", "ack_id": "c1"})
    answers = response["responses"]
    assert isinstance(answers, dict)
    assert sorted(answers) == ["internal_1", "internal_2"]
    assert answers["internal_2"]["success"] is False and answers["internal_2"]["error"] == "nope"


def _mutations(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    seeds = [
        b'{"action":"ping","from":"fuzz"}',
        b'{"action":"subscribe","topic":"t"}',
        b'{"action":"publish","topic":"t","data":{"a":[1,"x",null]}}',
        b'{"action":"publish_with_ack","topic":"t","data":1,"ack_id":"c","timeout":10,"progress":true}',
        b'{"action":"ack","ack_id":"x","data":{"ack_id":"x","success":true}}',
        b'{"action":"direct_message","to":"fuzz","data":"\xc3\xa9"}',
        b'{"action":"server-to-server","to":"127.0.0.1:9313","data":{"data":{"topic":"t","data":2},"from":"o"}}',
        b'{"action":"publish_to_server","to":"h:1","data":1,"status":{"is_secure":false}}',
    ]
    alphabet = b'{}[]",:\\ \x00\xff\xc3\xa9\xe2\x80truefalsenull0123456789-.eE'
    out = []
    for _ in range(count):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(data) + 1)
            kind = rng.random()
            if kind < 0.4 and data:
                del data[position : position + rng.randint(1, 3)]
            elif kind < 0.8:
                data[position:position] = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 3)))
            else:
                data[position:position] = rng.choice(seeds)
        out.append(bytes(data))
    return out


def test_garbage_never_raises_and_every_output_is_valid_json(handler: FrameHandler, clock: ManualClock) -> None:
    """A cheap deterministic fuzz: mutated frames from one peer, a subscriber watching everything it gets."""
    watcher = registered(handler, "watcher")
    send(handler, watcher, {"action": "subscribe", "topic": "t"})
    fuzzer = registered(handler, "fuzz")
    send(handler, fuzzer, {"action": "subscribe", "topic": "t"})
    for payload in _mutations(seed=20240601, count=3000):
        handler.handle(fuzzer, payload)
        clock.advance(0.01)
    for peer in (watcher, fuzzer):
        for frame in peer.frames:
            text = frame.json.decode("utf-8")  # valid UTF-8: text frames (spec §1.3)
            assert isinstance(json.loads(text), dict), text
    assert any(json.loads(f.json).get("action") == "error" for f in fuzzer.frames)
