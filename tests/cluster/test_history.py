"""Topic history in Redis (spec §14.5): offsets shared by the nodes, surviving a node restart, epochs that
change only when Redis lost the data, and the recovery seam across nodes."""

from __future__ import annotations

import asyncio
from typing import Any

from ksps import Server

from .conftest import Connect, StartNode, routed, sees
from .processes import RedisProcess
from .wire import WireClient, eventually, unique, units

HISTORY = {"history_size": 1000}


async def publish(client: WireClient, topic: str, data: Any) -> dict[str, Any]:
    await client.send({"action": "publish", "topic": topic, "data": data, "rid": f"p{data}"})
    return await client.expect("published", topic=topic, rid=f"p{data}")


async def subscribe_since(client: WireClient, topic: str, offset: int, epoch: str) -> list[dict[str, Any]]:
    await client.send({"action": "subscribe", "topic": topic, "since": {"offset": offset, "epoch": epoch}})
    frames = []
    while True:
        frames.append(await client.recv())
        if frames[-1]["action"] == "subscribed":
            return frames


async def test_two_nodes_share_offsets_and_epoch(start_node: StartNode, connect: Connect) -> None:
    prefix = unique("hist")
    one, two = await start_node(prefix, **HISTORY), await start_node(prefix, **HISTORY)
    await sees(one, two)
    topic = unique("t")
    sub = await connect(one.url, unique("sub"))
    await sub.send({"action": "subscribe", "topic": topic})
    epoch = (await sub.expect("subscribed", topic=topic, offset=0))["epoch"]
    a, b = await connect(one.url, unique("a")), await connect(two.url, unique("b"))
    await routed(one, topic, 0, 1, publishers=[b])
    replies = []
    for n in range(10):
        replies.append(await publish(a if n % 2 else b, topic, n))
    assert [r["offset"] for r in replies] == list(range(1, 11))  # one counter in Redis, never the same offset
    assert {r["epoch"] for r in replies} == {epoch}
    got = [await sub.recv() for _ in range(10)]
    assert sorted(f["offset"] for f in got) == list(range(1, 11))  # deliveries from the other node carry it too
    page = await two.history(topic, since=(4, epoch), limit=3)
    assert [p["offset"] for p in page.publications] == [5, 6, 7] and page.epoch == epoch


async def test_history_survives_a_node_restart(start_node: StartNode, connect: Connect) -> None:
    prefix, topic = unique("hist"), unique("t")
    first = await start_node(prefix, **HISTORY)
    client = await connect(first.url, unique("c"))
    for n in range(1, 4):
        epoch = (await publish(client, topic, n))["epoch"]
    await client.close()
    await first.stop()
    again = await start_node(prefix, **HISTORY)
    late = await connect(again.url, unique("late"))
    frames = await subscribe_since(late, topic, 1, epoch)
    assert [f["offset"] for f in frames[:-1]] == [2, 3]
    assert frames[-1] == {"action": "subscribed", "topic": topic, "offset": 3, "epoch": epoch, "recovered": True}
    await late.send({"action": "publish", "topic": topic, "data": 4})
    assert (await late.expect("publish", topic=topic))["offset"] == 4  # subscribed: its own publication first
    assert await late.recv() == {"action": "published", "topic": topic, "offset": 4, "epoch": epoch}


async def test_epoch_changes_when_redis_lost_the_data(
    start_node: StartNode, connect: Connect, own_redis: RedisProcess
) -> None:
    node = await start_node(unique("hist"), redis=own_redis, **HISTORY)
    topic = unique("t")
    client = await connect(node.url, unique("c"))
    old = await publish(client, topic, 1)
    own_redis.kill()
    own_redis.start()  # persists nothing: the history is gone
    assert node.cluster is not None
    await eventually(lambda: node.cluster is not None and node.cluster.connected, True, units(15), what="rejoin")

    async def fresh_epoch() -> dict[str, Any]:
        while True:
            reply = await publish(client, topic, 2)
            if "epoch" in reply:  # the first attempts may find the history engine still reconnecting
                return reply
            await asyncio.sleep(0.1)

    new = await asyncio.wait_for(fresh_epoch(), units(10))
    assert (new["offset"], new["epoch"] != old["epoch"]) == (1, True)
    frames = await subscribe_since(client, topic, 1, old["epoch"])
    assert frames == [{"action": "subscribed", "topic": topic, "offset": 1, "epoch": new["epoch"], "recovered": False}]


