"""Scenarios `ack.*` (scenarios.md, Acknowledgements)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from harness import UNIT, HeldSubscriber, eventually, next_item


def ms(units: float) -> int:
    return round(units * UNIT * 1000)


@pytest.fixture
async def held(server) -> AsyncIterator[HeldSubscriber]:
    """A held server subscriber on `slow` (and `jobs`), released at the end of the test."""
    subscriber = HeldSubscriber()
    unsubscribe = [server.s.Subscribe("slow", subscriber), server.s.Subscribe("jobs", subscriber)]
    yield subscriber
    subscriber.release()
    for unsub in unsubscribe:
        unsub()


def check_response(response, client_id, success=True):
    assert isinstance(response["ack_id"], str) and response["ack_id"]
    assert response["client_id"] == client_id
    assert response["success"] is success


async def test_ack_wait_all(server, adapters, connect):
    a, b, c = await adapters("A"), await adapters("B"), await adapters("C")
    for adapter, name in ((a, "A"), (b, "B"), (c, "C")):
        await connect(adapter, id=name)
    await a.call("subscribe", topic="jobs")
    await c.call("subscribe", topic="jobs")
    handle = (await b.call("publish_with_ack", topic="jobs", data={"n": 1}, timeout_ms=ms(5)))["handle"]
    responses = (await b.call("ack_wait", handle=handle, timeout=10 * UNIT))["responses"]
    assert sorted(responses) == ["A", "C"]
    for name, response in responses.items():
        check_response(response, name)
        assert "error" not in response
    for adapter in (a, c):
        event = await adapter.event("message", topic="jobs")
        assert (event["data"], event["from"]) == ({"n": 1}, "B")


async def test_ack_wait_any_first(server, adapters, connect, held):
    a, b = await adapters("A"), await adapters("B")
    await connect(a, id="A")
    await connect(b, id="B")
    await a.call("subscribe", topic="jobs")
    handle = (await b.call("publish_with_ack", topic="jobs", data="first?", timeout_ms=ms(10)))["handle"]
    first = await b.call("ack_wait_any", handle=handle)
    assert first["ok"] is True
    check_response(first["response"], "A")
    await next_item(held.calls)  # the server subscriber was called and is still held
    held.release()
    responses = (await b.call("ack_wait", handle=handle, timeout=10 * UNIT))["responses"]
    internal = [key for key in responses if key.startswith("internal_")]
    assert sorted(responses) == sorted(["A", *internal]) and len(internal) == 1
    check_response(responses[internal[0]], internal[0])


async def test_ack_no_subscribers(server, adapters, connect):
    b = await adapters("B")
    await connect(b, id="B")
    handle = (await b.call("publish_with_ack", topic="nobody-here", data=1, timeout_ms=ms(10)))["handle"]
    assert (await b.call("ack_wait", handle=handle, timeout=2 * UNIT))["responses"] == {}
    assert (await b.call("ack_wait_any", handle=handle, timeout=2 * UNIT))["ok"] is False


async def test_ack_error_ack(server, adapters, connect):
    a, b = await adapters("A"), await adapters("B")
    await connect(a, id="A")
    await connect(b, id="B")
    await a.call("subscribe", topic="fail", behavior="raise", error="boom")
    handle = (await b.call("publish_with_ack", topic="fail", data="x", timeout_ms=ms(5)))["handle"]
    responses = (await b.call("ack_wait", handle=handle, timeout=10 * UNIT))["responses"]
    assert list(responses) == ["A"]
    check_response(responses["A"], "A", success=False)
    assert responses["A"]["error"] == "boom"


async def test_ack_status(server, adapters, connect, held):
    b = await adapters("B")
    await connect(b, id="B")
    handle = (await b.call("publish_with_ack", topic="slow", data="s", timeout_ms=ms(10)))["handle"]
    await next_item(held.calls)
    status = (await b.call("ack_fetch_status", handle=handle))["status"]
    assert len(status) == 1
    [(responder, answered)] = status.items()
    assert responder.startswith("internal_") and answered is False
    assert (await b.call("ack_status", handle=handle))["status"] == status  # the last known state
    held.release()
    responses = (await b.call("ack_wait", handle=handle, timeout=10 * UNIT))["responses"]
    check_response(responses[responder], responder)


async def test_ack_state_sync(server, adapters, connect, held):
    b = await adapters("B")
    await connect(b, id="B")
    handle = (await b.call("publish_with_ack", topic="slow", data="s", timeout_ms=ms(10)))["handle"]
    await next_item(held.calls)
    assert (await b.call("ack_is_complete", handle=handle))["complete"] is False
    assert not any((await b.call("ack_status", handle=handle))["status"].values())
    held.release()
    responses = (await b.call("ack_wait", handle=handle, timeout=10 * UNIT))["responses"]
    assert (await b.call("ack_is_complete", handle=handle))["complete"] is True
    assert (await b.call("ack_status", handle=handle))["status"] == {responder: True for responder in responses}


async def test_ack_fetch_status_offline(server, adapters, connect, held):
    b = await adapters("B")
    await connect(b, id="B", autorestart=True, reconnect_initial_ms=ms(10), reconnect_max_ms=ms(10))
    handle = (await b.call("publish_with_ack", topic="slow", data="s", timeout_ms=ms(20)))["handle"]
    await next_item(held.calls)
    await server.stop()
    await b.event("disconnected")
    reply = await b.reply(b.send("ack_fetch_status", handle=handle))
    assert not reply["ok"] and reply.get("error_type") == "NotConnected", reply
    assert "complete" in await b.call("ack_is_complete", handle=handle)  # what the handle knows: no server


async def test_ack_is_complete(server, adapters, connect, held):
    b = await adapters("B")
    await connect(b, id="B")
    handle = (await b.call("publish_with_ack", topic="slow", data="s", timeout_ms=ms(10)))["handle"]
    await next_item(held.calls)
    assert (await b.call("ack_is_complete", handle=handle))["complete"] is False
    held.release()
    await b.call("ack_wait", handle=handle, timeout=10 * UNIT)
    assert (await b.call("ack_is_complete", handle=handle))["complete"] is True


async def test_ack_cancel_releases_wait(server, adapters, connect, held):
    b = await adapters("B")
    await connect(b, id="B")
    handle = (await b.call("publish_with_ack", topic="slow", data="s", timeout_ms=ms(20)))["handle"]
    await next_item(held.calls)
    waiting = b.send("ack_wait", handle=handle)
    await b.call("ack_cancel", handle=handle)
    responses = (await b.result_of(waiting, timeout=1 * UNIT))["responses"]
    assert not [key for key in responses if key.startswith("internal_")]


async def test_ack_response_before_wait(server, adapters, connect):
    ran = []
    server.s.Subscribe("fast", lambda message, unsub: ran.append(message))
    b = await adapters("B")
    await connect(b, id="B")
    await b.call("subscribe", topic="marker")
    handle = (await b.call("publish_with_ack", topic="fast", data="f", timeout_ms=ms(10)))["handle"]
    await eventually(lambda: bool(ran), what="server subscriber ran")
    await b.call("publish", topic="marker", data="after")
    await b.event("message", topic="marker")
    responses = (await b.call("ack_wait", handle=handle, timeout=1 * UNIT))["responses"]
    [(responder, response)] = responses.items()
    assert responder.startswith("internal_")
    check_response(response, responder)


async def test_ack_timeout_honoured(server, adapters, connect, held):
    b = await adapters("B")
    await connect(b, id="B")
    started = time.monotonic()
    handle = (await b.call("publish_with_ack", topic="slow", data="s", timeout_ms=ms(1)))["handle"]
    responses = (await b.call("ack_wait", handle=handle, timeout=4 * UNIT))["responses"]
    elapsed = time.monotonic() - started
    assert 0.8 * UNIT <= elapsed <= 3 * UNIT, f"Wait returned after {elapsed:.2f} s"
    assert not any(response.get("success") for response in responses.values())


async def test_ack_to_id(server, adapters, connect):
    a, b = await adapters("A"), await adapters("B")
    await connect(a, id="A")
    await connect(b, id="B")
    handle = (await b.call("publish_to_id_with_ack", to="A", data={"dm": 1}, timeout_ms=ms(5)))["handle"]
    event = await a.event("direct")
    assert (event["data"], event["from"]) == ({"dm": 1}, "B")
    responses = (await b.call("ack_wait", handle=handle, timeout=10 * UNIT))["responses"]
    assert list(responses) == ["A"]
    check_response(responses["A"], "A")


async def test_ack_to_id_error(server, adapters, connect):
    a, b = await adapters("A"), await adapters("B")
    await connect(a, id="A")
    await connect(b, id="B")
    await a.call("set_on_id", behavior="raise", error="nope")
    handle = (await b.call("publish_to_id_with_ack", to="A", data="x", timeout_ms=ms(5)))["handle"]
    responses = (await b.call("ack_wait", handle=handle, timeout=10 * UNIT))["responses"]
    check_response(responses["A"], "A", success=False)
    assert responses["A"]["error"] == "nope"


async def test_ack_to_id_unknown(server, adapters, connect):
    b = await adapters("B")
    await connect(b, id="B")
    handle = (await b.call("publish_to_id_with_ack", to="ghost", data="x", timeout_ms=ms(10)))["handle"]
    assert (await b.call("ack_wait", handle=handle, timeout=2 * UNIT))["responses"] == {}


async def test_ack_to_id_server(server, adapters, connect):
    b = await adapters("B")
    await connect(b, id="B")
    handle = (await b.call("publish_to_id_with_ack", to=server.server_id, data={"srv": 1},
                           timeout_ms=ms(5)))["handle"]
    assert await next_item(server.direct) == {"data": {"srv": 1}, "from": "B"}
    responses = (await b.call("ack_wait", handle=handle, timeout=10 * UNIT))["responses"]
    [(responder, response)] = responses.items()
    assert responder.startswith("internal_")
    check_response(response, responder)
