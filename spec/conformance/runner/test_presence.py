"""Scenarios `presence.*` (scenarios.md, Presence; spec/protocol.md §15)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from harness import RunnerServer, eventually
from test_auth import SECRET, mint


async def test_presence_count_ids(server, adapters, connect):
    a, b, c = await adapters("A"), await adapters("B"), await adapters("C")
    for adapter, name in ((a, "A"), (b, "B"), (c, "C")):
        await connect(adapter, id=name)
    await a.call("subscribe", topic="room")
    await b.call("subscribe", topic="room")
    server.s.Subscribe("room", lambda message, unsub: None)  # not a member (spec §15.1)
    assert await c.call("presence", topic="room") == {"count": 2, "ids": ["A", "B"], "truncated": False}
    await b.call("unsubscribe", topic="room")
    # An unsubscribe may return before the server processed it (JS): wait until it counts A alone.
    await eventually(lambda: server.s.CountSubscribers("room")["ws"] == 1, what="B unsubscribed")
    assert await c.call("presence", topic="room") == {"count": 1, "ids": ["A"], "truncated": False}
    assert await c.call("presence", topic="nobody") == {"count": 0, "ids": [], "truncated": False}


async def test_presence_join_leave(server, adapters, connect):
    a, b = await adapters("A"), await adapters("B")
    await connect(a, id="A")
    await connect(b, id="B")
    await a.call("subscribe_join_leave", topic="room")
    await b.call("subscribe", topic="room")
    await b.call("unsubscribe", topic="room")
    await b.call("subscribe", topic="room")
    await b.call("close")
    for kind in ("join", "leave", "join", "leave"):
        await a.event(kind, topic="room", id="B")
    members = [(event["event"], event["id"]) for event in a.events if event.get("event") in ("join", "leave")]
    assert members == [("join", "B"), ("leave", "B"), ("join", "B"), ("leave", "B")]


@pytest.fixture
async def auth_server() -> AsyncIterator[RunnerServer]:
    runner_server = RunnerServer(jwt_secret=SECRET, jwt_leeway=0)
    await runner_server.start()
    yield runner_server
    await runner_server.stop()


async def test_presence_forbidden(auth_server, adapters):
    a = await adapters("A")
    connected = await a.reply(
        a.send("connect", address=auth_server.address, path="/ws/bus", token=mint("A", subscribe=["public.*"]))
    )
    assert connected["ok"], connected
    reply = await a.reply(a.send("presence", topic="private"))
    assert not reply["ok"] and reply.get("code") == "forbidden", reply
    assert await a.call("presence", topic="public.1") == {"count": 0, "ids": [], "truncated": False}
    assert a.untaken("disconnected") == []
