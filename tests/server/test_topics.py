"""Topics and direct messages over the wire: replies, delivery shapes, senders, JSON safety (spec §4, §5)."""

from __future__ import annotations

import json

import pytest

from ksps import Server

from .conftest import Connect

NASTY = 'quote" backslash\\ slash/ tab\t nl\n nul\x00 \u2028 é 😀 </script>'


async def test_subscribe_and_unsubscribe_replies(connect: Connect) -> None:
    client = await connect()
    await client.send({"action": "subscribe", "topic": "news"})
    assert await client.recv() == {"action": "subscribed", "topic": "news"}
    await client.send({"action": "unsubscribe", "topic": "news"})
    assert await client.recv() == {"action": "unsubscribed", "topic": "news"}
    # Unsubscribing from a topic never subscribed is answered too (spec §4.1).
    await client.send({"action": "unsubscribe", "topic": "never"})
    assert await client.recv() == {"action": "unsubscribed", "topic": "never"}


async def test_unsubscribed_client_gets_no_more_deliveries(connect: Connect) -> None:
    client, publisher = await connect("sub"), await connect("pub")
    await client.subscribe("news")
    await client.send({"action": "unsubscribe", "topic": "news"})
    await client.expect("unsubscribed")
    await publisher.publish("news", 1)
    assert await client.sync() == []


async def test_subscribing_twice_delivers_once(connect: Connect) -> None:
    client, publisher = await connect("sub"), await connect("pub")
    await client.subscribe("news")
    await client.subscribe("news")
    await publisher.publish("news", 1)
    await client.expect("publish")
    assert await client.sync() == []


@pytest.mark.parametrize("frame", [{"action": "subscribe"}, {"action": "subscribe", "topic": ""}])
@pytest.mark.parametrize("action", ["subscribe", "unsubscribe", "publish", "publish_with_ack"])
async def test_missing_topic_is_an_error(connect: Connect, frame: dict[str, str], action: str) -> None:
    client = await connect()
    await client.send({**frame, "action": action, "ack_id": "a1"})
    await client.expect_error("missing or invalid topic")
    assert await client.sync() == []


async def test_publish_delivery_shape_and_published_reply(connect: Connect) -> None:
    subscriber, publisher = await connect("sub"), await connect("pub")
    await subscriber.subscribe("news")
    payload = {"n": [1, 2.5, None, True], "s": "x"}
    await publisher.send({"action": "publish", "topic": "news", "data": payload})
    assert await publisher.recv() == {"action": "published", "topic": "news"}
    assert await subscriber.recv() == {
        "action": "publish",
        "topic": "news",
        "data": {"data": payload, "from": "pub"},
    }


async def test_publish_without_data_delivers_null(connect: Connect) -> None:
    subscriber, publisher = await connect("sub"), await connect("pub")
    await subscriber.subscribe("news")
    await publisher.send({"action": "publish", "topic": "news"})
    delivery = await subscriber.expect("publish")
    assert delivery["data"] == {"data": None, "from": "pub"}


async def test_spoofed_from_is_replaced_by_the_registered_id(connect: Connect) -> None:
    subscriber, publisher = await connect("sub"), await connect("honest")
    await subscriber.subscribe("news")
    await publisher.send({"action": "publish", "topic": "news", "data": 1, "from": "admin"})
    assert (await subscriber.expect("publish"))["data"]["from"] == "honest"
    await publisher.send({"action": "direct_message", "to": "sub", "data": 2, "from": "admin"})
    assert (await subscriber.expect("direct_message"))["from"] == "honest"


async def test_publisher_receives_its_own_message_when_subscribed(connect: Connect) -> None:
    client = await connect("me")
    await client.subscribe("echo")
    await client.send({"action": "publish", "topic": "echo", "data": "hi"})
    frames = [await client.recv(), await client.recv()]
    assert {"action": "publish", "topic": "echo", "data": {"data": "hi", "from": "me"}} in frames
    assert {"action": "published", "topic": "echo"} in frames


async def test_deliveries_keep_publication_order(connect: Connect) -> None:
    subscriber, publisher = await connect("sub"), await connect("pub")
    await subscriber.subscribe("seq")
    for n in range(200):
        await publisher.send({"action": "publish", "topic": "seq", "data": n})
    received = [(await subscriber.expect("publish"))["data"]["data"] for _ in range(200)]
    assert received == list(range(200))
    for _ in range(200):
        await publisher.expect("published", topic="seq")


