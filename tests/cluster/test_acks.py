"""Acknowledgements across nodes: aggregation, progress, errors, status, cancel (spec §6; spec/cluster.md §4)."""

from __future__ import annotations

import asyncio
from typing import Any

from ksps import Server

from .conftest import Cluster, Connect, StartNode, routed
from .wire import Frame, Inbox, WireClient, eventually, unique, units


def answer(server_ack_id: str, client_id: str, success: bool = True, error: str = "") -> Frame:
    """An AckResponse as it appears in `ack_progress` and `ack_response` (spec §2.3)."""
    out: Frame = {"ack_id": server_ack_id, "client_id": client_id, "success": success}
    if error:
        out["error"] = error
    return out


async def publish_ack_to(receivers: list[WireClient], topic: str, data: Any, sender: str) -> str:
    """Every receiver gets the same `publish_ack`; returns its server ack ID."""
    ack_ids = set()
    for receiver in receivers:
        frame = await receiver.expect("publish_ack", topic=topic, data={"data": data, "from": sender})
        ack_ids.add(frame["ack_id"])
    assert len(ack_ids) == 1, ack_ids
    return ack_ids.pop()


async def progress(client: WireClient, count: int) -> list[Frame]:
    """The next `count` frames, all `ack_progress`, sorted by responder (nodes answer in any order)."""
    frames = [await client.expect("ack_progress") for _ in range(count)]
    return sorted(frames, key=lambda frame: frame["data"]["client_id"])


async def test_answers_from_two_nodes_make_one_ack_response_with_progress_before_it(
    cluster: Cluster, observer: Server, connect: Connect
) -> None:
    n1, n2, _ = cluster.nodes
    topic = unique("jobs")
    publisher = await connect(n1.url, unique("pub"))
    local, remote = await connect(n1.url, unique("a-local")), await connect(n2.url, unique("b-remote"))
    await local.subscribe(topic)
    await remote.subscribe(topic)
    await routed(observer, topic, internal=0, ws=2, publishers=[publisher])

    await publisher.publish_with_ack(topic, {"q": 1}, "req-1", timeout=units(20))
    sid = await publish_ack_to([local, remote], topic, {"q": 1}, publisher.id)
    await remote.ack(sid, success=False, error="disk full")
    await local.ack(sid)

    expected = {
        local.id: answer(sid, local.id),
        remote.id: answer(sid, remote.id, success=False, error="disk full"),
    }
    assert await progress(publisher, 2) == [
        {"action": "ack_progress", "ack_id": "req-1", "data": expected[local.id]},
        {"action": "ack_progress", "ack_id": "req-1", "data": expected[remote.id]},
    ]
    # Well before its 20-unit timeout: both nodes' answers are in.
    assert await publisher.recv() == {"action": "ack_response", "ack_id": "req-1", "responses": expected}
    assert await publisher.sync() == []


async def test_a_remote_subscriber_that_disconnects_answers_client_disconnected(
    cluster: Cluster, observer: Server, connect: Connect
) -> None:
    n1, n2, n3 = cluster.nodes
    topic = unique("jobs")
    publisher = await connect(n1.url, unique("pub"))
    staying, leaving = await connect(n3.url, unique("a-stays")), await connect(n2.url, unique("b-leaves"))
    await staying.subscribe(topic)
    await leaving.subscribe(topic)
    await routed(observer, topic, internal=0, ws=2, publishers=[publisher])

    await publisher.publish_with_ack(topic, "work", "req-2", timeout=units(20))
    sid = await publish_ack_to([staying, leaving], topic, "work", publisher.id)
    await leaving.close()
    await staying.ack(sid)

    expected = {
        staying.id: answer(sid, staying.id),
        leaving.id: answer(sid, leaving.id, success=False, error="client disconnected"),
    }
    assert [frame["data"] for frame in await progress(publisher, 2)] == [expected[staying.id], expected[leaving.id]]
    assert await publisher.recv() == {"action": "ack_response", "ack_id": "req-2", "responses": expected}


