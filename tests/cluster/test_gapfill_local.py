"""The gap fill after a rejoin and this node's own publications (spec/cluster.md §11): nothing twice.

A node reads the history back after each rejoin while its own publications keep flowing. The read and the
appends go to Redis on different connections: the read may be answered before an append that Redis ran
first. That publication is in the page, and its own delivery comes after: the fill must not deliver it too.
"""

from __future__ import annotations

import asyncio
import contextlib

import redis.asyncio as aioredis

from ksps.server.server import core_of

from .conftest import Connect, StartNode
from .processes import RedisProcess
from .wire import WireClient, eventually, unique, units

#: Rejoins (each followed by a gap fill) while the node publishes without pause.
CUTS = 25
#: Publications the node makes per turn of its publishing task: several appends in flight at once.
BURST = 8


async def _offsets(client: WireClient, topic: str, out: list[int], changed: asyncio.Event) -> None:
    while True:
        frame = await client.recv(timeout=float("inf"))
        if frame.get("action") == "publish" and frame.get("topic") == topic:
            out.append(frame.get("offset", 0))
            changed.set()


async def test_a_gap_fill_does_not_deliver_again_what_this_node_publishes_meanwhile(
    start_node: StartNode, connect: Connect, own_redis: RedisProcess
) -> None:
    node = await start_node(unique("fill-own"), redis=own_redis, history_size=100_000)
    cluster = core_of(node).cluster
    assert cluster is not None
    topic = unique("t")
    sub = await connect(node.url, unique("sub"))
    await sub.subscribe(topic)
    offsets: list[int] = []
    changed = asyncio.Event()
    reader = asyncio.get_running_loop().create_task(_offsets(sub, topic, offsets, changed))
    stop = asyncio.Event()

    async def publish() -> int:
        n = 0
        while not stop.is_set():
            for _ in range(BURST):
                n += 1
                node.publish(topic, n)
            await asyncio.sleep(0.002)  # pacing the load, not waiting for anything
        return n

    publisher = asyncio.get_running_loop().create_task(publish())
    admin = aioredis.Redis.from_url(own_redis.url())
    try:
        await eventually(lambda: len(offsets) > 100, True, units(10), what="traffic")
        for _ in range(CUTS):
            fills = cluster.gaps.fills
            assert await admin.client_kill_filter(_type="pubsub") >= 1
            # Rejoined, the outage buffer stored, one heartbeat, then the fill read answered.
            await eventually(lambda f=fills: cluster.gaps.fills > f, True, units(10), what="a gap fill")
    finally:
        stop.set()
        last = await publisher
        await admin.aclose()
    await eventually(lambda: len(offsets) >= last, True, units(10), what="every publication")
    reader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reader
    with_offset = [o for o in offsets if o]  # those published while cut off come without one (spec §14.3)
    repeated = sorted({o for i, o in enumerate(with_offset) if i and o <= with_offset[i - 1]})
    assert not repeated, f"delivered twice (or out of order): {repeated[:20]} of {len(with_offset)}"
