"""Presence across nodes (spec/protocol.md §15.5, spec/cluster.md §10): queries, join/leave, a node that dies."""

from __future__ import annotations

import asyncio

from ksps import Server

from .conftest import Cluster, Connect, Spawn, StartNode, fence, node_state, sees, subscribers, wait_ready
from .processes import NODE_TIMEOUT, NodeProcess, RedisProcess
from .wire import Frame, WireClient, eventually, unique, units


async def presence(client: WireClient, topic: str) -> Frame:
    await client.send({"action": "presence", "topic": topic, "rid": "p"})
    return await client.expect("presence", topic=topic, rid="p")


async def watch(client: WireClient, topic: str) -> None:
    await client.send({"action": "subscribe", "topic": topic, "join_leave": True})
    await client.expect("subscribed", topic=topic)


async def watched(observer: Server, node: NodeProcess, topic: str) -> None:
    """Wait until `observer` knows that `node` watches `topic` (its `state` said so)."""

    def check() -> bool:
        state = node_state(observer, node)
        return state is not None and topic in state.watching

    await eventually(check, True, what=f"a watcher of {topic}")


async def test_presence_counts_and_lists_members_of_every_node(
    cluster: Cluster, observer: Server, connect: Connect
) -> None:
    """PRES-C1: members on two nodes, asked from a third and from the server API."""
    n1, n2, n3 = cluster.nodes
    topic = unique("room")
    amy, bob = await connect(n1.url, unique("b-amy")), await connect(n2.url, unique("a-bob"))
    asker = await connect(n3.url, unique("asker"))
    await amy.subscribe(topic)
    await bob.subscribe(topic)
    await subscribers(observer, topic, internal=0, ws=2)
    await fence(observer, asker)  # the asker's node knows both states too

    reply = await presence(asker, topic)
    assert (reply["count"], reply["ids"]) == (2, sorted([amy.id, bob.id]))
    # Requests for one topic at once share one round of questions to the other nodes.
    infos = await asyncio.gather(*(observer.presence(topic) for _ in range(3)))
    assert [(info.count, info.ids, info.truncated) for info in infos] == [(2, sorted([amy.id, bob.id]), False)] * 3

    await amy.close()
    await subscribers(observer, topic, internal=0, ws=1)
    await fence(observer, asker)
    assert (await presence(asker, topic))["ids"] == [bob.id]


async def test_join_and_leave_reach_watchers_on_other_nodes(
    cluster: Cluster, observer: Server, connect: Connect
) -> None:
    """PRES-C2: a watcher on one node hears members of another node come and go, in order."""
    n1, n2, _ = cluster.nodes
    topic = unique("room")
    watcher = await connect(n1.url, unique("watcher"))
    await watch(watcher, topic)
    await watched(observer, n1, topic)
    member = await connect(n2.url, unique("member"))
    await fence(observer, member)  # its node has seen the watcher's state

    await member.subscribe(topic)
    assert await watcher.recv(units(5)) == {"action": "join", "topic": topic, "id": member.id}
    await member.send({"action": "unsubscribe", "topic": topic})
    await member.expect("unsubscribed", topic=topic)
    await member.subscribe(topic)
    await member.close()
    assert [await watcher.recv(units(5)) for _ in range(3)] == [
        {"action": "leave", "topic": topic, "id": member.id},
        {"action": "join", "topic": topic, "id": member.id},
        {"action": "leave", "topic": topic, "id": member.id},
    ]


async def test_members_of_a_killed_node_leave_within_the_node_timeout(
    redis_server: RedisProcess, spawn: Spawn, start_node: StartNode, connect: Connect
) -> None:
    """PRES-C3: a node dies without a word; its members leave the watchers' view after `node_timeout`."""
    prefix = unique("presence-kill")
    doomed = spawn(redis_server, prefix, unique("doomed"))
    await wait_ready(doomed)
    node = await start_node(prefix)
    await sees(node, doomed)
    topic = unique("room")
    watcher = await connect(node.url, unique("watcher"))
    early = await connect(doomed.url, unique("early"))
    await early.subscribe(topic)  # a member before anyone watched: known from the snapshot (`mems`)
    await subscribers(node, topic, internal=0, ws=1)
    await watch(watcher, topic)
    late = await connect(doomed.url, unique("late"))
    await fence(node, late)  # the doomed node has seen our watcher's state, so it forwards joins
    await late.subscribe(topic)
    assert await watcher.recv(units(5)) == {"action": "join", "topic": topic, "id": late.id}

    doomed.kill()
    loop = asyncio.get_running_loop()
    killed_at = loop.time()
    leaves = [await watcher.recv(units(5) + NODE_TIMEOUT) for _ in range(2)]
    took = loop.time() - killed_at
    assert leaves == [
        {"action": "leave", "topic": topic, "id": member} for member in sorted([early.id, late.id])
    ]
    # Silent for node_timeout, noticed at the next heartbeat: well within two node timeouts.
    assert took < 2 * NODE_TIMEOUT + units(1), took
    assert (await presence(watcher, topic))["count"] == 1
