"""Scenarios `history.*` (scenarios.md, History and recovery; spec/protocol.md §14).

A client that remembers its position per topic recovers what it missed while disconnected: automatically on
reconnection (`subscribed` event: recovering true), or explicitly with `subscribe(since=...)`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from harness import UNIT, Adapter, RedisServer, RunnerServer, eventually, next_item
from test_auth import SECRET, mint

FAST_RETRY = {"autorestart": True, "reconnect_initial_ms": 50, "reconnect_max_ms": 250}
#: Every topic keeps its last 10,000 publications (and a recovery may replay them all), `short.*` only its last
#: 3, `plain.*` none.
HISTORY: dict[str, Any] = {
    "history_size": 10_000,
    "history_recover_max": 10_000,
    "history": ("short.*=3", "plain.*=0"),
}
#: Times the seam scenario drops the subscriber while the publisher runs.
SEAM_ROUNDS = 3


@pytest.fixture
async def server() -> AsyncIterator[RunnerServer]:
    """The runner's server, with history (memory engine)."""
    runner_server = RunnerServer(**HISTORY)
    await runner_server.start()
    yield runner_server
    await runner_server.stop()


def messages(adapter: Adapter, topic: str) -> list[dict[str, Any]]:
    """Every `message` event of `topic` so far, in the order the adapter emitted them."""
    return [event for event in adapter.events if event.get("event") == "message" and event.get("topic") == topic]


async def take(adapter: Adapter, topic: str, count: int) -> list[dict[str, Any]]:
    """The next `count` message events of `topic`, in order."""
    return [await adapter.event("message", topic=topic) for _ in range(count)]


