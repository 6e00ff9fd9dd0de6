"""The recovery seam when the engine answers later, as the Redis engine does (spec §14.3, spec/cluster.md §9).

`LaterHistory` is the memory engine whose reads answer only when the test says so: the broker and frame
handler are the real ones, driven with plain objects.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import msgspec
import pytest

from ksps.broker import Broker, FederationConfig, FrameHandler
from ksps.broker.history import HistoryPolicy, MemoryHistory, Page, Query, TopicHistory, TopicPolicies

from .fakes import ImmediateRunner, ManualClock, RecordingPeer


class LaterHistory(MemoryHistory):
    """Reads see the history when asked, like a Redis script, but answer only on :meth:`answer`."""

    def __init__(self) -> None:
        super().__init__(time.monotonic)
        self.waiting: list[tuple[Page, Callable[[Page | None], None]]] = []

    def read(self, topic: str, query: Query, done: Callable[[Page | None], None]) -> None:
        self.waiting.append((self.page(topic, query), done))

    def answer(self) -> None:
        for page, done in self.waiting:
            done(page)
        self.waiting.clear()


@pytest.fixture
def engine() -> LaterHistory:
    return LaterHistory()


@pytest.fixture
def handler(engine: LaterHistory) -> FrameHandler:
    broker = Broker("server-id", ManualClock(), ImmediateRunner())
    broker.history = TopicHistory(engine, TopicPolicies([], HistoryPolicy(100, 60.0)))
    return FrameHandler(broker, FederationConfig(address="127.0.0.1:9313", path="/ws/bus"), relay=None)  # type: ignore[arg-type]


def send(handler: FrameHandler, peer: RecordingPeer, frame: dict[str, object]) -> list[dict[str, object]]:
    handler.handle(peer, json.dumps(frame).encode())
    return peer.take()


def registered(handler: FrameHandler, name: str) -> RecordingPeer:
    peer = RecordingPeer(name)
    send(handler, peer, {"action": "ping", "from": name})
    return peer


def publish(handler: FrameHandler, publisher: RecordingPeer, n: int) -> str:
    reply = send(handler, publisher, {"action": "publish", "topic": "t", "data": n})
    assert reply[0]["offset"] == n
    return str(reply[0]["epoch"])


def test_recovered_then_subscribed_then_live(handler: FrameHandler, engine: LaterHistory) -> None:
    publisher = registered(handler, "pub")
    epoch = publish(handler, publisher, 1)
    publish(handler, publisher, 2)
    publish(handler, publisher, 3)
    client = registered(handler, "c")
    assert send(handler, client, {"action": "subscribe", "topic": "t", "since": {"offset": 1, "epoch": epoch}}) == []
    engine.answer()
    publish(handler, publisher, 4)
    frames = client.take()
    assert [f.get("offset") for f in frames] == [2, 3, 3, 4]
    assert frames[2] == {"action": "subscribed", "topic": "t", "offset": 3, "epoch": epoch, "recovered": True}


def test_publications_made_during_the_read_follow_subscribed(handler: FrameHandler, engine: LaterHistory) -> None:
    publisher = registered(handler, "pub")
    epoch = publish(handler, publisher, 1)
    client = registered(handler, "c")
    send(handler, client, {"action": "subscribe", "topic": "t", "since": {"offset": 0, "epoch": epoch}})
    publish(handler, publisher, 2)  # after the read, before its answer: held
    publish(handler, publisher, 3)
    engine.answer()
    publish(handler, publisher, 4)
    frames = client.take()
    assert [(f["action"], f.get("offset")) for f in frames] == [
        ("publish", 1), ("subscribed", 1), ("publish", 2), ("publish", 3), ("publish", 4)
    ]  # fmt: skip


def test_another_nodes_late_copy_of_a_recovered_publication_is_dropped(
    handler: FrameHandler, engine: LaterHistory
) -> None:
    publisher = registered(handler, "pub")
    epoch = publish(handler, publisher, 1)
    client, other = registered(handler, "c"), registered(handler, "o")
    send(handler, other, {"action": "subscribe", "topic": "t"})
    send(handler, client, {"action": "subscribe", "topic": "t", "since": {"offset": 0, "epoch": epoch}})
    engine.answer()
    assert [f.get("offset") for f in client.take()] == [1, 1]  # the publication, then subscribed at 1
    # Offset 1 arrives from another node only now (spec/cluster.md §9): not again for the recovered client.
    handler.broker.deliver("t", msgspec.Raw(b"1"), "pub", 1)
    handler.broker.deliver("t", msgspec.Raw(b"2"), "pub", 2)
    assert [f["offset"] for f in client.take()] == [2]
    assert [f["offset"] for f in other.take()] == [1, 1, 2]
    assert handler.broker.history is not None and handler.broker.history.seams == {}


def test_subscribing_again_with_since_sends_no_duplicate_live_frames(
    handler: FrameHandler, engine: LaterHistory
) -> None:
    publisher = registered(handler, "pub")
    client = registered(handler, "c")
    send(handler, client, {"action": "subscribe", "topic": "t"})
    engine.answer()
    epoch = client.take()[0]["epoch"]
    publish(handler, publisher, 1)
    assert [f["offset"] for f in client.take()] == [1]
    send(handler, client, {"action": "subscribe", "topic": "t", "since": {"offset": 0, "epoch": epoch}})
    publish(handler, publisher, 2)  # live, once: the client is subscribed already, nothing is held for it
    engine.answer()  # then what it asked for again: the read saw offset 1
    assert [(f["action"], f.get("offset")) for f in client.take()] == [
        ("publish", 2), ("publish", 1), ("subscribed", 1)
    ]  # fmt: skip


def test_a_connection_gone_during_the_read_gets_nothing_and_leaves_nothing(
    handler: FrameHandler, engine: LaterHistory
) -> None:
    publisher = registered(handler, "pub")
    epoch = publish(handler, publisher, 1)
    client = registered(handler, "c")
    send(handler, client, {"action": "subscribe", "topic": "t", "since": {"offset": 0, "epoch": epoch}})
    handler.broker.disconnect(client)
    publish(handler, publisher, 2)
    engine.answer()
    assert client.take() == []
    history = handler.broker.history
    assert history is not None and history.pending == {} and handler.broker.topics.peers("t") is None
