"""The in-process server API: Subscribe, Publish*, ack handles, OnID, counts (spec §4-§6, §9.3, §9.17)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from ksps import Server
from ksps.protocol import AckAnswer, AckResponse
from ksps.server.server import core_of

from .conftest import Connect
from .wire import Inbox, units

# -- Subscribe / Unsubscribe ---------------------------------------------------------------------------------


async def test_subscribe_with_a_sync_callback(connect: Connect, server: Server) -> None:
    inbox = Inbox()
    unsub = server.Subscribe("news", inbox)
    publisher = await connect("pub")
    await publisher.publish("news", {"a": 1})
    assert await inbox.get() == {"data": {"a": 1}, "from": "pub"}
    unsub()


async def test_subscribe_with_an_async_callback(connect: Connect, server: Server) -> None:
    inbox = Inbox()

    async def callback(message: Any, unsub: Any) -> None:
        await asyncio.sleep(0)
        inbox(message)

    unsub = server.Subscribe("news", callback)
    publisher = await connect("pub")
    await publisher.publish("news", "x")
    assert await inbox.get() == {"data": "x", "from": "pub"}
    unsub()


async def test_async_callbacks_of_one_subscription_keep_their_order(server: Server) -> None:
    inbox = Inbox()

    async def callback(message: Any, unsub: Any) -> None:
        for _ in range(3 - message["data"] % 3):  # later messages finish their own work sooner
            await asyncio.sleep(0)
        inbox(message["data"])

    unsub = server.Subscribe("seq", callback)
    for n in range(30):
        server.Publish("seq", n)
    assert [await inbox.get() for _ in range(30)] == list(range(30))
    unsub()


async def test_the_returned_unsubscribe_stops_deliveries(connect: Connect, server: Server) -> None:
    removed, marker = Inbox(), Inbox()
    unsub = server.Subscribe("news", removed)
    unsub()
    unsub()  # idempotent
    keep = server.Subscribe("news", marker)
    publisher = await connect("pub")
    await publisher.publish("news", 1)
    await marker.get()
    # `removed` would have been called before `marker`: subscriptions run in subscription order.
    assert removed.empty()
    assert server.CountSubscribers("news") == {"internal": 1, "ws": 0, "total": 1}
    keep()


async def test_the_unsub_passed_to_the_callback_ends_the_subscription(server: Server) -> None:
    seen: list[Any] = []
    marker = Inbox()

    def once(message: Any, unsub: Any) -> None:
        seen.append(message["data"])
        unsub()

    keep_once = server.Subscribe("news", once)
    keep_marker = server.Subscribe("news", marker)
    server.Publish("news", 1)
    server.Publish("news", 2)
    await marker.get()
    await marker.get()
    assert seen == [1]
    assert server.CountSubscribers("news")["internal"] == 1
    keep_once()
    keep_marker()


async def test_unsubscribe_topic_removes_only_server_side_subscribers(connect: Connect, server: Server) -> None:
    inbox = Inbox()
    server.Subscribe("news", inbox)
    server.Subscribe("news", inbox)
    client, publisher = await connect("sub"), await connect("pub")
    await client.subscribe("news")
    assert server.CountSubscribers("news") == {"internal": 2, "ws": 1, "total": 3}
    server.Unsubscribe("news")
    assert server.CountSubscribers("news") == {"internal": 0, "ws": 1, "total": 1}
    await publisher.publish("news", "still for clients")
    assert (await client.expect("publish"))["data"]["data"] == "still for clients"
    await publisher.sync()
    assert inbox.empty()


# -- Publish / PublishToID -----------------------------------------------------------------------------------


async def test_publish_from_the_server_reaches_clients_and_server_subscribers(connect: Connect, server: Server) -> None:
    inbox = Inbox()
    keep = server.Subscribe("news", inbox)
    client = await connect("sub")
    await client.subscribe("news")
    server.Publish("news", {"from": "spoof?", "n": 1})
    assert await client.recv() == {
        "action": "publish",
        "topic": "news",
        "data": {"data": {"from": "spoof?", "n": 1}, "from": server.ID},
    }
    assert await inbox.get() == {"data": {"from": "spoof?", "n": 1}, "from": server.ID}
    keep()


async def test_publish_to_id_from_the_server(connect: Connect, server: Server) -> None:
    client = await connect("target")
    server.PublishToID("target", [1, 2])
    assert await client.recv() == {"action": "direct_message", "from": server.ID, "data": [1, 2]}
    server.PublishToID("nobody", 1)  # dropped silently
    assert await client.sync() == []


async def test_publish_to_the_server_id_reaches_on_id(server: Server) -> None:
    inbox = Inbox()
    server.OnID(inbox)
    server.PublishToID(server.ID, "self")
    assert await inbox.get() == {"data": "self", "from": server.ID}


async def test_async_on_id(connect: Connect, server: Server) -> None:
    inbox = Inbox()

    async def on_id(message: Any) -> None:
        await asyncio.sleep(0)
        inbox(message)

    server.OnID(on_id)
    client = await connect("c")
    await client.send({"action": "direct_message", "to": server.ID, "data": 7})
    assert await inbox.get() == {"data": 7, "from": "c"}


async def test_data_that_is_not_json_is_refused(server: Server) -> None:
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        server.Publish("news", object())


# -- PublishWithAck and the ack handle -----------------------------------------------------------------------


async def test_publish_with_ack_wait_collects_every_response(connect: Connect, server: Server) -> None:
    internal = server.Subscribe("jobs", lambda message, unsub: None)
    first, second = await connect("s1"), await connect("s2")
    await first.subscribe("jobs")
    await second.subscribe("jobs")
    ack = server.PublishWithAck("jobs", {"job": 1}, timeout=units(60))
    delivery = await first.expect("publish_ack", topic="jobs")
    assert delivery["data"] == {"data": {"job": 1}, "from": server.ID}
    assert not ack.IsComplete()
    await first.ack(delivery["ack_id"])
    await second.expect("publish_ack")
    await second.ack(delivery["ack_id"], success=False, error="bad job")
    responses = await asyncio.wait_for(ack.Wait(), units(2))
    assert set(responses) == {"s1", "s2", internal_id(responses)}
    assert responses["s1"] == AckAnswer(delivery["ack_id"], "s1", True).to_dict()
    assert responses["s2"] == AckAnswer(delivery["ack_id"], "s2", False, "bad job").to_dict()
    assert responses[internal_id(responses)]["success"] is True
    assert ack.IsComplete()
    assert ack.GetStatus() == dict.fromkeys(responses, True)
    internal()


def internal_id(responses: dict[str, AckResponse]) -> str:
    [responder] = [r for r in responses if re.fullmatch(r"internal_\d+", r)]
    return responder


async def test_get_status_follows_the_answers(connect: Connect, server: Server) -> None:
    first, second = await connect("s1"), await connect("s2")
    await first.subscribe("jobs")
    await second.subscribe("jobs")
    ack = server.PublishWithAck("jobs", 1, timeout=units(60))
    assert ack.GetStatus() == {"s1": False, "s2": False}
    server_ack_id = (await first.expect("publish_ack"))["ack_id"]
    await first.ack(server_ack_id)
    await first.sync()
    assert ack.GetStatus() == {"s1": True, "s2": False}
    assert not ack.IsComplete()
    ack.Cancel()


async def test_wait_after_every_ack_arrived_still_returns_them(connect: Connect, server: Server) -> None:
    subscriber = await connect("s1")
    await subscriber.subscribe("jobs")
    ack = server.PublishWithAck("jobs", 1, timeout=units(60))
    await subscriber.ack((await subscriber.expect("publish_ack"))["ack_id"])
    await subscriber.sync()
    assert ack.IsComplete()
    # The original returned {} here (spec §9.3).
    assert list(await asyncio.wait_for(ack.Wait(), units(1))) == ["s1"]
    assert list(await asyncio.wait_for(ack.Wait(), units(1))) == ["s1"]


async def test_wait_any_returns_the_first_to_arrive_without_consuming_it(connect: Connect, server: Server) -> None:
    first, second = await connect("s1"), await connect("s2")
    await first.subscribe("jobs")
    await second.subscribe("jobs")
    ack = server.PublishWithAck("jobs", 1, timeout=units(60))
    waiting = asyncio.create_task(ack.WaitAny())
    server_ack_id = (await first.expect("publish_ack"))["ack_id"]
    await second.expect("publish_ack")
    assert not waiting.done()
    await second.ack(server_ack_id)  # second subscribed, first to answer
    response, ok = await asyncio.wait_for(waiting, units(2))
    assert ok and response is not None and response["client_id"] == "s2"
    await first.ack(server_ack_id)
    assert set(await asyncio.wait_for(ack.Wait(), units(2))) == {"s1", "s2"}
    response, ok = await ack.WaitAny()
    assert ok and response is not None and response["client_id"] == "s2"


async def test_wait_any_with_no_answer_before_the_end(connect: Connect, server: Server) -> None:
    silent = await connect("s1")
    await silent.subscribe("jobs")
    ack = server.PublishWithAck("jobs", 1, timeout=units(0.2))
    assert await asyncio.wait_for(ack.WaitAny(), units(5)) == (None, False)


async def test_cancel_releases_a_pending_wait_at_once(connect: Connect, server: Server) -> None:
    first, second = await connect("s1"), await connect("s2")
    await first.subscribe("jobs")
    await second.subscribe("jobs")
    ack = server.PublishWithAck("jobs", 1, timeout=units(60))
    waiting = asyncio.create_task(ack.Wait())
    await first.ack((await first.expect("publish_ack"))["ack_id"])
    await first.sync()
    assert not waiting.done()
    ack.Cancel()
    assert list(await asyncio.wait_for(waiting, units(1))) == ["s1"]
    ack.Cancel()  # harmless twice
    assert len(core_of(server).broker.acks) == 0


async def test_timeout_ends_wait_with_what_arrived(connect: Connect, server: Server) -> None:
    answering, silent = await connect("s1"), await connect("s2")
    await answering.subscribe("jobs")
    await silent.subscribe("jobs")
    ack = server.PublishWithAck("jobs", 1, timeout=units(0.5))
    await answering.ack((await answering.expect("publish_ack"))["ack_id"])
    assert list(await asyncio.wait_for(ack.Wait(), units(5))) == ["s1"]
    assert not ack.IsComplete()


async def test_no_subscriber_completes_at_once(server: Server) -> None:
    ack = server.PublishWithAck("empty", 1)
    assert ack.IsComplete()
    assert await asyncio.wait_for(ack.Wait(), units(1)) == {}
    assert await asyncio.wait_for(ack.WaitAny(), units(1)) == (None, False)


@pytest.mark.parametrize("is_async", [False, True])
async def test_raising_server_callback_answers_success_false(server: Server, is_async: bool) -> None:
    def failing(message: Any, unsub: Any) -> None:
        raise ValueError("cannot process job 42")

    async def failing_async(message: Any, unsub: Any) -> None:
        await asyncio.sleep(0)
        raise ValueError("cannot process job 42")

    keep = server.Subscribe("jobs", failing_async if is_async else failing)
    ack = server.PublishWithAck("jobs", 1, timeout=units(60))
    [response] = (await asyncio.wait_for(ack.Wait(), units(2))).values()
    assert response["success"] is False
    assert response["error"] == "cannot process job 42"
    keep()


async def test_a_slow_async_callback_does_not_stall_other_deliveries(connect: Connect, server: Server) -> None:
    release = asyncio.Event()
    started = Inbox()

    async def slow(message: Any, unsub: Any) -> None:
        started(message)
        await release.wait()

    fast = Inbox()
    keep = [server.Subscribe("work", slow), server.Subscribe("work", fast), server.Subscribe("other", fast)]
    client, publisher = await connect("sub"), await connect("pub")
    await client.subscribe("work")
    await publisher.publish("work", 1)
    await started.get()
    await publisher.publish("work", 2)
    await publisher.publish("other", 3)
    assert [(await fast.get())["data"] for _ in range(3)] == [1, 2, 3]
    assert [(await client.expect("publish"))["data"]["data"] for _ in range(2)] == [1, 2]
    # The slow subscription's own second message waits for its first: per-subscription order.
    assert started.empty()
    release.set()
    assert (await started.get())["data"] == 2
    for unsub in keep:
        unsub()


async def test_publish_to_id_with_ack_from_the_server(connect: Connect, server: Server) -> None:
    target = await connect("target")
    ack = server.PublishToIDWithAck("target", {"cmd": "go"}, timeout=units(60))
    delivery = await target.expect("publish_ack")
    assert re.fullmatch(r"__direct_target_\d+", delivery["topic"])
    assert delivery["data"] == {"data": {"cmd": "go"}, "from": server.ID}
    await target.ack(delivery["ack_id"])
    expected = {"target": AckAnswer(delivery["ack_id"], "target", True).to_dict()}
    assert await asyncio.wait_for(ack.Wait(), units(2)) == expected
    unknown = server.PublishToIDWithAck("ghost", 1)
    assert unknown.IsComplete()
    assert await asyncio.wait_for(unknown.Wait(), units(1)) == {}


async def test_publish_to_id_with_ack_to_the_own_id(server: Server) -> None:
    inbox = Inbox()
    server.OnID(inbox)
    ack = server.PublishToIDWithAck(server.ID, "ping", timeout=units(60))
    [(responder, response)] = (await asyncio.wait_for(ack.Wait(), units(2))).items()
    assert re.fullmatch(r"internal_\d+", responder) and response["success"]
    assert await inbox.get() == {"data": "ping", "from": server.ID}


async def test_publish_to_id_with_ack_without_on_id(server: Server) -> None:
    ack = server.PublishToIDWithAck(server.ID, "ping", timeout=units(60))
    [response] = (await asyncio.wait_for(ack.Wait(), units(2))).values()
    assert (response["success"], response.get("error")) == (False, "no subscriber for topic")


# -- counts --------------------------------------------------------------------------------------------------


async def test_counts(connect: Connect, server: Server) -> None:
    assert server.CountClients() == 0
    assert server.CountSubscribers("t") == {"internal": 0, "ws": 0, "total": 0}
    unregistered = await connect(register=False)
    first, second = await connect("a"), await connect("b")
    assert server.CountClients() == 2  # only registered connections count
    await first.subscribe("t")
    await second.subscribe("t")
    keep = server.Subscribe("t", lambda message, unsub: None)
    assert server.CountSubscribers("t") == {"internal": 1, "ws": 2, "total": 3}
    await second.close()
    await first.sync()
    assert server.CountClients() == 1
    assert server.CountSubscribers("t") == {"internal": 1, "ws": 1, "total": 2}
    await unregistered.register("late")
    assert server.CountClients() == 2
    keep()
