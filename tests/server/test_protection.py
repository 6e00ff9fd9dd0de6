"""Protection of the server and of well-behaved clients: size limit, rate limit, slow consumers, keepalive,
fragmentation (spec §1.3, §1.4, §1.6, §7.2, §9.8, §9.12, §9.15)."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.exceptions import ConnectionClosed

from ksps import Server
from ksps.server.server import core_of

from .conftest import Connect, OpenRaw
from .wire import WireClient, units


def publish_frame_of_size(size: int, topic: str = "t") -> str:
    """A `publish` frame of exactly `size` bytes."""
    empty = json.dumps({"action": "publish", "topic": topic, "data": ""})
    return json.dumps({"action": "publish", "topic": topic, "data": "x" * (size - len(empty))})


async def watched(connect: Connect) -> tuple[WireClient, WireClient]:
    """A subscriber of `watch` and a publisher to it, to show that others are unaffected."""
    watcher, publisher = await connect("watcher"), await connect("watch-publisher")
    await watcher.subscribe("watch")
    return watcher, publisher


async def assert_still_served(watcher: WireClient, publisher: WireClient) -> None:
    await publisher.publish("watch", "still here")
    assert (await watcher.expect("publish", topic="watch"))["data"]["data"] == "still here"


@pytest.mark.server_options(max_message_size=1024)
async def test_frame_at_the_limit_is_accepted(connect: Connect) -> None:
    client = await connect("c")
    frame = publish_frame_of_size(1024)
    assert len(frame.encode()) == 1024
    await client.send(frame)
    await client.expect("published")


@pytest.mark.server_options(max_message_size=1024)
async def test_frame_over_the_limit_closes_with_1009(connect: Connect, server: Server) -> None:
    watcher, publisher = await watched(connect)
    offender = await connect("big")
    await offender.send(publish_frame_of_size(1025))
    code, _ = await offender.closed()
    assert code == 1009
    await assert_still_served(watcher, publisher)
    await watcher.sync()
    assert server.CountClients() == 2


@pytest.mark.server_options(max_message_size=1024)
async def test_fragmented_message_over_the_limit_closes_with_1009(connect: Connect) -> None:
    watcher, publisher = await watched(connect)
    offender = await connect("big")
    frame = publish_frame_of_size(1500)
    await offender.send([frame[:700], frame[700:1400], frame[1400:]])  # each fragment under the limit
    assert await offender.closed() == (1009, "message too big")
    await assert_still_served(watcher, publisher)


async def test_fragmented_message_is_reassembled(connect: Connect) -> None:
    subscriber, publisher = await connect("sub"), await connect("pub")
    await subscriber.subscribe("frag")
    frame = json.dumps({"action": "publish", "topic": "frag", "data": "é" * 3000})
    await publisher.send([frame[:10], frame[10:2000], frame[2000:]])
    await publisher.expect("published", topic="frag")
    assert (await subscriber.expect("publish"))["data"]["data"] == "é" * 3000
    # Binary fragments too.
    await publisher.send([frame.encode()[:5], frame.encode()[5:]])
    await publisher.expect("published", topic="frag")


@pytest.mark.server_options(max_frames_per_second=5, frame_burst=5)
async def test_flood_closes_with_1008(connect: Connect) -> None:
    watcher, publisher = await watched(connect)
    flooder = await connect("flooder")  # registration used one frame of the burst
    for _ in range(20):
        await flooder.send({"action": "ping", "from": "flooder"})
    replies = 0
    with pytest.raises(ConnectionClosed):
        while True:
            await flooder.expect("pong")
            replies += 1
    assert 1 <= replies < 20, "the flood should have been cut off"
    assert (flooder.ws.close_code, flooder.ws.close_reason) == (1008, "rate limit exceeded")
    await assert_still_served(watcher, publisher)


@pytest.mark.server_options(max_send_queue=64 * 1024)
async def test_slow_consumer_is_closed_with_4002_while_others_get_everything(
    connect: Connect, server: Server, open_raw: OpenRaw
) -> None:
    slow = await open_raw(receive_buffer=4096)
    await slow.send_json({"action": "ping", "from": "slow"})
    assert await slow.read_json() == {"action": "pong", "id": "slow"}
    await slow.send_json({"action": "subscribe", "topic": "firehose"})
    assert await slow.read_json() == {"action": "subscribed", "topic": "firehose"}
    # From now on `slow` reads nothing.
    fast, publisher = await connect("fast"), await connect("pub")
    await fast.subscribe("firehose")
    pad = "p" * 8000

    async def consume() -> list[int]:
        received = []
        while (n := (await fast.expect("publish", timeout=units(5)))["data"]["data"]["n"]) != "end":
            received.append(n)
        return received

    async def publish(n: int | str) -> None:
        await publisher.send({"action": "publish", "topic": "firehose", "data": {"n": n, "pad": pad}})

    consumer = asyncio.create_task(consume())
    sent = 0
    # Publish until the server gives up on `slow` (kernel buffers absorb a few MB first), then a little more.
    while core_of(server).broker.slow_consumers_closed == 0 and sent < 8192:
        for _ in range(8):  # small bursts, well under max_send_queue: only a reader that stopped falls behind
            await publish(sent)
            sent += 1
        for _ in range(8):
            await publisher.expect("published")
    assert core_of(server).broker.slow_consumers_closed == 1, f"still not closed after {sent} messages"
    for _ in range(8):
        await publish(sent)
        sent += 1
    await publish("end")
    assert await asyncio.wait_for(consumer, units(10)) == list(range(sent))
    assert server.CountSubscribers("firehose")["ws"] == 1

    texts, code, reason = await slow.read_to_end(timeout=units(5))
    assert (code, reason) == (4002, b"slow consumer")
    assert texts < sent, "the slow consumer should have been cut off before the end"


@pytest.mark.server_options(keepalive_interval=units(0.5), keepalive_timeout=units(0.5))
async def test_silent_peer_is_dropped_and_forgotten(connect: Connect, server: Server, open_raw: OpenRaw) -> None:
    silent = await open_raw()
    await silent.send_json({"action": "ping", "from": "silent"})
    assert await silent.read_json() == {"action": "pong", "id": "silent"}
    await silent.send_json({"action": "subscribe", "topic": "t"})
    assert await silent.read_json() == {"action": "subscribed", "topic": "t"}
    # A well-behaved client that never pings on its own must survive the same idle period.
    alive = await connect("alive", ping_interval=None)
    await alive.subscribe("t")
    assert server.CountClients() == 2

    opcodes = []
    while (frame := await silent.read_frame(timeout=units(5))) is not None:  # never answering the PING
        opcodes.append(frame[0])
    assert 0x9 in opcodes, "the server should have pinged"
    assert server.CountClients() == 1
    assert server.CountSubscribers("t")["ws"] == 1
    publisher = await connect("pub")
    await publisher.send({"action": "direct_message", "to": "silent", "data": 1})
    await publisher.publish("t", "to the living")
    assert (await alive.expect("publish"))["data"]["data"] == "to the living"


async def test_server_answers_control_pings(connect: Connect) -> None:
    client = await connect("c")
    pong = await client.ws.ping(b"are you there")
    latency = await asyncio.wait_for(pong, units(2))
    assert latency >= 0


async def test_no_extension_is_negotiated(server: Server) -> None:
    client = await WireClient.open(server.url, compression="deflate")
    try:
        assert client.ws.response is not None
        assert "Sec-WebSocket-Extensions" not in client.ws.response.headers
        assert client.ws.subprotocol is None
    finally:
        await client.close()
