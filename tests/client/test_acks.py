"""Ack handles of the Python client: Wait, WaitAny, GetStatus, IsComplete, Cancel, against a real server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ksps.client import Unsubscriber

from .conftest import UNIT, BlackholeProxy, Hooks, NewClient, RestartableServer, next_item, within


class Held:
    """A server-side subscriber that does not answer until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.calls: asyncio.Queue[Any] = asyncio.Queue()

    async def __call__(self, message: dict[str, Any], unsub: Any) -> None:
        self.calls.put_nowait(message)
        await self.release.wait()


@pytest.fixture
async def held(server: RestartableServer) -> AsyncIterator[Held]:
    subscriber = Held()
    unsubscribe = server.s.Subscribe("slow", subscriber)
    yield subscriber
    subscriber.release.set()
    unsubscribe()


async def test_wait_collects_every_subscriber(new_client: NewClient) -> None:
    a, b, c = await new_client(Id="A"), await new_client(Id="B"), await new_client(Id="C")
    await a.Subscribe("jobs", lambda message, unsub: None)
    await c.Subscribe("jobs", lambda message, unsub: None)
    ack = await b.PublishWithAck("jobs", {"n": 1}, 5)
    responses = await within(ack.Wait())
    assert sorted(responses) == ["A", "C"]
    assert all(r["success"] and r["client_id"] == key and r["ack_id"] for key, r in responses.items())
    assert await within(ack.Wait()) == responses  # waiting again gives the same answer
    assert ack.IsComplete()


async def test_wait_any_returns_the_first_response(new_client: NewClient, held: Held) -> None:
    a, b = await new_client(Id="A"), await new_client(Id="B")
    await a.Subscribe("slow", lambda message, unsub: None)
    ack = await b.PublishWithAck("slow", "x", 10)
    response, ok = await within(ack.WaitAny())
    assert ok and response is not None and response["client_id"] == "A"
    await next_item(held.calls)
    assert not ack.IsComplete()  # the server subscriber is still held
    held.release.set()
    assert sorted(await within(ack.Wait())) == ["A", "internal_1"]


async def test_a_cancelled_wait_leaves_the_other_waits_of_the_handle_alone(new_client: NewClient, held: Held) -> None:
    """Several tasks may wait on one handle; one of them being cancelled must not end or break the others."""
    b = await new_client(Id="B")
    ack = await b.PublishWithAck("slow", "x", 10)  # only the held server subscriber: no answer until released
    await next_item(held.calls)
    doomed, kept = asyncio.create_task(ack.Wait()), asyncio.create_task(ack.Wait())
    doomed_any, kept_any = asyncio.create_task(ack.WaitAny()), asyncio.create_task(ack.WaitAny())

    # One turn of the loop runs each new task up to its first await, which parks it on the handle (tasks run in
    # the order they were scheduled, before this one resumes); the handle's own lists confirm it.
    await asyncio.sleep(0)
    assert len(ack._done_waiters) == 2 and len(ack._first_waiters) == 2
    doomed.cancel()
    doomed_any.cancel()
    for task in (doomed, doomed_any):
        with pytest.raises(asyncio.CancelledError):
            await within(task)
    assert not kept.done() and not kept_any.done() and not ack.done
    held.release.set()
    response, ok = await within(kept_any)
    assert ok and response is not None and response["client_id"] == "internal_1"
    assert sorted(await within(kept)) == ["internal_1"]


async def test_status_while_pending_then_complete(new_client: NewClient, held: Held) -> None:
    b = await new_client(Id="B")
    ack = await b.PublishWithAck("slow", "x", 10)
    await next_item(held.calls)
    assert ack.GetStatus() == {}  # nothing known yet: the handle does not ask the server
    assert await ack.FetchStatus() == {"internal_1": False}
    assert ack.GetStatus() == {"internal_1": False}  # now it is the last known state
    assert ack.IsComplete() is False
    held.release.set()
    await within(ack.Wait())
    assert ack.IsComplete() is True
    assert ack.GetStatus() == {"internal_1": True}
    assert await ack.FetchStatus() == {"internal_1": True}  # ended: the last known state, no round trip