async def test_get_ack_status_lists_remote_responders(cluster: Cluster, observer: Server, connect: Connect) -> None:
    n1, n2, _ = cluster.nodes
    topic = unique("jobs")
    publisher = await connect(n1.url, unique("pub"))
    local, remote = await connect(n1.url, unique("a-local")), await connect(n2.url, unique("b-remote"))
    await local.subscribe(topic)
    await remote.subscribe(topic)
    await routed(observer, topic, internal=0, ws=2, publishers=[publisher])

    await publisher.publish_with_ack(topic, "x", "req-3", timeout=units(20))
    sid = await publish_ack_to([local, remote], topic, "x", publisher.id)
    await remote.ack(sid)
    # The remote answer arrives after the remote node's `exp`: the status is complete once we see it.
    assert await publisher.expect("ack_progress", ack_id="req-3", data=answer(sid, remote.id))
    await publisher.send({"action": "get_ack_status", "ack_id": "req-3"})
    assert await publisher.recv() == {
        "action": "ack_status",
        "ack_id": "req-3",
        "status": {local.id: False, remote.id: True},
    }

    await local.ack(sid)
    assert await publisher.expect("ack_progress", ack_id="req-3", data=answer(sid, local.id))
    assert await publisher.expect("ack_response", ack_id="req-3")
    await publisher.send({"action": "get_ack_status", "ack_id": "req-3"})
    assert await publisher.recv() == {"action": "ack_status", "ack_id": "req-3"}  # finished: no status


async def test_cancel_ack_ends_a_request_with_remote_responders(
    cluster: Cluster, observer: Server, connect: Connect
) -> None:
    n1, n2, _ = cluster.nodes
    topic = unique("jobs")
    publisher = await connect(n1.url, unique("pub"))
    remote = await connect(n2.url, unique("remote"))
    await remote.subscribe(topic)
    await routed(observer, topic, internal=0, ws=1, publishers=[publisher])

    await publisher.publish_with_ack(topic, "x", "req-4", timeout=units(20))
    sid = await publish_ack_to([remote], topic, "x", publisher.id)
    await publisher.send({"action": "cancel_ack", "ack_id": "req-4"})
    assert await publisher.recv() == {"action": "ack_cancelled", "ack_id": "req-4"}

    await remote.ack(sid)
    # The answer travels to node 1 before this direct message does (one node's messages keep their order):
    # had the request not been cancelled, its ack_progress and ack_response would arrive first.
    await remote.direct(publisher.id, "after my ack")
    assert await publisher.recv() == {"action": "direct_message", "from": remote.id, "data": "after my ack"}
    assert await publisher.sync() == []


async def test_server_api_ack_handle_follows_remote_subscribers(
    cluster: Cluster, observer: Server, connect: Connect
) -> None:
    n1, n2, _ = cluster.nodes
    topic = unique("jobs")
    first, second = await connect(n1.url, unique("a-first")), await connect(n2.url, unique("b-second"))
    await first.subscribe(topic)
    await second.subscribe(topic)
    await routed(observer, topic, internal=0, ws=2)

    ack = observer.PublishWithAck(topic, {"job": 1}, timeout=units(20))
    sid = await publish_ack_to([first, second], topic, {"job": 1}, observer.ID)
    await eventually(ack.GetStatus, {first.id: False, second.id: False}, what="GetStatus")
    assert not ack.IsComplete()

    await second.ack(sid)
    assert await asyncio.wait_for(ack.WaitAny(), units(3)) == (answer(sid, second.id, True), True)
    assert ack.GetStatus() == {first.id: False, second.id: True}
    assert not ack.IsComplete()

    await first.ack(sid, success=False, error="nope")
    assert await asyncio.wait_for(ack.Wait(), units(3)) == {
        second.id: answer(sid, second.id, True),
        first.id: answer(sid, first.id, False, "nope"),
    }
    assert ack.IsComplete()


async def test_server_api_cancel_ignores_later_remote_answers(
    cluster: Cluster, observer: Server, connect: Connect
) -> None:
    n1, n2, _ = cluster.nodes
    topic = unique("jobs")
    on_id = Inbox()
    observer.OnID(on_id)
    first, second = await connect(n1.url, unique("a-first")), await connect(n2.url, unique("b-second"))
    await first.subscribe(topic)
    await second.subscribe(topic)
    await routed(observer, topic, internal=0, ws=2)

    ack = observer.PublishWithAck(topic, "x", timeout=units(20))
    sid = await publish_ack_to([first, second], topic, "x", observer.ID)
    await first.ack(sid)
    await eventually(ack.GetStatus, {first.id: True, second.id: False}, what="GetStatus")
    ack.Cancel()
    assert await asyncio.wait_for(ack.Wait(), units(1)) == {first.id: answer(sid, first.id, True)}
    assert not ack.IsComplete()

    await second.ack(sid)
    await second.direct(observer.ID, "after my ack")  # travels behind the answer (one node's order)
    assert await on_id.get() == {"data": "after my ack", "from": second.id}
    assert ack.GetStatus() == {first.id: True, second.id: False}
    assert await ack.Wait() == {first.id: answer(sid, first.id, True)}


