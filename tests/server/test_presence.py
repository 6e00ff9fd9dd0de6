"""Presence over the wire (spec §15): `presence` replies, `join`/`leave` events, permissions, bad input."""

from __future__ import annotations

from typing import Any

import pytest

from ksps import Server

from .conftest import Connect, StartServer
from .http_pages import scrape, value
from .tokens import SECRET, hs256
from .wire import Frame, WireClient


async def presence(client: WireClient, topic: str, rid: str = "p") -> Frame:
    await client.send({"action": "presence", "topic": topic, "rid": rid})
    return await client.expect("presence", topic=topic, rid=rid)


async def watch(client: WireClient, topic: str) -> None:
    await client.send({"action": "subscribe", "topic": topic, "join_leave": True})
    await client.expect("subscribed", topic=topic)


async def test_presence_follows_subscribe_unsubscribe_and_disconnect(connect: Connect, server: Server) -> None:
    """PRES-1: count and sorted IDs of the registered subscribers, across the three ways of leaving."""
    asker = await connect("asker")
    assert await presence(asker, "room") == {"action": "presence", "topic": "room", "count": 0, "ids": [], "rid": "p"}
    zed, amy, bob = await connect("zed"), await connect("amy"), await connect("bob")
    for client in (zed, amy, bob):
        await client.subscribe("room")
    server.subscribe("room", lambda message, unsub: None)  # server-side subscribers are not members (§15.1)
    reply = await presence(asker, "room")
    assert (reply["count"], reply["ids"]) == (3, ["amy", "bob", "zed"])
    assert "truncated" not in reply

    await amy.send({"action": "unsubscribe", "topic": "room"})
    await amy.expect("unsubscribed", topic="room")
    await zed.close()
    await bob.subscribe("other")
    assert (await presence(asker, "room"))["ids"] == ["bob"]
    info = await server.presence("room")
    assert (info.count, info.ids, info.truncated) == (1, ["bob"], False)


@pytest.mark.server_options(metrics=True)
async def test_join_and_leave_events_in_order(connect: Connect, server: Server) -> None:
    """PRES-2: a `join_leave` subscriber hears others come and go, in order, and not itself."""
    watcher = await connect("watcher")
    await watch(watcher, "room")
    plain = await connect("plain")
    await plain.subscribe("room")  # without join_leave: no events for it
    amy = await connect("amy")
    await amy.subscribe("room")
    await amy.subscribe("room")  # already a member: no second join
    await amy.send({"action": "unsubscribe", "topic": "room"})
    await amy.expect("unsubscribed", topic="room")
    await amy.subscribe("room")
    await amy.close()
    expected = [
        {"action": "join", "topic": "room", "id": "plain"},
        {"action": "join", "topic": "room", "id": "amy"},
        {"action": "leave", "topic": "room", "id": "amy"},
        {"action": "join", "topic": "room", "id": "amy"},
        {"action": "leave", "topic": "room", "id": "amy"},
    ]
    assert [await watcher.recv() for _ in expected] == expected
    metrics = await scrape(server.port)
    assert (value(metrics, "ksps_presence_watched_topics"), value(metrics, "ksps_presence_events_pending")) == (1, 0)
    assert await plain.sync() == []  # the subscriber without join_leave got none of them
    # A later subscribe without join_leave turns the events off (each subscribe says, §15.3).
    await watcher.subscribe("room")
    await (await connect("late")).subscribe("room")
    assert await watcher.sync() == []


async def test_rename_leaves_with_the_old_id_and_takeover_keeps_membership(connect: Connect) -> None:
    """PRES-3: a `ping` with another ID drops the subscriptions (§3.1): the old ID leaves; a takeover
    keeps the ID's subscriptions, so nobody leaves or joins."""
    watcher = await connect("watcher")
    await watch(watcher, "room")
    amy = await connect("amy")
    await amy.subscribe("room")
    assert await watcher.recv() == {"action": "join", "topic": "room", "id": "amy"}
    await amy.register("amy2")
    assert await watcher.recv() == {"action": "leave", "topic": "room", "id": "amy"}
    assert (await presence(watcher, "room"))["ids"] == ["watcher"]

    bob = await connect("bob")
    await bob.subscribe("room")
    assert await watcher.recv() == {"action": "join", "topic": "room", "id": "bob"}
    await connect("bob")  # takes the ID over, with its subscriptions
    assert (await bob.closed())[0] == 4001
    assert (await presence(watcher, "room"))["ids"] == ["bob", "watcher"]
    assert await watcher.sync() == []


