"""A clustered node's history is Redis's from its first connection (spec §14.5): while `start()` still waits for
Redis, the node already listens, and a publication then must not get an offset of the memory engine, which no
other node shares and which would be gone once the node joined Redis."""

from __future__ import annotations

import asyncio

from ksps import Server
from ksps.testing import free_port

from .processes import RedisProcess
from .wire import WireClient, unique, units


async def open_once_listening(url: str) -> WireClient:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + units(5)
    while True:
        try:
            return await WireClient.open(url)
        except OSError:
            assert loop.time() < deadline, f"{url} never accepted"
            await asyncio.sleep(0.02)  # polling a condition (the listener), not waiting for time to pass


async def test_no_memory_offsets_while_the_node_waits_for_redis(own_redis: RedisProcess) -> None:
    own_redis.kill()  # start() then waits (up to 5 s) for Redis, while it already listens
    port = free_port()
    server = Server(
        address=f"127.0.0.1:{port}",
        server_id=unique("early"),
        redis_url=own_redis.url(),
        redis_prefix=unique("hist"),
        history_size=10,
    )
    starting = asyncio.create_task(server.start())
    client = None
    try:
        client = await open_once_listening(f"ws://127.0.0.1:{port}/ws/bus")
        await client.register(unique("c"))
        # Still waiting for Redis (start() gives it 5 s): the window this test is about.
        assert not starting.done(), "start() returned before the client registered: the window was missed"
        await client.send({"action": "publish", "topic": "t", "data": 1, "rid": "p"})
        reply = await client.expect("published", rid="p", timeout=units(5))
        # Redis cannot answer: no position (spec §14.3), rather than one that only this node's memory knows.
        assert "offset" not in reply and "epoch" not in reply, reply
    finally:
        if client is not None:
            await client.close()
        await starting
        await server.stop()
