"""Publications with acknowledgement over the wire (spec §6), extensions included (§6.2, §6.3, §6.5)."""

from __future__ import annotations

import re

import pytest

from ksps import Server
from ksps.server.server import core_of

from .conftest import Connect
from .wire import WireClient, ms, units

#: A timeout long enough never to fire during a test: a request that ends did so for another reason.
NEVER = ms(units(60))


async def publish_with_ack(publisher: WireClient, topic: str, ack_id: str, **extra: object) -> None:
    frame = {"action": "publish_with_ack", "topic": topic, "data": {"v": 1}, "ack_id": ack_id, "timeout": NEVER}
    await publisher.send({**frame, **extra})


async def test_full_round_trip(connect: Connect) -> None:
    first, second, publisher = await connect("s1"), await connect("s2"), await connect("pub")
    await first.subscribe("jobs")
    await second.subscribe("jobs")
    await publish_with_ack(publisher, "jobs", "c1")
    delivery = await first.recv()
    server_ack_id = delivery["ack_id"]
    assert delivery == {
        "action": "publish_ack",
        "topic": "jobs",
        "ack_id": server_ack_id,
        "data": {"data": {"v": 1}, "from": "pub"},
    }
    assert await second.recv() == delivery, "one server ack ID per publication"
    assert server_ack_id != "c1"
    await first.ack(server_ack_id)
    await second.ack(server_ack_id, success=False, error="boom")
    assert await publisher.recv() == {
        "action": "ack_response",
        "ack_id": "c1",
        "responses": {
            "s1": {"ack_id": server_ack_id, "client_id": "s1", "success": True},
            "s2": {"ack_id": server_ack_id, "client_id": "s2", "success": False, "error": "boom"},
        },
    }
    # Exactly one ack_response, and no `published` reply for a publish_with_ack.
    assert await publisher.sync() == []


async def test_responder_id_is_the_registered_one(connect: Connect) -> None:
    subscriber, publisher = await connect("real"), await connect("pub")
    await subscriber.subscribe("jobs")
    await publish_with_ack(publisher, "jobs", "c1")
    server_ack_id = (await subscriber.expect("publish_ack"))["ack_id"]
    await subscriber.send(
        {
            "action": "ack",
            "ack_id": server_ack_id,
            "data": {"ack_id": server_ack_id, "client_id": "fake", "success": True},
        }
    )
    response = await publisher.expect("ack_response", ack_id="c1")
    assert response["responses"] == {"real": {"ack_id": server_ack_id, "client_id": "real", "success": True}}


async def test_ack_with_ack_id_only_in_data(connect: Connect) -> None:
    subscriber, publisher = await connect("s1"), await connect("pub")
    await subscriber.subscribe("jobs")
    await publish_with_ack(publisher, "jobs", "c1")
    server_ack_id = (await subscriber.expect("publish_ack"))["ack_id"]
    await subscriber.send({"action": "ack", "data": {"ack_id": server_ack_id, "success": True}})
    response = await publisher.expect("ack_response", ack_id="c1")
    assert response["responses"]["s1"]["success"] is True


async def test_no_subscriber_gives_an_immediate_empty_ack_response(connect: Connect) -> None:
    publisher = await connect("pub")
    await publish_with_ack(publisher, "nobody-listens", "c0")
    assert await publisher.recv() == {"action": "ack_response", "ack_id": "c0"}


@pytest.mark.server_options(default_ack_timeout=60.0)
async def test_client_timeout_is_honoured_with_partial_responses(connect: Connect) -> None:
    answering, silent, publisher = await connect("s1"), await connect("s2"), await connect("pub")
    await answering.subscribe("jobs")
    await silent.subscribe("jobs")
    await publish_with_ack(publisher, "jobs", "c1", timeout=ms(units(0.5)))
    server_ack_id = (await answering.expect("publish_ack"))["ack_id"]
    await answering.ack(server_ack_id)
    # The server default is 60 s: an answer within a few units means the 0.5-unit timeout was used.
    response = await publisher.expect("ack_response", timeout=units(5), ack_id="c1")
    assert response["responses"] == {"s1": {"ack_id": server_ack_id, "client_id": "s1", "success": True}}