async def test_cancel_releases_a_pending_wait(new_client: NewClient, held: Held) -> None:
    b = await new_client(Id="B")
    ack = await b.PublishWithAck("slow", "x", 30)
    await next_item(held.calls)
    waiting = asyncio.ensure_future(ack.Wait())
    done, _ = await asyncio.wait({waiting}, timeout=0.05 * UNIT)
    assert not done  # Wait is pending
    ack.Cancel()  # synchronous, as in JS and Go
    assert await within(waiting, 1 * UNIT) == {}
    assert ack.cancelled and not ack.IsComplete()
    assert await ack.WaitAny() == (None, False)


async def test_response_arriving_before_wait_is_kept(new_client: NewClient) -> None:
    a, b = await new_client(Id="A"), await new_client(Id="B")
    acked = asyncio.Event()
    await a.Subscribe("t", lambda message, unsub: acked.set())
    await b.Subscribe("marker", lambda message, unsub: None)
    ack = await b.PublishWithAck("t", "x", 5)
    await within(acked.wait())
    marker = await b.PublishWithAck("marker", None, 5)  # B's own round trip: the earlier answer is in
    await within(marker.Wait())
    assert list(await within(ack.Wait(), 0.1 * UNIT)) == ["A"]


async def test_timeout_is_honoured(new_client: NewClient, held: Held) -> None:
    b = await new_client(Id="B")
    started = time.monotonic()
    ack = await b.PublishWithAck("slow", "x", 0.5 * UNIT)
    assert await within(ack.Wait()) == {}
    elapsed = time.monotonic() - started
    assert 0.45 * UNIT <= elapsed < 2 * UNIT


async def test_no_subscriber_and_unknown_target_answer_at_once(new_client: NewClient) -> None:
    b = await new_client(Id="B")
    ack = await b.PublishWithAck("nobody", "x", 30)
    assert await within(ack.Wait(), 1 * UNIT) == {}
    ack = await b.PublishToIDWithAck("ghost", "x", 30)
    assert await within(ack.Wait(), 1 * UNIT) == {}


@pytest.mark.parametrize("kind", ["sync", "async", "raising"])
async def test_direct_with_ack_goes_to_on_id(new_client: NewClient, kind: str) -> None:
    received: asyncio.Queue[Any] = asyncio.Queue()

    def on_id(message: dict[str, Any]) -> None:
        received.put_nowait(message)
        if kind == "raising":
            raise RuntimeError("refused")

    async def async_on_id(message: dict[str, Any]) -> None:
        await asyncio.sleep(0)
        received.put_nowait(message)

    await new_client(Id="A", OnId=async_on_id if kind == "async" else on_id)
    b = await new_client(Id="B")
    ack = await b.PublishToIDWithAck("A", {"dm": 1}, 5)
    assert await next_item(received) == {"data": {"dm": 1}, "from": "B"}
    response = (await within(ack.Wait()))["A"]
    assert response["success"] is (kind != "raising")
    assert response.get("error") == ("refused" if kind == "raising" else None)


async def test_client_without_on_id_refuses_direct_acks(new_client: NewClient) -> None:
    await new_client(Id="A")
    b = await new_client(Id="B")
    ack = await b.PublishToIDWithAck("A", "x", 5)
    response = (await within(ack.Wait()))["A"]
    assert (response["success"], response["error"]) == (False, "no subscriber for topic")


async def test_lost_connection_releases_pending_waits(
    server: RestartableServer, proxy: BlackholeProxy, new_client: NewClient, held: Held
) -> None:
    b = await new_client(Id="B", Address=proxy.address)
    ack = await b.PublishWithAck("slow", "x", 30)
    await next_item(held.calls)
    proxy.cut()
    assert await within(ack.Wait(), 2 * UNIT) == {}


async def test_ack_published_while_offline_is_sent_after_reconnecting(
    server: RestartableServer, new_client: NewClient
) -> None:
    hooks = Hooks()
    a = await new_client(Id="A", Autorestart=True, **hooks.options())
    got = asyncio.Event()

    def callback(message: dict[str, Any], unsub: Unsubscriber) -> None:
        got.set()

    await a.Subscribe("t", callback)
    await server.stop()
    await next_item(hooks.disconnects)
    assert not a.is_connected()
    ack = await a.PublishWithAck("t", "queued", 5)
    await server.start()
    assert list(await within(ack.Wait())) == ["A"]
    assert got.is_set()