@pytest.mark.server_options(max_connections_per_address=0)
async def test_ids_are_capped_at_1000_and_marked_truncated(connect: Connect, server: Server) -> None:
    """PRES-4: the reply lists the 1,000 smallest IDs and says `truncated`; `count` is every member."""
    asker = await connect("asker")
    clients = [await connect(f"c{n:04d}") for n in range(1002)]
    for client in clients:
        await client.send({"action": "subscribe", "topic": "big"})
    for client in clients:
        await client.expect("subscribed", topic="big")
    reply = await presence(asker, "big")
    assert reply["count"] == 1002
    assert reply["truncated"] is True
    assert reply["ids"] == [f"c{n:04d}" for n in range(1000)]
    # A big topic's list is kept between requests, and renewed when a member leaves or joins (§15.2).
    assert await presence(asker, "big", rid="again") == {**reply, "rid": "again"}
    await clients[0].close()
    await clients[1].send({"action": "unsubscribe", "topic": "big"})
    await clients[1].expect("unsubscribed", topic="big")
    await asker.sync()
    assert (await server.presence("big")).count == 1000
    reply = await presence(asker, "big")
    assert (reply["count"], reply["ids"][0], reply["ids"][-1], "truncated" in reply) == (1000, "c0002", "c1001", False)
    await asker.subscribe("big")
    reply = await presence(asker, "big")
    assert (reply["count"], reply["ids"][0], reply["truncated"]) == (1001, "asker", True)


BAD_FRAMES: list[tuple[dict[str, Any], str]] = [
    ({"action": "presence", "topic": 5}, "invalid message: Expected `str | null`, got `int` - at `$.topic`"),
    ({"action": "presence"}, "missing or invalid topic"),
    ({"action": "presence", "topic": ["a"]}, "invalid message: Expected `str | null`, got `array` - at `$.topic`"),
    (
        {"action": "subscribe", "topic": "room", "join_leave": "yes"},
        "invalid message: Expected `bool | null`, got `str` - at `$.join_leave`",
    ),
    (
        {"action": "presence", "topic": "room", "rid": 7},
        "invalid message: Expected `str | null`, got `int` - at `$.rid`",
    ),
]


async def test_bad_presence_frames_get_errors_and_a_bystander_keeps_working(connect: Connect) -> None:
    """PRES-5: wrong types are `error` frames; the connection and a bystander watcher keep working."""
    watcher = await connect("watcher")
    await watch(watcher, "room")
    bad = await connect("bad")
    for frame, text in BAD_FRAMES:
        await bad.send(frame)
        assert await bad.recv() == {"action": "error", "error": text}
    unregistered = await connect(register=False)
    await unregistered.send({"action": "presence", "topic": "room"})
    assert await unregistered.recv() == {"action": "error", "error": "client not registered"}
    await bad.subscribe("room")
    assert await watcher.recv() == {"action": "join", "topic": "room", "id": "bad"}
    assert (await presence(bad, "room"))["ids"] == ["bad", "watcher"]


async def test_presence_needs_the_subscribe_permission(start_server: StartServer) -> None:
    """PRES-6: without the subscribe permission for the topic, `presence` is refused with `forbidden`."""
    server = await start_server(jwt_secret=SECRET, anonymous="allow")
    headers = {"Authorization": f"Bearer {hs256('alice', subscribe=['news.*'])}"}
    alice = await WireClient.open(server.url, additional_headers=headers)
    await alice.register()
    await alice.send({"action": "presence", "topic": "secret", "rid": "r1"})
    assert await alice.recv() == {
        "action": "error",
        "error": "forbidden: subscribe to secret",
        "code": "forbidden",
        "topic": "secret",
        "rid": "r1",
    }
    assert (await presence(alice, "news.x"))["count"] == 0
    await alice.send({"action": "subscribe", "topic": "secret", "join_leave": True})
    assert (await alice.recv())["code"] == "forbidden"
    await alice.close()


@pytest.mark.server_options(history_size=100)
async def test_members_of_a_history_topic_join_and_leave(connect: Connect, server: Server) -> None:
    """PRES-7: on a topic with history (spec §14) subscriptions, plain or recovering with `since`, make
    members, and `join_leave` works, as on any topic (spec §15.3)."""
    amy = await connect("amy")
    await amy.send({"action": "publish", "topic": "chat", "data": 1, "rid": "p1"})
    published = await amy.expect("published", topic="chat", rid="p1")
    watcher = await connect("watcher")
    await watch(watcher, "chat")  # through the history path: the watch flag is kept
    await amy.subscribe("chat")
    bob = await connect("bob")
    await bob.send({"action": "subscribe", "topic": "chat", "since": {"offset": 0, "epoch": published["epoch"]}})
    await bob.expect("publish", topic="chat", offset=1)  # recovered (spec §14.3), then subscribed
    await bob.expect("subscribed", topic="chat", recovered=True)
    info = await server.presence("chat")
    assert (info.count, info.ids) == (3, ["amy", "bob", "watcher"])
    await bob.send({"action": "unsubscribe", "topic": "chat"})
    await bob.expect("unsubscribed", topic="chat")
    expected = [
        {"action": "join", "topic": "chat", "id": "amy"},
        {"action": "join", "topic": "chat", "id": "bob"},
        {"action": "leave", "topic": "chat", "id": "bob"},
    ]
    assert [await watcher.recv() for _ in expected] == expected
    assert (await server.presence("chat")).ids == ["amy", "watcher"]