@pytest.mark.server_options(default_ack_timeout=units(0.3))
async def test_without_timeout_the_server_default_applies(connect: Connect) -> None:
    silent, publisher = await connect("s1"), await connect("pub")
    await silent.subscribe("jobs")
    await publisher.send({"action": "publish_with_ack", "topic": "jobs", "data": 1, "ack_id": "c1"})
    await silent.expect("publish_ack")
    assert await publisher.recv(timeout=units(5)) == {"action": "ack_response", "ack_id": "c1"}


@pytest.mark.server_options(max_ack_timeout=units(0.3), default_ack_timeout=60.0)
async def test_client_timeout_is_capped_by_the_server_maximum(connect: Connect) -> None:
    silent, publisher = await connect("s1"), await connect("pub")
    await silent.subscribe("jobs")
    await publish_with_ack(publisher, "jobs", "c1", timeout=ms(3600))
    await silent.expect("publish_ack")
    assert await publisher.recv(timeout=units(5)) == {"action": "ack_response", "ack_id": "c1"}


async def test_progress_frames_arrive_per_response_before_the_final_response(connect: Connect) -> None:
    first, second, publisher = await connect("s1"), await connect("s2"), await connect("pub")
    await first.subscribe("jobs")
    await second.subscribe("jobs")
    await publish_with_ack(publisher, "jobs", "c1", progress=True)
    server_ack_id = (await first.expect("publish_ack"))["ack_id"]
    await second.expect("publish_ack")
    await second.ack(server_ack_id)
    assert await publisher.recv() == {
        "action": "ack_progress",
        "ack_id": "c1",
        "data": {"ack_id": server_ack_id, "client_id": "s2", "success": True},
    }
    await first.ack(server_ack_id, success=False, error="nope")
    assert await publisher.recv() == {
        "action": "ack_progress",
        "ack_id": "c1",
        "data": {"ack_id": server_ack_id, "client_id": "s1", "success": False, "error": "nope"},
    }
    response = await publisher.expect("ack_response", ack_id="c1")
    assert list(response["responses"]) == ["s2", "s1"]


async def test_no_progress_frames_unless_asked(connect: Connect) -> None:
    first, second, publisher = await connect("s1"), await connect("s2"), await connect("pub")
    await first.subscribe("jobs")
    await second.subscribe("jobs")
    await publish_with_ack(publisher, "jobs", "c1")
    server_ack_id = (await first.expect("publish_ack"))["ack_id"]
    await first.ack(server_ack_id)
    await first.sync()
    assert await publisher.sync() == []


async def test_get_ack_status_with_the_client_ack_id(connect: Connect) -> None:
    first, second, publisher = await connect("s1"), await connect("s2"), await connect("pub")
    await first.subscribe("jobs")
    await second.subscribe("jobs")
    await publish_with_ack(publisher, "jobs", "c1")
    server_ack_id = (await first.expect("publish_ack"))["ack_id"]
    await publisher.send({"action": "get_ack_status", "ack_id": "c1"})
    assert await publisher.recv() == {"action": "ack_status", "ack_id": "c1", "status": {"s1": False, "s2": False}}
    await second.ack(server_ack_id)
    await second.sync()
    await publisher.send({"action": "get_ack_status", "ack_id": "c1"})
    assert await publisher.recv() == {"action": "ack_status", "ack_id": "c1", "status": {"s1": False, "s2": True}}
    await first.ack(server_ack_id)
    await publisher.expect("ack_response", ack_id="c1")
    # Finished and unknown requests have no status (spec §6.5).
    await publisher.send({"action": "get_ack_status", "ack_id": "c1"})
    assert await publisher.recv() == {"action": "ack_status", "ack_id": "c1"}
    await publisher.send({"action": "get_ack_status", "ack_id": "unknown"})
    assert await publisher.recv() == {"action": "ack_status", "ack_id": "unknown"}


