"""Publications, direct messages and server-to-server relays across nodes (spec §4, §5, §8; spec/cluster.md)."""

from __future__ import annotations

from ksps import Server

from .conftest import Cluster, Connect, StartNode, routed
from .wire import Inbox, delivery, unique


async def test_a_publication_reaches_every_node_exactly_once(
    cluster: Cluster, observer: Server, start_node: StartNode, connect: Connect
) -> None:
    n1, n2, n3 = cluster.nodes
    topic = unique("news")
    on_server = Inbox()
    other = await start_node(cluster.prefix)
    other.Subscribe(topic, on_server)
    publisher = await connect(n1.url, unique("pub"))
    receivers = [await connect(node.url, unique(f"sub{i}")) for i, node in enumerate((n1, n2, n3), 1)]
    for receiver in receivers:
        await receiver.subscribe(topic)
    await routed(observer, topic, internal=1, ws=3, publishers=[publisher])

    await publisher.publish(topic, {"n": 1})
    await publisher.publish(topic, "marker")

    for receiver in receivers:
        assert await receiver.recv() == delivery(topic, {"n": 1}, publisher.id)
        # Publications of one node keep their order over Redis: a duplicate would come before the marker.
        assert await receiver.recv() == delivery(topic, "marker", publisher.id)
    assert await on_server.get() == {"data": {"n": 1}, "from": publisher.id}
    assert await on_server.get() == {"data": "marker", "from": publisher.id}
    assert await publisher.sync() == []


async def test_a_server_api_publication_reaches_clients_of_every_node(
    cluster: Cluster, observer: Server, connect: Connect
) -> None:
    topic = unique("alerts")
    receivers = [await connect(node.url, unique("sub")) for node in cluster.nodes]
    for receiver in receivers:
        await receiver.subscribe(topic)
    await routed(observer, topic, internal=0, ws=3)

    observer.Publish(topic, [1, 2])
    observer.Publish(topic, "marker")

    for receiver in receivers:
        assert await receiver.recv() == delivery(topic, [1, 2], observer.ID)
        assert await receiver.recv() == delivery(topic, "marker", observer.ID)


async def test_a_direct_message_reaches_a_client_of_another_node(
    cluster: Cluster, observer: Server, connect: Connect
) -> None:
    n1, n2, _ = cluster.nodes
    sender = await connect(n1.url, unique("tx"))
    target = await connect(n2.url, unique("rx"))

    await sender.direct(target.id, {"hello": 1})
    await sender.direct(unique("nobody"), "lost")  # an unknown ID is dropped, on every node (spec §5.1)
    observer.PublishToID(target.id, "from the server API")
    await sender.direct(target.id, "marker")

    frames = [await target.recv() for _ in range(3)]
    from_sender = [frame for frame in frames if frame["from"] == sender.id]
    # One sender's messages keep their order; the two senders are on different nodes, so they interleave.
    assert from_sender == [
        {"action": "direct_message", "from": sender.id, "data": {"hello": 1}},
        {"action": "direct_message", "from": sender.id, "data": "marker"},
    ]
    assert {"action": "direct_message", "from": observer.ID, "data": "from the server API"} in frames
    assert await target.sync() == []
    assert await sender.sync() == []


async def test_a_direct_message_to_another_nodes_server_id_reaches_its_on_id(
    cluster: Cluster, start_node: StartNode, connect: Connect
) -> None:
    other = await start_node(cluster.prefix)
    on_id = Inbox()
    other.OnID(on_id)
    sender = await connect(cluster.nodes[0].url, unique("tx"))

    await sender.direct(other.ID, {"for": "the server"})

    assert await on_id.get() == {"data": {"for": "the server"}, "from": sender.id}
    assert await sender.sync() == []


async def test_server_to_server_relay_reaches_subscribers_of_every_node_once(
    cluster: Cluster, observer: Server, connect: Connect
) -> None:
    n1, n2, n3 = cluster.nodes
    topic = unique("relayed")
    sender = await connect(n1.url, unique("tx"))
    marker = await connect(n2.url, unique("marker"))
    receivers = [await connect(node.url, unique("rx")) for node in (n1, n2, n3)]
    for receiver in receivers:
        await receiver.subscribe(topic)
    await routed(observer, topic, internal=0, ws=3, publishers=[marker])

    await sender.send(
        {
            "action": "publish_to_server",
            "to": n2.address,
            "data": {"topic": topic, "data": {"n": 1}},
            "status": {"is_secure": False},
        }
    )
    assert await sender.expect("server_message_sent", to=n2.address)
    # Node 2 republishes what it was relayed (spec §8.3), then, once it did, a marker from node 2 follows it
    # to every node: one node's messages keep their order, so a duplicate would come before the marker.
    origin = f"{sender.id}---ws://{n1.address}/ws/bus"
    assert await receivers[1].recv() == delivery(topic, {"n": 1}, origin)
    await marker.publish(topic, "marker")
    assert await receivers[1].recv() == delivery(topic, "marker", marker.id)
    for receiver in (receivers[0], receivers[2]):
        assert await receiver.recv() == delivery(topic, {"n": 1}, origin)
        assert await receiver.recv() == delivery(topic, "marker", marker.id)
