"""Scenarios `auth.*` (scenarios.md, Authentication and permissions): tokens minted with PyJWT against a
server started with a JWT secret (spec/protocol.md §10, §11)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from harness import UNIT, RunnerServer

#: Test-only HS256 secrets, made up for these scenarios.
SECRET = "conformance-secret-0123456789abcdef"
OTHER_SECRET = "another-secret-0123456789abcdefgh"
FAST_RETRY = {"autorestart": True, "reconnect_initial_ms": 50, "reconnect_max_ms": 250}


def mint(sub: str, *, ttl: float = 3600.0, secret: str = SECRET, **claims: Any) -> str:
    """An HS256 token for `sub` that expires in `ttl` seconds (at most one less: `exp` is an integer)."""
    return jwt.encode({"sub": sub, "exp": int(time.time() + ttl), **claims}, secret, algorithm="HS256")


@pytest.fixture
async def server() -> AsyncIterator[RunnerServer]:
    """The runner's server, requiring tokens signed with SECRET."""
    runner_server = RunnerServer(jwt_secret=SECRET, jwt_leeway=0)
    await runner_server.start()
    yield runner_server
    await runner_server.stop()


async def test_auth_token_accepted(server, adapters, connect):
    a = await adapters("A")
    assert (await connect(a, token=mint("A")))["id"] == "A"
    await a.call("subscribe", topic="news")
    server.s.Publish("news", "hello")
    assert (await a.event("message", topic="news"))["data"] == "hello"


async def test_auth_token_refused(server, adapters):
    a = await adapters("A")
    reply = await a.reply(a.send("connect", address=server.address, path="/ws/bus",
                                 token=mint("A", secret=OTHER_SECRET)))
    assert not reply["ok"]
    assert reply.get("error_type") == "AuthError", reply
    assert server.s.CountClients() == 0


async def test_auth_token_expired_closes(server, adapters, connect):
    a = await adapters("A")
    await connect(a, token=mint("A", ttl=2 * UNIT), **FAST_RETRY)
    event = await a.event("disconnected", timeout=5 * UNIT)
    assert event["code"] == 4004
    await a.event("error", error_type="AuthError")
    await a.quiet("connected", within=1 * UNIT)


async def test_auth_token_refreshed_in_place(server, adapters, connect):
    a = await adapters("A")
    await connect(a, id="A", tokens=[mint("A", ttl=3 * UNIT), mint("A")], **FAST_RETRY)
    await a.call("subscribe", topic="news")
    await a.quiet("disconnected", within=3 * UNIT)
    server.s.Publish("news", "still here")
    assert (await a.event("message", topic="news"))["data"] == "still here"


async def test_auth_token_refreshed_on_reconnect(server, adapters, connect):
    a = await adapters("A")
    first = mint("A", ttl=3 * UNIT)
    await connect(a, id="A", tokens=[first, first, mint("A")], **FAST_RETRY)
    await a.call("subscribe", topic="news")
    event = await a.event("disconnected", timeout=6 * UNIT)
    assert event["code"] == 4004
    await a.event("connected")
    server.s.Publish("news", "after refresh")
    assert (await a.event("message", topic="news"))["data"] == "after refresh"


async def test_auth_publish_forbidden(server, adapters, connect):
    a, b = await adapters("A"), await adapters("B")
    await connect(a, token=mint("A", publish=["chat.*"]))
    await connect(b, token=mint("B"))
    await b.call("subscribe", topic="news")
    await b.call("subscribe", topic="chat.1")
    await a.call("publish", topic="news", data="not allowed")
    error = await a.event("error", code="forbidden")
    assert error["topic"] == "news", error
    handle = (await a.call("publish_with_ack", topic="news", data="nor this", timeout_ms=2000))["handle"]
    reply = await a.reply(a.send("ack_wait", handle=handle))
    assert not reply["ok"] and reply.get("code") == "forbidden", reply
    await a.call("publish", topic="chat.1", data="marker")
    assert (await b.event("message", topic="chat.1"))["data"] == "marker"
    assert b.untaken("message", topic="news") == []


async def test_auth_subscribe_forbidden(server, adapters, connect):
    a = await adapters("A")
    await connect(a, token=mint("A", subscribe=["public.*"]))
    reply = await a.reply(a.send("subscribe", topic="private"))
    assert not reply["ok"] and reply.get("code") == "forbidden", reply
    await a.call("subscribe", topic="public.1")
    server.s.Publish("private", "secret")
    server.s.Publish("public.1", "marker")
    assert (await a.event("message", topic="public.1"))["data"] == "marker"
    assert a.untaken("message", topic="private") == []


async def test_auth_takeover_refused(adapters):
    server = RunnerServer(jwt_secret=SECRET, jwt_leeway=0, anonymous="allow")
    await server.start()
    try:
        a, b = await adapters("A"), await adapters("B")
        await a.call("connect", address=server.address, path="/ws/bus", token=mint("X"))
        await a.event("connected")
        reply = await b.reply(b.send("connect", address=server.address, path="/ws/bus", id="X"))
        assert not reply["ok"] and reply.get("code") == "id_taken", reply
        server.s.PublishToID("X", "still mine")
        assert (await a.event("direct"))["data"] == "still mine"
        assert a.untaken("disconnected") == []
    finally:
        await server.stop()