async def test_cancel_ack_ends_the_request_without_an_ack_response(connect: Connect, server: Server) -> None:
    subscriber, publisher = await connect("s1"), await connect("pub")
    await subscriber.subscribe("jobs")
    await publish_with_ack(publisher, "jobs", "c1")
    server_ack_id = (await subscriber.expect("publish_ack"))["ack_id"]
    await publisher.send({"action": "cancel_ack", "ack_id": "c1"})
    assert await publisher.recv() == {"action": "ack_cancelled", "ack_id": "c1"}
    # A late ack would have completed the request: it must not produce an ack_response now.
    await subscriber.ack(server_ack_id)
    await subscriber.sync()
    assert await publisher.sync() == []
    # And no timer is left that could send one later.
    assert len(core_of(server).broker.acks) == 0
    await publisher.send({"action": "get_ack_status", "ack_id": "c1"})
    assert await publisher.recv() == {"action": "ack_status", "ack_id": "c1"}


async def test_cancel_ack_of_an_unknown_request_is_answered(connect: Connect) -> None:
    publisher = await connect("pub")
    await publisher.send({"action": "cancel_ack", "ack_id": "nothing"})
    assert await publisher.recv() == {"action": "ack_cancelled", "ack_id": "nothing"}


async def test_publish_to_id_with_ack_to_a_client(connect: Connect) -> None:
    target, publisher = await connect("target"), await connect("pub")
    await publisher.send(
        {
            "action": "publish_to_id_with_ack",
            "to": "target",
            "data": "hi",
            "ack_id": "d1",
            "timeout": NEVER,
        }
    )
    delivery = await target.expect("publish_ack")
    assert re.fullmatch(r"__direct_target_\d+", delivery["topic"]), delivery
    assert delivery["data"] == {"data": "hi", "from": "pub"}
    await target.ack(delivery["ack_id"])
    assert await publisher.recv() == {
        "action": "ack_response",
        "ack_id": "d1",
        "responses": {"target": {"ack_id": delivery["ack_id"], "client_id": "target", "success": True}},
    }


async def test_publish_to_id_with_ack_to_the_server_id(connect: Connect, server: Server) -> None:
    received: list[object] = []
    server.OnID(received.append)
    publisher = await connect("pub")
    await publisher.send(
        {
            "action": "publish_to_id_with_ack",
            "to": server.ID,
            "data": {"q": 1},
            "ack_id": "d1",
            "timeout": NEVER,
        }
    )
    response = await publisher.expect("ack_response", ack_id="d1")
    [(responder, answer)] = response["responses"].items()
    assert re.fullmatch(r"internal_\d+", responder)
    assert answer["client_id"] == responder
    assert answer["success"] is True
    assert received == [{"data": {"q": 1}, "from": "pub"}]


async def test_publish_to_id_with_ack_to_a_failing_on_id(connect: Connect, server: Server) -> None:
    def on_id(message: object) -> None:
        raise ValueError("cannot handle")

    server.OnID(on_id)
    publisher = await connect("pub")
    await publisher.send({"action": "publish_to_id_with_ack", "to": server.ID, "data": 1, "ack_id": "d1"})
    response = await publisher.expect("ack_response", ack_id="d1")
    [answer] = response["responses"].values()
    assert answer["success"] is False
    assert "cannot handle" in answer["error"]


async def test_publish_to_id_with_ack_to_an_unknown_id_answers_at_once(connect: Connect) -> None:
    publisher = await connect("pub")
    await publisher.send({"action": "publish_to_id_with_ack", "to": "ghost", "data": 1, "ack_id": "d1"})
    assert await publisher.recv() == {"action": "ack_response", "ack_id": "d1"}


@pytest.mark.parametrize(
    ("frame", "text"),
    [
        ({"action": "publish_to_id_with_ack", "ack_id": "d1"}, "missing target ID"),
        ({"action": "publish_to_id_with_ack", "to": "x"}, "missing ack_id"),
        ({"action": "publish_with_ack", "topic": "t"}, "missing ack_id"),
        ({"action": "get_ack_status"}, "missing ack_id"),
        ({"action": "cancel_ack"}, "missing ack_id"),
        ({"action": "ack"}, "missing ack data"),
        ({"action": "ack", "data": {"success": True}}, "missing ack_id"),
    ],
)
async def test_ack_frames_missing_members(connect: Connect, frame: dict[str, str], text: str) -> None:
    client = await connect()
    await client.send(frame)
    await client.expect_error(text)


