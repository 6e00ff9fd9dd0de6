"""Scenarios `reconnect.*` (scenarios.md, Reconnection)."""

from __future__ import annotations

from harness import UNIT

FAST_RETRY = {"autorestart": True, "reconnect_initial_ms": 50, "reconnect_max_ms": 250}


async def test_reconnect_resubscribe(server, adapters, connect):
    a = await adapters("A")
    await connect(a, id="A", **FAST_RETRY)
    await a.call("subscribe", topic="news")
    await server.stop()
    await a.event("disconnected")
    await server.start()
    await a.event("connected")
    server.s.Publish("news", "back")
    assert (await a.event("message", topic="news"))["data"] == "back"


async def test_reconnect_offline_subscribe(server, adapters, connect):
    a = await adapters("A")
    await connect(a, id="A", **FAST_RETRY)
    await server.stop()
    await a.event("disconnected")
    await a.call("subscribe", topic="late")
    await server.start()
    await a.event("connected")
    server.s.Publish("late", "made offline")
    assert (await a.event("message", topic="late"))["data"] == "made offline"


async def test_reconnect_offline_queue(server, adapters, connect):
    a = await adapters("A")
    await connect(a, id="A", **FAST_RETRY)
    await a.call("subscribe", topic="q")
    await server.stop()
    await a.event("disconnected")
    for n in (1, 2, 3):
        await a.call("publish", topic="q", data=n)
    await server.start()
    await a.event("connected")
    received = [(await a.event("message", topic="q"))["data"] for _ in range(3)]
    assert received == [1, 2, 3]


async def test_reconnect_offline_queue_overflow(server, adapters, connect):
    a = await adapters("A")
    await connect(a, id="A", offline_queue_size=2, **FAST_RETRY)
    await a.call("subscribe", topic="q")
    await a.call("subscribe", topic="marker")
    await server.stop()
    await a.event("disconnected")
    replies = [await a.reply(a.send("publish", topic="q", data=n)) for n in (1, 2, 3)]
    refused = [reply for reply in replies if not reply["ok"]]
    if not refused:
        await a.event("error")
    await server.start()
    await a.event("connected")
    await a.call("publish", topic="marker", data="end")
    await a.event("message", topic="marker")
    assert len(a.untaken("message", topic="q")) <= 2


async def test_reconnect_replaced_no_retry(server, adapters, connect):
    a, b = await adapters("A"), await adapters("B")
    await connect(a, id="X", **FAST_RETRY)
    await connect(b, id="X", **FAST_RETRY)
    event = await a.event("disconnected")
    assert event["code"] == 4001
    await a.quiet("connected", within=1 * UNIT)
    assert b.untaken("disconnected") == []
    server.s.PublishToID("X", "who?")
    assert (await b.event("direct"))["data"] == "who?"
    assert a.untaken("direct") == []