async def test_server_side_subscribers_of_different_nodes_answer_separately(
    cluster: Cluster, observer: Server, start_node: StartNode, connect: Connect
) -> None:
    topic = unique("jobs")
    fine, failing = await start_node(cluster.prefix), await start_node(cluster.prefix)
    fine.Subscribe(topic, Inbox())
    failing.Subscribe(topic, Inbox(fail_with="nope"))  # both nodes' first subscription: same local number
    publisher = await connect(cluster.nodes[0].url, unique("pub"))
    remote = await connect(cluster.nodes[1].url, unique("remote"))
    await remote.subscribe(topic)
    await routed(observer, topic, internal=2, ws=1, publishers=[publisher])

    await publisher.publish_with_ack(topic, "x", "req-5", timeout=units(20))
    sid = await publish_ack_to([remote], topic, "x", publisher.id)
    await remote.ack(sid)
    answers = [frame["data"] for frame in await progress(publisher, 3)]
    response = await publisher.expect("ack_response", ack_id="req-5")

    server_side = [a for a in answers if a["client_id"] != remote.id]
    assert len({a["client_id"] for a in server_side}) == 2, answers
    assert all(a["client_id"].startswith("internal_") for a in server_side), answers
    assert sorted((a["success"], a.get("error", "")) for a in server_side) == [
        (False, "nope"),
        (True, ""),
    ]
    assert response["responses"] == {a["client_id"]: a for a in answers}


async def test_publish_to_id_with_ack_reaches_a_client_of_another_node(
    cluster: Cluster, observer: Server, connect: Connect
) -> None:
    n1, n2, _ = cluster.nodes
    sender, target = await connect(n1.url, unique("tx")), await connect(n2.url, unique("rx"))

    await sender.publish_to_id_with_ack(target.id, {"x": 1}, "dm-1", timeout=units(20))
    frame = await target.expect("publish_ack", data={"data": {"x": 1}, "from": sender.id})
    assert frame["topic"].startswith(f"__direct_{target.id}_")  # spec §6.4
    await target.ack(frame["ack_id"])
    expected = answer(frame["ack_id"], target.id)
    assert await sender.recv() == {"action": "ack_progress", "ack_id": "dm-1", "data": expected}
    assert await sender.recv() == {"action": "ack_response", "ack_id": "dm-1", "responses": {target.id: expected}}

    ack = observer.PublishToIDWithAck(target.id, "from the server API", timeout=units(20))
    frame = await target.expect("publish_ack", data={"data": "from the server API", "from": observer.ID})
    await target.ack(frame["ack_id"], success=False, error="busy")
    assert await asyncio.wait_for(ack.Wait(), units(3)) == {
        target.id: answer(frame["ack_id"], target.id, False, "busy")
    }


async def test_publish_to_id_with_ack_to_an_unknown_id_answers_at_once(cluster: Cluster, connect: Connect) -> None:
    sender = await connect(cluster.nodes[0].url, unique("tx"))

    await sender.publish_to_id_with_ack(unique("nobody"), "x", "dm-2", timeout=units(60))

    # Every node says it does not hold the ID: no waiting for the 60-unit timeout.
    assert await sender.recv(timeout=units(3)) == {"action": "ack_response", "ack_id": "dm-2"}


async def test_publish_to_id_with_ack_to_another_nodes_server_id_is_answered_by_its_on_id(
    cluster: Cluster, start_node: StartNode, connect: Connect
) -> None:
    other = await start_node(cluster.prefix)
    on_id = Inbox()
    other.OnID(on_id)
    sender = await connect(cluster.nodes[0].url, unique("tx"))

    await sender.publish_to_id_with_ack(other.ID, {"cmd": "reload"}, "dm-3", timeout=units(20))

    assert await on_id.get() == {"data": {"cmd": "reload"}, "from": sender.id}
    progress_frame = await sender.expect("ack_progress", ack_id="dm-3")
    responder = progress_frame["data"]["client_id"]
    assert responder.startswith("internal_")  # the OnID handler answers as a server-side responder (spec §6.4)
    assert progress_frame["data"]["success"] is True
    assert await sender.recv() == {
        "action": "ack_response",
        "ack_id": "dm-3",
        "responses": {responder: progress_frame["data"]},
    }