async def test_responder_disconnecting_counts_as_a_failure_at_once(connect: Connect) -> None:
    staying, leaving, publisher = await connect("s1"), await connect("s2"), await connect("pub")
    await staying.subscribe("jobs")
    await leaving.subscribe("jobs")
    await publish_with_ack(publisher, "jobs", "c1")
    server_ack_id = (await staying.expect("publish_ack"))["ack_id"]
    await staying.ack(server_ack_id)
    await leaving.close()
    response = await publisher.expect("ack_response", ack_id="c1")
    assert response["responses"] == {
        "s1": {"ack_id": server_ack_id, "client_id": "s1", "success": True},
        "s2": {"ack_id": server_ack_id, "client_id": "s2", "success": False, "error": "client disconnected"},
    }


async def test_ack_from_an_unexpected_client_is_ignored(connect: Connect) -> None:
    expected, intruder, publisher = await connect("s1"), await connect("intruder"), await connect("pub")
    await expected.subscribe("jobs")
    await publish_with_ack(publisher, "jobs", "c1")
    server_ack_id = (await expected.expect("publish_ack"))["ack_id"]
    await intruder.ack(server_ack_id)
    await intruder.sync()
    # The original counted it and could end the request early (spec §9.16).
    assert await publisher.sync() == []
    await publisher.send({"action": "get_ack_status", "ack_id": "c1"})
    assert await publisher.recv() == {"action": "ack_status", "ack_id": "c1", "status": {"s1": False}}
    await expected.ack(server_ack_id)
    response = await publisher.expect("ack_response", ack_id="c1")
    assert list(response["responses"]) == ["s1"]


async def test_repeated_and_unknown_acks_are_ignored(connect: Connect) -> None:
    first, second, publisher = await connect("s1"), await connect("s2"), await connect("pub")
    await first.subscribe("jobs")
    await second.subscribe("jobs")
    await publish_with_ack(publisher, "jobs", "c1")
    server_ack_id = (await first.expect("publish_ack"))["ack_id"]
    await first.ack(server_ack_id)
    await first.ack(server_ack_id, success=False, error="changed my mind")
    await first.ack("ack_unknown")
    await first.sync()
    assert await first.sync() == []
    assert await publisher.sync() == []
    await second.ack(server_ack_id)
    response = await publisher.expect("ack_response", ack_id="c1")
    assert response["responses"]["s1"]["success"] is True


async def test_publisher_disconnecting_leaves_nothing_pending(connect: Connect, server: Server) -> None:
    subscriber, publisher = await connect("s1"), await connect("pub")
    await subscriber.subscribe("jobs")
    await publish_with_ack(publisher, "jobs", "c1")
    server_ack_id = (await subscriber.expect("publish_ack"))["ack_id"]
    await publisher.close()
    await subscriber.ack(server_ack_id)
    await subscriber.sync()
    assert len(core_of(server).broker.acks) == 0


async def test_server_side_subscribers_answer_as_internal_responders(connect: Connect, server: Server) -> None:
    def failing(message: object, unsub: object) -> None:
        raise RuntimeError("handler exploded")

    keep = [server.Subscribe("jobs", lambda message, unsub: None), server.Subscribe("jobs", failing)]
    publisher = await connect("pub")
    await publish_with_ack(publisher, "jobs", "c1")
    response = await publisher.expect("ack_response", ack_id="c1")
    answers = sorted(response["responses"].values(), key=lambda a: a["success"])
    assert [a["success"] for a in answers] == [False, True]
    assert all(re.fullmatch(r"internal_\d+", a["client_id"]) for a in answers)
    assert "handler exploded" in answers[0]["error"]
    assert len(keep) == 2
