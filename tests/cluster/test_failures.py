"""Faults: Redis killed and restarted, a node killed (spec/cluster.md §1, §6, §7)."""

from __future__ import annotations

import asyncio

from .conftest import Connect, Spawn, StartNode, redis_outage, redis_rejoin, routed, subscribers, wait_ready
from .processes import HEARTBEAT, MAX_BACKOFF, NODE_TIMEOUT, RedisProcess
from .wire import delivery, eventually, unique, units

#: Log lines of a node (spec/cluster.md §7): the writer or the reader may notice first that Redis is gone.
SILENT = r"cluster node \S+ went silent"


async def test_nodes_serve_their_own_clients_without_redis_and_resume_when_it_is_back(
    own_redis: RedisProcess, spawn: Spawn, start_node: StartNode, connect: Connect
) -> None:
    prefix = unique("outage")
    a, b = spawn(own_redis, prefix, unique("a")), spawn(own_redis, prefix, unique("b"))
    await wait_ready(a, b)
    observer = await start_node(prefix, redis=own_redis)
    topic = unique("t")
    publisher, local, remote = (
        await connect(a.url, unique("pub")),
        await connect(a.url, unique("local")),
        await connect(b.url, unique("remote")),
    )
    await local.subscribe(topic)
    await remote.subscribe(topic)
    await routed(observer, topic, internal=0, ws=2, publishers=[publisher])
    await publisher.publish(topic, "before")
    assert await remote.recv() == delivery(topic, "before", publisher.id)
    assert await local.recv() == delivery(topic, "before", publisher.id)

    await redis_outage(own_redis, a, b, timeout=units(5))

    # Redis is gone: node A still serves its own clients.
    await publisher.publish(topic, "during")
    assert await local.recv() == delivery(topic, "during", publisher.id)
    await publisher.direct(local.id, "direct, during")
    assert await local.recv() == {"action": "direct_message", "from": publisher.id, "data": "direct, during"}
    # An ack request completes with the local answers (spec/cluster.md §7).
    await publisher.publish_with_ack(topic, "acked, during", "req", timeout=units(30))
    sid = (await local.expect("publish_ack", topic=topic))["ack_id"]
    await local.ack(sid)
    await publisher.expect("ack_progress", ack_id="req")
    assert list((await publisher.expect("ack_response", ack_id="req"))["responses"]) == [local.id]
    # Silent nodes are forgotten meanwhile (so the counts come back only from fresh states).
    await asyncio.to_thread(a.log.wait_for, SILENT, units(5))
    await subscribers(observer, topic, internal=0, ws=0)

    took = await redis_rejoin(own_redis, a, b)
    # Each node waited at most one backoff pause, plus a connection: nothing else stacks on it.
    assert took < MAX_BACKOFF + units(1)
    await routed(observer, topic, internal=0, ws=2, publishers=[publisher], timeout=units(10))
    await eventually(observer.CountClients, 3, what="CountClients")

    await publisher.publish(topic, "after")
    # Cross-node messages are dropped during the outage, not replayed: "during" never reaches node B.
    assert await remote.recv() == delivery(topic, "after", publisher.id)
    assert await local.recv() == delivery(topic, "after", publisher.id)
    assert await remote.sync() == []


async def test_a_killed_nodes_clients_vanish_from_the_counts_within_the_node_timeout(
    redis_server: RedisProcess, spawn: Spawn, start_node: StartNode, connect: Connect
) -> None:
    prefix = unique("kill")
    victim = spawn(redis_server, prefix, unique("victim"))
    await wait_ready(victim)
    survivor = await start_node(prefix)
    topic = unique("t")
    doomed = [await connect(victim.url, unique("doomed")) for _ in range(2)]
    for client in doomed:
        await client.subscribe(topic)
    local = await connect(survivor.url, unique("local"))
    await local.subscribe(topic)
    await eventually(survivor.CountClients, 3)
    await subscribers(survivor, topic, internal=0, ws=3)

    publisher = await connect(survivor.url, unique("pub"))
    loop = asyncio.get_running_loop()

    victim.kill()  # SIGKILL: no `bye`
    killed_at = loop.time()

    # Still in the survivor's view, but its mailbox reaches nobody: a request does not wait for it
    # (spec/cluster.md §4.2) and completes with the local answer, long before its 30-unit timeout.
    await publisher.publish_with_ack(topic, "x", "req", timeout=units(30))
    sid = (await local.expect("publish_ack", topic=topic))["ack_id"]
    await local.ack(sid)
    await publisher.expect("ack_progress", ack_id="req")
    response = await publisher.expect("ack_response", ack_id="req")
    assert list(response["responses"]) == [local.id]

    # Its clients and subscribers vanish once it was silent for the node timeout.
    deadline = NODE_TIMEOUT + HEARTBEAT + units(0.5)
    await eventually(survivor.CountClients, 2, timeout=deadline - (loop.time() - killed_at), what="CountClients")
    assert survivor.CountSubscribers(topic) == {"internal": 0, "ws": 1, "total": 1}
