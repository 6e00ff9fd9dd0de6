"""Cluster-wide counts and client IDs: CountClients, CountSubscribers, ID takeover (spec §3.3; spec/cluster.md)."""

from __future__ import annotations

from ksps import Server

from .conftest import Cluster, Connect, StartNode, fence, node_state, routed
from .processes import NODE_TIMEOUT
from .wire import Inbox, delivery, eventually, unique


async def test_counts_converge_to_the_whole_cluster_on_every_node(start_node: StartNode, connect: Connect) -> None:
    prefix = unique("counts")  # a cluster of its own: absolute counts
    nodes = [await start_node(prefix) for _ in range(3)]
    a, b, c = nodes
    topic = unique("t")
    a1, a2 = await connect(a.url, unique("a1")), await connect(a.url, unique("a2"))
    b1 = await connect(b.url, unique("b1"))
    await a1.subscribe(topic)
    await b1.subscribe(topic)
    a.Subscribe(topic, Inbox())
    stop_c = c.Subscribe(topic, Inbox())

    for node in nodes:
        await eventually(node.CountClients, 3, what=f"CountClients on {node.ID}")
        await eventually(
            lambda node=node: node.CountSubscribers(topic),
            {"internal": 2, "ws": 2, "total": 4},
            what=f"CountSubscribers on {node.ID}",
        )

    await a2.close()
    await b1.send({"action": "unsubscribe", "topic": topic})
    stop_c()
    for node in nodes:
        await eventually(node.CountClients, 2, what=f"CountClients on {node.ID}")
        await eventually(
            lambda node=node: node.CountSubscribers(topic),
            {"internal": 1, "ws": 1, "total": 2},
            what=f"CountSubscribers on {node.ID}",
        )


async def test_a_stopped_node_leaves_the_counts_at_once(start_node: StartNode, connect: Connect) -> None:
    prefix = unique("bye")
    staying, leaving = await start_node(prefix), await start_node(prefix)
    await connect(staying.url, unique("s"))
    await connect(leaving.url, unique("l"))
    await eventually(staying.CountClients, 2)

    await leaving.stop()  # says `bye`: no waiting for the node timeout

    await eventually(staying.CountClients, 1, timeout=0.8 * NODE_TIMEOUT)


async def test_an_id_taken_over_on_another_node_closes_the_old_socket_and_moves_its_subscriptions(
    cluster: Cluster, observer: Server, connect: Connect
) -> None:
    n1, n2, n3 = cluster.nodes
    first, second = unique("t1"), unique("t2")
    client_id = unique("roamer")
    old = await connect(n1.url, client_id)
    await old.subscribe(first)
    await old.subscribe(second)
    publisher = await connect(n3.url, unique("pub"))
    await routed(observer, first, internal=0, ws=1)

    new = await connect(n2.url, client_id)

    assert await old.closed() == (4001, "replaced by a newer connection")

    def where() -> list[dict[str, tuple[int, int]]]:
        states = [node_state(observer, node) for node in (n1, n2)]
        return [{t: c for t, c in s.topics.items() if t in (first, second)} if s else {} for s in states]

    await eventually(where, [{}, {first: (0, 1), second: (0, 1)}], what="the subscriptions of node 1 and node 2")
    await fence(observer, publisher)
    await publisher.publish(first, "one")
    await publisher.publish(second, "two")
    assert await new.recv() == delivery(first, "one", publisher.id)
    assert await new.recv() == delivery(second, "two", publisher.id)
    assert await new.sync() == []
    assert observer.CountSubscribers(first) == {"internal": 0, "ws": 1, "total": 1}


async def test_an_id_taken_over_on_the_same_node_keeps_receiving_from_other_nodes(
    cluster: Cluster, observer: Server, connect: Connect
) -> None:
    n1, n2, _ = cluster.nodes
    topic = unique("t")
    client_id = unique("reconnecting")
    old = await connect(n2.url, client_id)
    await old.subscribe(topic)
    publisher = await connect(n1.url, unique("pub"))
    await routed(observer, topic, internal=0, ws=1, publishers=[publisher])

    new = await connect(n2.url, client_id)  # e.g. a client reconnecting before its old socket timed out

    assert await old.closed() == (4001, "replaced by a newer connection")
    await publisher.publish(topic, "still here")
    assert await new.recv() == delivery(topic, "still here", publisher.id)
    assert await new.sync() == []
    await eventually(lambda: observer.CountSubscribers(topic)["ws"], 1)