def data_and_offsets(events: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    return [(event["data"], event.get("offset")) for event in events]


def stored(server: RunnerServer, topic: str) -> asyncio.Queue[dict[str, Any]]:
    """A server-side subscriber of `topic`: it gets each publication once the server kept it (a fence)."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    server.s.Subscribe(topic, lambda message, unsub: queue.put_nowait(message))
    return queue


async def fence(queue: asyncio.Queue[dict[str, Any]], count: int) -> None:
    for _ in range(count):
        await next_item(queue)


async def subscribed(adapter: Adapter, topic: str, **match: Any) -> dict[str, Any]:
    """The next `subscribed` event of `topic` (with these fields); its epoch is a non-empty string."""
    event = await adapter.event("subscribed", topic=topic, **match)
    assert isinstance(event.get("epoch"), str) and event["epoch"], event
    assert isinstance(event.get("offset"), int), event
    return event


def state(event: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """(recovering, recovered, offset, epoch) of a `subscribed` event."""
    return event.get("recovering"), event.get("recovered"), event.get("offset"), event.get("epoch")


async def test_history_recover_after_drop(server, adapters, connect):
    a, b = await adapters("A"), await adapters("B")
    await connect(a, id="A", **FAST_RETRY)
    await connect(b, id="B")
    await a.call("subscribe", topic="feed")
    first = await subscribed(a, "feed")
    epoch = first["epoch"]
    assert state(first) == (False, False, 0, epoch), first
    kept = stored(server, "feed")
    for n in (1, 2):
        await b.call("publish", topic="feed", data=n)
    assert data_and_offsets(await take(a, "feed", 2)) == [(1, 1), (2, 2)]
    server.refuse_connections()
    server.drop("A")
    await a.event("disconnected")
    for n in (3, 4, 5):
        await b.call("publish", topic="feed", data=n)
    await fence(kept, 5)  # the server kept 3, 4, 5 while A was away
    server.accept_connections()
    restored = await subscribed(a, "feed", recovering=True)
    assert state(restored) == (True, True, 5, epoch), restored
    await a.event("connected")
    await b.call("publish", topic="feed", data=6)
    got = await take(a, "feed", 4)
    assert data_and_offsets(got) == [(3, 3), (4, 4), (5, 5), (6, 6)]
    assert {event["from"] for event in got} == {"B"}
    assert a.untaken("message", topic="feed") == []  # each once: 6 came last, after any duplicate
    assert await a.call("position", topic="feed") == {"position": {"offset": 6, "epoch": epoch}}


async def test_history_recover_after_restart_redis(adapters, redis: RedisServer):
    # The picows listener even under `--server asgi`: an ASGI mount (without `listen=True`) never starts the
    # server, so it cannot join Redis and refuses to serve it (scenarios.md says so).
    server = RunnerServer(own_listener=True, redis_url=redis.url(), redis_prefix="conformance-history", **HISTORY)
    await server.start()
    try:
        a = await adapters("A")
        await a.call("connect", address=server.address, path="/ws/bus", id="A", **FAST_RETRY)
        await a.event("connected")
        await a.call("subscribe", topic="feed")
        epoch = (await subscribed(a, "feed", recovering=False))["epoch"]
        for n in (1, 2, 3):
            server.s.Publish("feed", n)
        assert data_and_offsets(await take(a, "feed", 3)) == [(1, 1), (2, 2), (3, 3)]
        await server.stop()
        await a.event("disconnected")
        server.refuse_connections()  # A stays away while the restarted server publishes
        await server.start()
        kept = stored(server, "feed")
        for n in (4, 5, 6):
            server.s.Publish("feed", n)
        await fence(kept, 3)  # delivered once Redis gave them their offsets: they are in Redis
        server.accept_connections()
        restored = await subscribed(a, "feed", recovering=True)
        assert state(restored) == (True, True, 6, epoch), restored
        await a.event("connected")
        server.s.Publish("feed", 7)
        got = await take(a, "feed", 4)
        assert data_and_offsets(got) == [(4, 4), (5, 5), (6, 6), (7, 7)]
        assert a.untaken("message", topic="feed") == []
    finally:
        await server.stop()


async def test_history_not_recovered_trimmed(server, adapters, connect):
    a, b = await adapters("A"), await adapters("B")
    await connect(a, id="A", **FAST_RETRY)
    await a.call("subscribe", topic="short.t")
    epoch = (await subscribed(a, "short.t"))["epoch"]
    server.s.Publish("short.t", 1)
    assert data_and_offsets(await take(a, "short.t", 1)) == [(1, 1)]
    server.refuse_connections()
    server.drop("A")
    await a.event("disconnected")
    for n in range(2, 9):  # 7 publications; `short.*` keeps the last 3 (6, 7, 8)
        server.s.Publish("short.t", n)
    server.accept_connections()
    restored = await subscribed(a, "short.t", recovering=True)
    assert state(restored) == (True, False, 8, epoch), restored
    await a.event("connected")
    server.s.Publish("short.t", 9)
    # What is still kept is delivered (the live stream goes on without a hole), then the live stream.
    assert data_and_offsets(await take(a, "short.t", 4)) == [(6, 6), (7, 7), (8, 8), (9, 9)]
    assert a.untaken("message", topic="short.t") == []
    # The same, explicitly: a client subscribes since a position that was trimmed meanwhile.
    await connect(b, id="B")
    await b.call("subscribe", topic="short.t", since={"offset": 1, "epoch": epoch})
    explicit = await subscribed(b, "short.t")
    assert state(explicit) == (True, False, 9, epoch), explicit
    server.s.Publish("short.t", 10)
    assert data_and_offsets(await take(b, "short.t", 4)) == [(7, 7), (8, 8), (9, 9), (10, 10)]
    assert b.untaken("message", topic="short.t") == []
    assert await b.call("position", topic="short.t") == {"position": {"offset": 10, "epoch": epoch}}


async def test_history_not_recovered_epoch_changed(server, adapters, connect):
    a, b = await adapters("A"), await adapters("B")
    await connect(a, id="A", **FAST_RETRY)
    await a.call("subscribe", topic="room")
    old = (await subscribed(a, "room"))["epoch"]
    for n in (1, 2):
        server.s.Publish("room", n)
    assert data_and_offsets(await take(a, "room", 2)) == [(1, 1), (2, 2)]
    await server.stop()  # the memory engine's streams end with the server: every epoch changes
    await a.event("disconnected")
    await server.start()
    restored = await subscribed(a, "room", recovering=True)
    new = restored["epoch"]
    assert new != old and (restored["recovered"], restored["offset"]) == (False, 0), restored
    await a.event("connected")
    server.s.Publish("room", "new stream")
    # Offset 1 again, lower than the 2 A saw: another stream, delivered, not dropped.
    assert data_and_offsets(await take(a, "room", 1)) == [("new stream", 1)]
    assert await a.call("position", topic="room") == {"position": {"offset": 1, "epoch": new}}
    # The same, explicitly: a client subscribes since a position of the old epoch; nothing of the new
    # stream is replayed as if it followed it.
    await connect(b, id="B")
    await b.call("subscribe", topic="room", since={"offset": 2, "epoch": old})
    explicit = await subscribed(b, "room")
    assert state(explicit) == (True, False, 1, new), explicit
    server.s.Publish("room", "live")
    assert data_and_offsets(await take(b, "room", 1)) == [("live", 2)]
    assert b.untaken("message", topic="room") == []
    assert data_and_offsets(await take(a, "room", 1)) == [("live", 2)]


async def test_history_seam_no_gap_no_duplicate(server, adapters, connect):
    a, b = await adapters("A"), await adapters("B")
    await connect(a, id="A", **FAST_RETRY)
    await connect(b, id="B")
    await race_the_seam(server, a, b)


async def test_history_seam_redis(adapters, redis: RedisServer):
    # The Redis engine reads history asynchronously: publications keep coming while the recovery read is out.
    server = RunnerServer(own_listener=True, redis_url=redis.url(), redis_prefix="conformance-seam", **HISTORY)
    await server.start()
    try:
        a, b = await adapters("A"), await adapters("B")
        await a.call("connect", address=server.address, path="/ws/bus", id="A", **FAST_RETRY)
        await b.call("connect", address=server.address, path="/ws/bus", id="B")
        await a.event("connected")
        await b.event("connected")
        await race_the_seam(server, a, b)
    finally:
        await server.stop()


async def race_the_seam(server: RunnerServer, a: Adapter, b: Adapter) -> None:
    """A follows `stream` while B publishes 1, 2, 3, ... on it without pause; S drops A SEAM_ROUNDS times.

    Every restore races B's publications: A must get each number exactly once, in order.
    """
    await a.call("subscribe", topic="stream")
    epoch = (await subscribed(a, "stream"))["epoch"]
    stop = asyncio.Event()

    async def publish_continuously() -> int:
        n = 0
        while not stop.is_set():
            n += 1
            await b.call("publish", topic="stream", data=n)
        return n

    publisher = asyncio.create_task(publish_continuously())
    try:
        for _ in range(SEAM_ROUNDS):
            seen = len(messages(a, "stream"))
            await eventually(lambda seen=seen: len(messages(a, "stream")) >= seen + 20, what="deliveries to A")
            server.drop("A")  # while B publishes: the restore races the stream
            restored = await subscribed(a, "stream", recovering=True)
            assert (restored["recovered"], restored["epoch"]) == (True, epoch), restored
            seen = len(messages(a, "stream"))
            await eventually(lambda seen=seen: len(messages(a, "stream")) >= seen + 20, what="the live stream")
    finally:
        stop.set()
        last = await publisher
    await a.event("message", topic="stream", data=last, timeout=10 * UNIT)
    got = messages(a, "stream")
    numbers = [event["data"] for event in got]
    assert numbers == list(range(1, last + 1)), seam_report(numbers, got, last, a)
    assert [event.get("offset") for event in got] == list(range(1, last + 1)), seam_report(numbers, got, last, a)


def seam_report(numbers: list[Any], got: list[dict[str, Any]], last: int, a: Adapter) -> str:
    """What went wrong at a seam: missing and repeated numbers, and the events around the first difference."""
    counts: dict[Any, int] = {}
    for number in numbers:
        counts[number] = counts.get(number, 0) + 1
    missing = sorted(set(range(1, last + 1)) - set(numbers))
    repeated = sorted(number for number, count in counts.items() if count > 1)
    first = next((i for i, event in enumerate(got) if event["data"] != i + 1 or event.get("offset") != i + 1), None)
    near = got[max(0, (first or 0) - 5) : (first or 0) + 10]
    restores = [e for e in a.events if e.get("event") in ("subscribed", "disconnected", "connected")]
    return (
        f"a gap or a duplicate at a seam: {len(numbers)} messages for 1..{last}; missing {missing[:20]}, "
        f"repeated {repeated[:20]}; first difference at index {first}: {near}; restores: {restores}"
    )


async def test_history_read(server, adapters, connect):
    a, b = await adapters("A"), await adapters("B")
    await connect(a, id="A")
    await connect(b, id="B")
    await a.call("subscribe", topic="log")
    epoch = (await subscribed(a, "log"))["epoch"]
    for n in range(1, 6):
        await b.call("publish", topic="log", data={"n": n})
    await take(a, "log", 5)  # kept before they were delivered

    def page(*numbers: int, offset: int = 5) -> dict[str, Any]:
        publications = [{"data": {"n": n}, "from": "B", "offset": n} for n in numbers]
        return {"publications": publications, "offset": offset, "epoch": epoch}

    since = {"offset": 2, "epoch": epoch}
    assert await a.call("history", topic="log") == page(1, 2, 3, 4, 5)
    assert await a.call("history", topic="log", since=since) == page(3, 4, 5)
    assert await a.call("history", topic="log", limit=2) == page(1, 2)
    assert await a.call("history", topic="log", since=since, limit=2) == page(3, 4)
    assert await a.call("history", topic="log", reverse=True, limit=2) == page(5, 4)
    assert await a.call("history", topic="log", since={"offset": 4, "epoch": epoch}, reverse=True) == page(3, 2, 1)
    assert await a.call("history", topic="log", limit=0) == page()
    assert await a.call("history", topic="log", since={"offset": 2, "epoch": epoch + "-other"}) == page()
    # B, which never subscribed, reads the same.
    assert await b.call("history", topic="log", since=since) == page(3, 4, 5)


async def test_history_read_no_history(server, adapters, connect):
    a = await adapters("A")
    await connect(a, id="A")
    reply = await a.reply(a.send("history", topic="plain.x"))
    assert not reply["ok"], reply
    assert (reply.get("error_type"), reply.get("code")) == ("ServerErrorReply", "no_history"), reply
    # The connection still works: a topic with history that nobody published to answers its position.
    empty = await a.call("history", topic="quiet")
    assert empty["publications"] == [] and empty["offset"] == 0, empty
    assert isinstance(empty["epoch"], str) and empty["epoch"], empty
    assert a.untaken("disconnected") == []


async def test_history_read_offline(server, adapters, connect):
    a = await adapters("A")
    await connect(a, id="A", **FAST_RETRY)
    await a.call("subscribe", topic="feed")
    epoch = (await subscribed(a, "feed"))["epoch"]
    server.s.Publish("feed", 1)
    await take(a, "feed", 1)
    await server.stop()
    await a.event("disconnected")
    reply = await a.reply(a.send("history", topic="feed"), timeout=1 * UNIT)  # refused at once, never queued
    assert not reply["ok"] and reply.get("error_type") == "NotConnected", reply
    # What the client remembers needs no server.
    assert await a.call("position", topic="feed") == {"position": {"offset": 1, "epoch": epoch}}


async def test_history_position(server, adapters, connect):
    a = await adapters("A")
    await connect(a, id="A")
    assert await a.call("position", topic="pos") == {"position": None}
    await a.call("subscribe", topic="pos")
    epoch = (await subscribed(a, "pos"))["epoch"]
    assert await a.call("position", topic="pos") == {"position": {"offset": 0, "epoch": epoch}}
    for n in (1, 2, 3):
        server.s.Publish("pos", n)
    await take(a, "pos", 3)
    assert await a.call("position", topic="pos") == {"position": {"offset": 3, "epoch": epoch}}
    # A topic without history has no position and no `subscribed` event; `pos2`'s event, answered after it on
    # the same connection, is the marker.
    await a.call("subscribe", topic="plain.p")
    await a.call("subscribe", topic="pos2")
    await subscribed(a, "pos2")
    assert a.untaken("subscribed", topic="plain.p") == []
    assert await a.call("position", topic="plain.p") == {"position": None}
    server.s.Publish("plain.p", "no offset")  # and its messages carry no offset
    assert "offset" not in (await a.event("message", topic="plain.p")), a.events
    # Unsubscribing forgets the position.
    await a.call("unsubscribe", topic="pos")
    assert await a.call("position", topic="pos") == {"position": None}


async def test_history_subscribe_since_stored(server, adapters, connect):
    a, c = await adapters("A"), await adapters("C")
    await connect(a, id="A")
    await a.call("subscribe", topic="doc")
    epoch = (await subscribed(a, "doc"))["epoch"]
    for n in (1, 2, 3):
        server.s.Publish("doc", n)
    await take(a, "doc", 3)
    position = (await a.call("position", topic="doc"))["position"]
    assert position == {"offset": 3, "epoch": epoch}
    await a.call("close")  # the page goes away with what it saw; the next one starts from the stored position
    for n in (4, 5):
        server.s.Publish("doc", n)
    await connect(c, id="A-reloaded")
    await c.call("subscribe", topic="doc", since=position)
    resumed = await subscribed(c, "doc")
    assert state(resumed) == (True, True, 5, epoch), resumed
    server.s.Publish("doc", 6)
    assert data_and_offsets(await take(c, "doc", 3)) == [(4, 4), (5, 5), (6, 6)]
    assert c.untaken("message", topic="doc") == []
    assert await c.call("position", topic="doc") == {"position": {"offset": 6, "epoch": epoch}}


async def test_history_resubscribe_without_since(server, adapters, connect):
    a = await adapters("A")
    await connect(a, id="A")
    await a.call("subscribe", topic="again")
    epoch = (await subscribed(a, "again"))["epoch"]
    for n in (1, 2):
        server.s.Publish("again", n)
    await take(a, "again", 2)
    # Subscribing again without `since` does not recover by itself (a publication in flight would come twice):
    # the frame carries no `since`, so the answer is not a recovery.
    await a.call("subscribe", topic="again")
    again = await subscribed(a, "again")
    assert state(again) == (False, False, 2, epoch), again
    server.s.Publish("again", 3)
    assert data_and_offsets(await take(a, "again", 1)) == [(3, 3)]
    assert a.untaken("message", topic="again") == []
    assert await a.call("position", topic="again") == {"position": {"offset": 3, "epoch": epoch}}


async def test_history_new_stream_while_subscribed(adapters):
    # One stream at most in memory: publishing to another topic evicts `evict.a`'s (spec §14.5).
    server = RunnerServer(history_size=100, history_max_topics=1)
    await server.start()
    try:
        a = await adapters("A")
        await a.call("connect", address=server.address, path="/ws/bus", id="A", **FAST_RETRY)
        await a.event("connected")
        await a.call("subscribe", topic="evict.a")
        old = (await subscribed(a, "evict.a"))["epoch"]
        for n in (1, 2, 3):
            server.s.Publish("evict.a", n)
        assert data_and_offsets(await take(a, "evict.a", 3)) == [(1, 1), (2, 2), (3, 3)]
        server.s.Publish("evict.b", "evicts evict.a")
        server.s.Publish("evict.a", "after")  # a new stream: offset 1 again
        server.s.Publish("evict.a", "next")
        # Lower offsets than the 3 A saw are delivered, not filtered out as duplicates.
        assert data_and_offsets(await take(a, "evict.a", 2)) == [("after", 1), ("next", 2)]
        # The latest offset, not the highest; a delivery carries no epoch, so the old one stays until the
        # next `subscribed` answer.
        assert await a.call("position", topic="evict.a") == {"position": {"offset": 2, "epoch": old}}
        server.drop("A")
        restored = await subscribed(a, "evict.a", recovering=True)
        new = restored["epoch"]
        assert new != old and state(restored) == (True, False, 2, new), restored
        await a.event("connected")
        assert await a.call("position", topic="evict.a") == {"position": {"offset": 2, "epoch": new}}
        assert a.untaken("message", topic="evict.a") == []
    finally:
        await server.stop()


async def test_history_forbidden(adapters):
    # Reading history is a permission of its own, defaulting to the subscribe patterns (spec §14.6).
    server = RunnerServer(jwt_secret=SECRET, jwt_leeway=0, **HISTORY)
    await server.start()
    try:
        a = await adapters("A")
        token = mint("A", subscribe=["public.*"], history=["public.open.*"])
        await a.call("connect", address=server.address, path="/ws/bus", token=token)
        await a.event("connected")
        for topic in ("public.closed", "public.open.x"):
            for n in (1, 2):
                server.s.Publish(topic, n)
        for topic in ("public.closed", "private"):
            reply = await a.reply(a.send("history", topic=topic))
            assert not reply["ok"], reply
            assert (reply.get("error_type"), reply.get("code")) == ("ServerErrorReply", "forbidden"), reply
        page = await a.call("history", topic="public.open.x")
        assert [(p["data"], p["offset"]) for p in page["publications"]] == [(1, 1), (2, 2)], page
        # Recovering reads history too: without the permission nothing is replayed, and `recovered` says
        # that something was missed.
        epoch = (await server.s.history("public.closed", limit=0)).epoch
        await a.call("subscribe", topic="public.closed", since={"offset": 0, "epoch": epoch})
        explicit = await subscribed(a, "public.closed")
        assert state(explicit) == (True, False, 2, epoch), explicit
        server.s.Publish("public.closed", 3)
        assert data_and_offsets(await take(a, "public.closed", 1)) == [(3, 3)]
        assert a.untaken("message", topic="public.closed") == []
        assert a.untaken("disconnected") == []
    finally:
        await server.stop()
