"""Registration over the wire: ping/pong, generated IDs, renames, takeovers (spec §3)."""

from __future__ import annotations

import uuid

import pytest

from ksps import Server

from .conftest import Connect


async def test_ping_with_id_gets_pong_with_that_id(connect: Connect) -> None:
    client = await connect(register=False)
    await client.send({"action": "ping", "from": "alice"})
    assert await client.recv() == {"action": "pong", "id": "alice"}


@pytest.mark.parametrize("ping", [{"action": "ping"}, {"action": "ping", "from": ""}, {"action": "ping", "from": None}])
async def test_ping_without_from_gets_a_uuid4(connect: Connect, server: Server, ping: dict[str, object]) -> None:
    client = await connect(register=False)
    await client.send(ping)
    pong = await client.expect("pong")
    assert set(pong) == {"action", "id"}
    assert uuid.UUID(pong["id"]).version == 4
    assert server.CountClients() == 1


async def test_two_anonymous_clients_get_different_ids(connect: Connect) -> None:
    first, second = await connect(), await connect()
    assert first.id != second.id


async def test_ping_again_with_the_same_id_is_harmless(connect: Connect, server: Server) -> None:
    client = await connect("alice")
    await client.subscribe("news")
    await client.send({"action": "ping", "from": "alice"})
    assert await client.recv() == {"action": "pong", "id": "alice"}
    publisher = await connect("bob")
    await publisher.publish("news", 1)
    delivery = await client.expect("publish")
    assert delivery["data"] == {"data": 1, "from": "bob"}
    assert server.CountClients() == 2


async def test_rename_drops_the_old_subscriptions_and_the_old_id(connect: Connect, server: Server) -> None:
    client = await connect("old-name")
    await client.subscribe("news")
    await client.send({"action": "ping", "from": "new-name"})
    assert await client.recv() == {"action": "pong", "id": "new-name"}
    client.id = "new-name"
    publisher = await connect("bob")
    await publisher.publish("news", "lost")
    await publisher.send({"action": "direct_message", "to": "old-name", "data": "lost"})
    await publisher.send({"action": "direct_message", "to": "new-name", "data": "kept"})
    assert await client.recv() == {"action": "direct_message", "from": "bob", "data": "kept"}
    assert await client.sync() == []
    # The original left the old entry behind and over-counted (spec §9.13).
    assert server.CountClients() == 2
    assert server.CountSubscribers("news")["ws"] == 0


@pytest.mark.parametrize(
    ("action", "text"),
    [
        ("subscribe", "client not registered, send ping first"),
        ("unsubscribe", "client not registered"),
        ("publish", "client not registered"),
        ("direct_message", "client not registered"),
        ("publish_with_ack", "client not registered"),
        ("publish_to_id_with_ack", "client not registered"),
        ("ack", "client not registered"),
        ("get_ack_status", "client not registered"),
        ("cancel_ack", "client not registered"),
        ("publish_to_server", "client not registered"),
    ],
)
async def test_actions_before_ping_are_refused(connect: Connect, action: str, text: str) -> None:
    client = await connect(register=False)
    frame = {"action": action, "topic": "news", "to": "x", "ack_id": "a1", "data": {"ack_id": "a1"}}
    await client.send(frame)
    await client.expect_error(text)
    # The connection stays usable: registering now works.
    assert await client.register("late") == "late"
    await client.subscribe("news")


async def test_duplicate_id_takes_over_with_4001_and_moves_subscriptions(connect: Connect, server: Server) -> None:
    older = await connect("dup")
    await older.subscribe("news")
    newer = await connect(register=False)
    await newer.send({"action": "ping", "from": "dup"})
    assert await newer.recv() == {"action": "pong", "id": "dup"}
    newer.id = "dup"
    assert await older.closed() == (4001, "replaced by a newer connection")
    publisher = await connect("pub")
    await publisher.publish("news", "moved")
    delivery = await newer.expect("publish", topic="news")
    assert delivery["data"] == {"data": "moved", "from": "pub"}
    assert server.CountClients() == 2
    assert server.CountSubscribers("news")["ws"] == 1


async def test_takeover_keeps_direct_messages_going_to_the_newer_connection(connect: Connect) -> None:
    older = await connect("dup")
    newer = await connect("dup")
    assert (await older.closed())[0] == 4001
    sender = await connect("sender")
    await sender.send({"action": "direct_message", "to": "dup", "data": "hi"})
    assert await newer.recv() == {"action": "direct_message", "from": "sender", "data": "hi"}