async def test_no_gap_no_duplicate_when_another_node_publishes_during_recovery(
    start_node: StartNode, connect: Connect
) -> None:
    prefix, topic = unique("hist"), unique("race")
    options = {**HISTORY, "history_recover_max": 1000}
    one, two = await start_node(prefix, **options), await start_node(prefix, **options)
    await sees(one, two)
    watcher = await connect(one.url, unique("w"))  # keeps node one subscribed, so two routes the topic to it
    await watcher.send({"action": "subscribe", "topic": topic})
    epoch = (await watcher.expect("subscribed", topic=topic))["epoch"]
    pub = await connect(two.url, unique("pub"))
    await routed(one, topic, 0, 1, publishers=[pub])
    total = 400
    client = await connect(one.url, unique("c"))
    since = {"action": "subscribe", "topic": topic, "since": {"offset": 0, "epoch": epoch}}

    async def flood() -> None:  # a steady stream: each publication waits for the previous one's reply
        for n in range(1, total + 1):
            await publish(pub, topic, n)

    flooding = asyncio.create_task(flood())
    async with asyncio.timeout(units(15)):
        while (await watcher.recv())["offset"] < total // 4:
            pass  # the stream is flowing from node two: subscribe in the middle of it
    await client.send(since)
    await flooding
    seen: list[int] = []
    async with asyncio.timeout(units(15)):
        while len(seen) < total:
            frame = await client.recv()
            if frame["action"] == "subscribed":
                assert frame["recovered"] is True, frame
                assert 0 < len(seen) < total  # the subscription really landed in the middle of the stream
            else:
                seen.append(frame["offset"])
    assert seen == list(range(1, total + 1)), [(i, o) for i, o in enumerate(seen) if o != i + 1][:10]


async def test_recovery_through_the_server_api(start_node: StartNode) -> None:
    server: Server = await start_node(unique("hist"), **HISTORY)
    topic = unique("t")
    for n in range(5):
        server.Publish(topic, n)
    page = await asyncio.wait_for(_until_offset(server, topic, 5), units(5))
    assert [p["data"] for p in page] == [0, 1, 2, 3, 4]


async def _until_offset(server: Server, topic: str, offset: int) -> list[dict[str, Any]]:
    while True:
        page = await server.history(topic)
        if page.offset >= offset:
            return page.publications
        await asyncio.sleep(0.02)


async def test_without_redis_publications_go_on_without_offsets(
    start_node: StartNode, connect: Connect, own_redis: RedisProcess
) -> None:
    node = await start_node(unique("hist"), redis=own_redis, **HISTORY)
    topic = unique("t")
    sub, pub = await connect(node.url, unique("sub")), await connect(node.url, unique("pub"))
    await sub.send({"action": "subscribe", "topic": topic})
    epoch = (await sub.expect("subscribed", topic=topic))["epoch"]
    assert (await publish(pub, topic, 1))["offset"] == 1
    assert (await sub.recv())["offset"] == 1
    own_redis.kill()
    # Redis is gone: the publication is delivered and answered all the same, without a position (spec §14.3).
    assert await publish(pub, topic, 2) == {"action": "published", "topic": topic, "rid": "p2"}
    assert await sub.recv() == {"action": "publish", "topic": topic, "data": {"data": 2, "from": pub.id}}
    late = await connect(node.url, unique("late"))
    assert await subscribe_since(late, topic, 1, epoch) == [
        {"action": "subscribed", "topic": topic, "recovered": False}
    ]
    await late.send({"action": "history", "topic": topic, "rid": "h"})
    assert await late.recv() == {
        "action": "error", "error": "history unavailable, try again", "code": "no_history", "topic": topic,
        "rid": "h",
    }  # fmt: skip
    own_redis.start()

    async def kept_again() -> None:
        while "offset" not in await publish(pub, topic, 3):
            assert (await sub.recv())["data"]["data"] == 3
            await asyncio.sleep(0.1)

    await asyncio.wait_for(kept_again(), units(10))
