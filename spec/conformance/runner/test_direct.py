"""Scenarios `direct.*` (scenarios.md, Direct messages)."""

from __future__ import annotations

from harness import next_item


async def test_direct_client_to_client(server, adapters, connect):
    a, b = await adapters("A"), await adapters("B")
    await connect(a, id="A")
    await connect(b, id="B")
    await b.call("publish_to_id", to="A", data={"hello": "a"})
    event = await a.event("direct")
    assert (event["data"], event["from"]) == ({"hello": "a"}, "B")


async def test_direct_client_to_server(server, adapters, connect):
    a = await adapters("A")
    await connect(a, id="A")
    await a.call("publish_to_id", to=server.server_id, data={"q": 1})
    assert await next_item(server.direct) == {"data": {"q": 1}, "from": "A"}


async def test_direct_server_to_client(server, adapters, connect):
    a = await adapters("A")
    await connect(a, id="A")
    server.s.PublishToID("A", [1, 2])
    event = await a.event("direct")
    assert (event["data"], event["from"]) == ([1, 2], server.server_id)


async def test_direct_unknown_target(server, adapters, connect):
    a = await adapters("A")
    await connect(a, id="A")
    await a.call("subscribe", topic="alive")
    await a.call("publish_to_id", to="nobody", data="lost")
    await a.call("publish", topic="alive", data="still here")
    assert (await a.event("message", topic="alive"))["data"] == "still here"
    assert a.untaken("direct") == []
