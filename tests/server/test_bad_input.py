"""Invalid frames get an `error` frame and cost nothing else: not the connection, not its subscriptions,
and not another client's deliveries (spec §2.2, §2.4, §7.1, §9.7)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ksps import Server

from .conftest import Connect, OpenRaw
from .wire import WireClient

NOT_AN_OBJECT = "invalid message: expected a JSON object"

#: (frame as sent, exact error text or a prefix ending in ": ")
BAD_FRAMES: list[tuple[str | bytes, str]] = [
    ('{"action":', "invalid JSON: "),
    ('{"action":"ping"} trailing', "invalid JSON: "),
    ("{'action': 'ping'}", "invalid JSON: "),
    (b'{"action":"\xff"}', "invalid JSON: "),
    ("", "invalid JSON: empty frame"),
    ("   ", "invalid JSON: empty frame"),
    ("[1, 2]", NOT_AN_OBJECT),
    ('[{"action":"ping"}]', NOT_AN_OBJECT),
    ('"ping"', NOT_AN_OBJECT),
    ("5", NOT_AN_OBJECT),
    ("null", NOT_AN_OBJECT),
    (b"[1]", NOT_AN_OBJECT),
    ('{"action":"subscribe","topic":5}', "invalid message: "),
    ('{"action":"publish","topic":["t"]}', "invalid message: "),
    ('{"action":"publish_to_server","to":"h:1","status":{"is_secure":"yes"}}', "invalid message: "),
    ('{"action":"publish_with_ack","topic":"t","ack_id":"a","timeout":"x"}', "invalid message: "),
    ('{"action":"publish_with_ack","topic":"t","ack_id":"a","timeout":-1}', "invalid message: "),
    ('{"action":"publish_with_ack","topic":"t","ack_id":"a","progress":"yes"}', "invalid message: "),
    ('{"action":"direct_message","to":{"id":"x"}}', "invalid message: "),
    ('{"action":5}', "invalid message: "),
    ('{"action":"fly"}', "unknown action: fly"),
    ('{"action":"PING"}', "unknown action: PING"),
    ('{"topic":"t"}', "missing or invalid action"),
    ('{"action":""}', "missing or invalid action"),
    ('{"action":null}', "missing or invalid action"),
    ("{}", "missing or invalid action"),
    (json.dumps({"action": "subscribe", "topic": "t" * 257}), "topic too long (max 256 bytes)"),
    (json.dumps({"action": "publish", "topic": "€" * 86}), "topic too long (max 256 bytes)"),
    (json.dumps({"action": "direct_message", "to": "i" * 257}), "id too long (max 256 bytes)"),
    (json.dumps({"action": "ping", "from": "i" * 257}), "id too long (max 256 bytes)"),
    (json.dumps({"action": "cancel_ack", "ack_id": "a" * 257}), "ack_id too long (max 256 bytes)"),
]


def _check_error(frame: dict[str, Any], expected: str) -> None:
    assert set(frame) == {"action", "error"} and frame["action"] == "error", frame
    if expected.endswith(": "):
        assert frame["error"].startswith(expected), frame
        assert len(frame["error"]) > len(expected), "the reason is missing"
        if expected == "invalid message: ":
            assert frame["error"] != NOT_AN_OBJECT
    else:
        assert frame["error"] == expected


@pytest.mark.parametrize(("payload", "expected"), BAD_FRAMES, ids=[repr(p)[:40] for p, _ in BAD_FRAMES])
async def test_bad_frame_gets_an_error_and_costs_nothing_else(
    connect: Connect, server: Server, payload: str | bytes, expected: str
) -> None:
    bystander, offender = await connect("bystander"), await connect("offender")
    await bystander.subscribe("watch")
    await offender.subscribe("mine")

    await offender.send(payload)
    _check_error(await offender.recv(), expected)

    # The connection is open, registered under the same ID, and nothing else was sent (spec §7.1).
    assert await offender.sync() == []
    # Its subscriptions survived (the original dropped the TCP connection, spec §9.7)...
    await bystander.publish("mine", "still subscribed")
    assert (await offender.expect("publish", topic="mine"))["data"]["data"] == "still subscribed"
    # ...and the other client kept receiving, including from the offender.
    await offender.publish("watch", "after")
    assert (await bystander.expect("publish", topic="watch"))["data"] == {"data": "after", "from": "offender"}
    assert server.CountClients() == 2


async def test_limits_are_inclusive(connect: Connect) -> None:
    client = await connect("i" * 256)
    topic = "€" * 85 + "t"  # 256 bytes
    await client.subscribe(topic)
    await client.send({"action": "cancel_ack", "ack_id": "a" * 256})
    await client.expect("ack_cancelled")


@pytest.mark.server_options(max_topic_bytes=8, max_id_bytes=4)
async def test_limits_follow_the_configuration(connect: Connect) -> None:
    client = await connect("abcd")
    await client.send({"action": "subscribe", "topic": "123456789"})
    await client.expect_error("topic too long (max 8 bytes)")
    await client.send({"action": "direct_message", "to": "abcde"})
    await client.expect_error("id too long (max 4 bytes)")
    await client.send({"action": "get_ack_status", "ack_id": "abcde"})
    await client.expect_error("ack_id too long (max 4 bytes)")


async def test_ping_with_an_overlong_id_does_not_register(connect: Connect, server: Server) -> None:
    client = await connect(register=False)
    await client.send({"action": "ping", "from": "x" * 300})
    await client.expect_error("id too long (max 256 bytes)")
    await client.send({"action": "subscribe", "topic": "t"})
    await client.expect_error("client not registered, send ping first")
    assert server.CountClients() == 0


async def test_binary_frame_with_valid_json_is_accepted(connect: Connect) -> None:
    client, publisher = await connect("bin"), await connect("pub")
    await client.send(b'{"action":"subscribe","topic":"bin"}')
    assert await client.recv() == {"action": "subscribed", "topic": "bin"}  # a text frame back (spec §1.3)
    await publisher.send(json.dumps({"action": "publish", "topic": "bin", "data": "é"}).encode())
    assert (await client.expect("publish"))["data"] == {"data": "é", "from": "pub"}


async def test_unknown_members_are_ignored(connect: Connect) -> None:
    client = await connect("c")
    await client.send({"action": "subscribe", "topic": "t", "color": "blue", "nested": {"a": [1]}})
    assert await client.recv() == {"action": "subscribed", "topic": "t"}


async def test_null_members_read_as_absent(connect: Connect) -> None:
    client = await connect("c")
    await client.send({"action": "subscribe", "topic": "t", "to": None, "ack_id": None, "status": None})
    assert await client.recv() == {"action": "subscribed", "topic": "t"}
    await client.send({"action": "direct_message", "to": None})
    await client.expect_error("missing target ID")


async def test_bad_frames_before_registration_do_not_register(connect: Connect) -> None:
    client: WireClient = await connect(register=False)
    await client.send("not json")
    assert (await client.expect("error"))["error"].startswith("invalid JSON: ")
    await client.send({"action": "publish", "topic": "t"})
    await client.expect_error("client not registered")


@pytest.mark.parametrize("opcode", [0x1, 0x2], ids=["text", "binary"])
async def test_invalid_utf8_in_data_is_refused_not_forwarded(connect: Connect, open_raw: OpenRaw, opcode: int) -> None:
    """Forwarded as is, an invalid byte made every subscriber's library drop the connection with 1007."""
    subscriber = await connect("sub")
    await subscriber.subscribe("t")
    raw = await open_raw()
    await raw.send_json({"action": "ping", "from": "raw"})
    assert await raw.read_json() == {"action": "pong", "id": "raw"}
    await raw.send_frame(b'{"action":"publish","topic":"t","data":"caf\xe9"}', opcode)
    error = await raw.read_json()
    assert error["action"] == "error" and error["error"].startswith("invalid JSON: "), error
    await raw.send_json({"action": "publish", "topic": "t", "data": "café"})
    assert await raw.read_json() == {"action": "published", "topic": "t"}
    assert (await subscriber.expect("publish"))["data"]["data"] == "café"
