"""Scenarios `errors.*` (scenarios.md, Refusals): a refused request fails with the vocabulary's
ServerErrorReply, matched to its request (spec/protocol.md §10.4, §11), in every client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from harness import RunnerServer
from test_auth import SECRET, mint


@pytest.fixture
async def server() -> AsyncIterator[RunnerServer]:
    """The runner's server, with permissions from signed tokens."""
    runner_server = RunnerServer(jwt_secret=SECRET, jwt_leeway=0)
    await runner_server.start()
    yield runner_server
    await runner_server.stop()


async def test_errors_subscribe_refused(server, adapters, connect):
    a, b = await adapters("A"), await adapters("B")
    await connect(a, token=mint("A", subscribe=["public.*"]))
    await connect(b, token=mint("B"))
    reply = await a.reply(a.send("subscribe", topic="private"))
    assert not reply["ok"], "a refused Subscribe must fail, not return normally"
    assert reply.get("error_type") == "ServerErrorReply" and reply.get("code") == "forbidden", reply
    assert reply.get("topic") == "private", reply
    await a.call("subscribe", topic="public.1")  # answers once the server confirmed it: no polling
    await b.call("publish", topic="private", data="secret")
    await b.call("publish", topic="public.1", data="marker")
    assert (await a.event("message", topic="public.1"))["data"] == "marker"
    assert a.untaken("message", topic="private") == []
    assert a.untaken("error") == [], "an awaited refusal is not reported twice"


async def test_errors_subscribe_refused_topic_too_long(server, adapters, connect):
    a = await adapters("A")
    await connect(a, token=mint("A"))
    reply = await a.reply(a.send("subscribe", topic="y" * 300))
    assert not reply["ok"] and reply.get("error_type") == "ServerErrorReply", reply
    await a.call("subscribe", topic="after")
    await a.call("publish", topic="after", data="still works")
    assert (await a.event("message", topic="after"))["data"] == "still works"


async def test_errors_publish_refused(server, adapters, connect):
    a, b = await adapters("A"), await adapters("B")
    await connect(a, token=mint("A", publish=["chat.*"]))
    await connect(b, token=mint("B"))
    await b.call("subscribe", topic="news")
    await b.call("subscribe", topic="chat.1")
    await a.call("publish", topic="news", data="not allowed")
    error = await a.event("error", error_type="ServerErrorReply")
    assert error.get("code") == "forbidden" and error.get("topic") == "news", error
    await a.call("publish", topic="chat.1", data="marker")
    assert (await b.event("message", topic="chat.1"))["data"] == "marker"
    assert b.untaken("message", topic="news") == []