async def test_server_side_subscriber_gets_client_publications(connect: Connect, server: Server) -> None:
    received: list[object] = []
    keep = server.Subscribe("news", lambda message, unsub: received.append(message))
    publisher = await connect("pub")
    await publisher.publish("news", {"k": 1})
    await publisher.sync()  # the callback was queued before the reply; one more round trip lets it run
    assert received == [{"data": {"k": 1}, "from": "pub"}]
    keep()


async def test_direct_message_is_flat_and_reaches_only_its_target(connect: Connect) -> None:
    target, bystander, sender = await connect("target"), await connect("other"), await connect("sender")
    await sender.send({"action": "direct_message", "to": "target", "data": {"x": 1}})
    assert await target.recv() == {"action": "direct_message", "from": "sender", "data": {"x": 1}}
    assert await bystander.sync() == []
    # No reply to the sender (spec §5.1).
    assert await sender.sync() == []


async def test_direct_message_to_oneself(connect: Connect) -> None:
    client = await connect("self")
    await client.send({"action": "direct_message", "to": "self", "data": "me"})
    assert await client.recv() == {"action": "direct_message", "from": "self", "data": "me"}


async def test_direct_message_to_unknown_id_is_dropped_silently(connect: Connect) -> None:
    sender = await connect("sender")
    await sender.send({"action": "direct_message", "to": "nobody", "data": 1})
    assert await sender.sync() == []


async def test_direct_message_without_target_is_an_error(connect: Connect) -> None:
    sender = await connect("sender")
    await sender.send({"action": "direct_message", "data": 1})
    await sender.expect_error("missing target ID")


async def test_direct_message_to_the_server_id_reaches_on_id(connect: Connect, server: Server) -> None:
    received: list[object] = []
    server.OnID(received.append)
    sender = await connect("sender")
    await sender.send({"action": "direct_message", "to": server.ID, "data": {"q": 1}})
    assert await sender.sync() == []
    assert received == [{"data": {"q": 1}, "from": "sender"}]


async def test_direct_topics_are_reserved(connect: Connect) -> None:
    client = await connect()
    await client.send({"action": "subscribe", "topic": "__direct_x_1"})
    frame = await client.expect("error")
    assert frame["error"] == "topic is reserved: __direct_x_1"


async def test_every_frame_is_valid_json_with_nasty_topics_and_ids(connect: Connect) -> None:
    """Topics, IDs and error texts with quotes, backslashes and unicode stay valid JSON (spec §9.1)."""
    subscriber = await connect("sub" + NASTY)
    publisher = await connect("pub" + NASTY)
    topic = "topic" + NASTY
    await subscriber.subscribe(topic)  # `recv` parses every frame with json.loads
    await publisher.send({"action": "publish", "topic": topic, "data": NASTY})
    assert await publisher.recv() == {"action": "published", "topic": topic}
    assert await subscriber.recv() == {
        "action": "publish",
        "topic": topic,
        "data": {"data": NASTY, "from": "pub" + NASTY},
    }
    await publisher.send({"action": "direct_message", "to": "sub" + NASTY, "data": NASTY})
    assert await subscriber.recv() == {"action": "direct_message", "from": "pub" + NASTY, "data": NASTY}
    await publisher.send({"action": "no" + NASTY})
    await publisher.expect_error("unknown action: no" + NASTY)
    await publisher.send({"action": "publish_with_ack", "topic": topic, "data": 1, "ack_id": "a" + NASTY})
    ack = await subscriber.expect("publish_ack", topic=topic)
    await subscriber.ack(ack["ack_id"])
    response = await publisher.expect("ack_response", ack_id="a" + NASTY)
    assert list(response["responses"]) == ["sub" + NASTY]


async def test_data_is_forwarded_verbatim(connect: Connect) -> None:
    """The server passes `data` through untouched: numbers keep their spelling (no float round trip)."""
    subscriber, publisher = await connect("sub"), await connect("pub")
    await subscriber.subscribe("raw")
    await publisher.send('{"action":"publish","topic":"raw","data":{"big":12345678901234567890123,"f":1.50}}')
    message = await subscriber.ws.recv()
    assert '"data":{"big":12345678901234567890123,"f":1.50}' in str(message)
    json.loads(message)
