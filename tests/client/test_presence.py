"""Presence in the Python client (spec §15): `presence`, `join_leave` subscriptions, OnJoin/OnLeave."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
import pytest

from ksps.client import Client, ServerErrorReply
from ksps.errors import NotConnected
from ksps.testing import RestartableServer

from .conftest import FAST_RETRY, UNIT, Hooks, NewClient, next_item

#: A made-up HS256 secret for these tests only.
SECRET = "presence-test-secret-0123456789abcdef"


def token_for(sub: str, **claims: Any) -> str:
    return jwt.encode({"sub": sub, "exp": int(time.time() + 3600), **claims}, SECRET, algorithm="HS256")


def noop(message: Any, unsub: Any) -> None:
    return None


async def test_presence_lists_members_sorted(new_client: NewClient) -> None:
    """PRES-1 from the client: count, sorted IDs, nothing truncated."""
    asker = await new_client(Id="asker")
    assert (await asker.presence("room")).count == 0
    for name in ("zed", "amy"):
        await (await new_client(Id=name)).Subscribe("room", noop)
    info = await asker.Presence("room")
    assert (info.count, info.ids, info.truncated) == (2, ["amy", "zed"], False)


async def test_on_join_and_on_leave_hear_members_of_join_leave_topics(new_client: NewClient) -> None:
    """PRES-2 from the client: the hooks get (topic, id) in order; topics without join_leave stay silent."""
    events: asyncio.Queue[tuple[str, str, str]] = asyncio.Queue()
    watcher = await new_client(
        Id="watcher",
        OnJoin=lambda topic, client_id: events.put_nowait(("join", topic, client_id)),
        on_leave=lambda topic, client_id: events.put_nowait(("leave", topic, client_id)),
    )
    await watcher.subscribe("room", noop, join_leave=True)
    await watcher.subscribe("quiet", noop)
    amy = await new_client(Id="amy")
    await amy.subscribe("quiet", noop)
    await amy.subscribe("room", noop)
    await amy.unsubscribe("room")
    assert [await next_item(events) for _ in range(2)] == [("join", "room", "amy"), ("leave", "room", "amy")]
    await amy.subscribe("room", noop)
    await amy.Close()
    assert [await next_item(events) for _ in range(2)] == [("join", "room", "amy"), ("leave", "room", "amy")]
    assert events.empty()


async def test_join_leave_is_restored_after_a_reconnection(server: RestartableServer, new_client: NewClient) -> None:
    """The subscription is sent again with `join_leave` on every new connection (spec §15.3)."""
    events: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    hooks = Hooks()
    watcher = await new_client(
        Id="watcher", OnJoin=lambda topic, client_id: events.put_nowait((topic, client_id)), **hooks.options()
    )
    await watcher.Subscribe("room", noop, join_leave=True)
    await next_item(hooks.connects)  # the first connection
    await server.stop()
    with pytest.raises(NotConnected):
        await watcher.presence("room")
    await server.start()
    await next_item(hooks.connects)
    await (await new_client(Id="amy")).Subscribe("room", noop)
    assert await next_item(events) == ("room", "amy")


async def test_presence_refused_without_the_subscribe_permission() -> None:
    """PRES-6 from the client: ServerErrorReply with code `forbidden`; the client keeps working."""
    server = await RestartableServer(jwt_secret=SECRET, anonymous="allow").start()
    try:
        token = token_for("alice", subscribe=["news.*"])
        client = await Client.NewClient(Address=server.address, Token=token, **FAST_RETRY)
        with pytest.raises(ServerErrorReply) as refused:
            await client.presence("secret")
        assert (refused.value.code, refused.value.topic) == ("forbidden", "secret")
        assert (await asyncio.wait_for(client.presence("news.x"), 5 * UNIT)).count == 0
        await client.Close()
    finally:
        await server.stop()
