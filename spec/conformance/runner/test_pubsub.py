"""Scenarios `pubsub.*` (scenarios.md, Publish / subscribe)."""

from __future__ import annotations


async def test_pubsub_basic(server, adapters, connect):
    a, b = await adapters("A"), await adapters("B")
    await connect(a, id="A")
    await connect(b, id="B")
    await a.call("subscribe", topic="news")
    await b.call("publish", topic="news", data={"x": 1})
    event = await a.event("message", topic="news")
    assert (event["data"], event["from"]) == ({"x": 1}, "B")


async def test_pubsub_self_delivery(server, adapters, connect):
    a = await adapters("A")
    await connect(a, id="A")
    await a.call("subscribe", topic="echo")
    await a.call("publish", topic="echo", data="me")
    event = await a.event("message", topic="echo")
    assert (event["data"], event["from"]) == ("me", "A")


async def test_pubsub_server_publish(server, adapters, connect):
    a = await adapters("A")
    await connect(a, id="A")
    await a.call("subscribe", topic="news")
    server.s.Publish("news", "from server")
    event = await a.event("message", topic="news")
    assert (event["data"], event["from"]) == ("from server", server.server_id)


PAYLOADS = ['héllo "wörld" \\ ☃', 42, 2.5, True, None, [1, "two", [3]], {"a": {"b": [1, {"c": None}]}}]


async def test_pubsub_payload_types(server, adapters, connect):
    a, b = await adapters("A"), await adapters("B")
    await connect(a, id="A")
    await connect(b, id="B")
    await a.call("subscribe", topic="types")
    for payload in PAYLOADS:
        await b.call("publish", topic="types", data=payload)
    received = [(await a.event("message", topic="types"))["data"] for _ in PAYLOADS]
    assert received == PAYLOADS


async def test_pubsub_order(server, adapters, connect):
    a, b = await adapters("A"), await adapters("B")
    await connect(a, id="A")
    await connect(b, id="B")
    await a.call("subscribe", topic="seq")
    pending = [b.send("publish", topic="seq", data=n) for n in range(200)]
    for future in pending:
        await b.result_of(future)
    received = [(await a.event("message", topic="seq"))["data"] for _ in range(200)]
    assert received == list(range(200))


async def test_pubsub_unsubscribe(server, adapters, connect):
    a, b = await adapters("A"), await adapters("B")
    await connect(a, id="A")
    await connect(b, id="B")
    await a.call("subscribe", topic="t1")
    await a.call("subscribe", topic="marker")
    await a.call("unsubscribe", topic="t1")
    await b.call("publish", topic="t1", data="unwanted")
    await b.call("publish", topic="marker", data="end")
    await a.event("message", topic="marker")
    assert a.untaken("message", topic="t1") == []


async def test_pubsub_unsub_in_callback(server, adapters, connect):
    a, b = await adapters("A"), await adapters("B")
    await connect(a, id="A")
    await connect(b, id="B")
    await a.call("subscribe", topic="once", behavior="unsub")
    await a.call("subscribe", topic="marker")
    await b.call("publish", topic="once", data=1)
    assert (await a.event("message", topic="once"))["data"] == 1
    await b.call("publish", topic="once", data=2)
    await b.call("publish", topic="marker", data="end")
    await a.event("message", topic="marker")
    assert a.untaken("message", topic="once") == []


async def test_pubsub_resubscribe_replaces(server, adapters, connect):
    a, b = await adapters("A"), await adapters("B")
    await connect(a, id="A")
    await connect(b, id="B")
    await a.call("subscribe", topic="t")
    await a.call("subscribe", topic="t")
    await a.call("subscribe", topic="marker")
    await b.call("publish", topic="t", data="only once")
    await b.call("publish", topic="marker", data="end")
    await a.event("message", topic="marker")
    assert [e["data"] for e in a.untaken("message", topic="t")] == ["only once"]
