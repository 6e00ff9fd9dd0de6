"""Topics and direct messages of the Python client, against a real server."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from ksps.client import Client, Unsubscriber
from ksps.errors import CallbackError, ClientClosed

from .conftest import UNIT, Hooks, NewClient, RestartableServer, next_item, within


async def test_callback_gets_data_and_sender(new_client: NewClient) -> None:
    received: asyncio.Queue[Any] = asyncio.Queue()
    a = await new_client(Id="A")
    b = await new_client(Id="B")
    await a.Subscribe("news", lambda message, unsub: received.put_nowait(message))
    await b.Publish("news", {"x": [1, 2]})
    assert await next_item(received) == {"data": {"x": [1, 2]}, "from": "B"}


async def test_sync_and_async_callbacks(new_client: NewClient) -> None:
    received: asyncio.Queue[Any] = asyncio.Queue()

    async def async_callback(message: dict[str, Any], unsub: Unsubscriber) -> None:
        await asyncio.sleep(0)
        received.put_nowait(("async", message["data"]))

    a = await new_client(Id="A")
    await a.Subscribe("s", lambda message, unsub: received.put_nowait(("sync", message["data"])))
    await a.Subscribe("a", async_callback)
    await a.Publish("s", 1)
    await a.Publish("a", 2)
    assert {await next_item(received), await next_item(received)} == {("sync", 1), ("async", 2)}


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_unsub_from_inside_the_callback(new_client: NewClient, kind: str) -> None:
    received: asyncio.Queue[Any] = asyncio.Queue()

    def sync_callback(message: dict[str, Any], unsub: Unsubscriber) -> None:
        received.put_nowait(message["data"])
        unsub()

    async def async_callback(message: dict[str, Any], unsub: Unsubscriber) -> None:
        received.put_nowait(message["data"])
        await unsub()

    a = await new_client(Id="A")
    await a.Subscribe("once", sync_callback if kind == "sync" else async_callback)
    await a.Subscribe("marker", lambda message, unsub: received.put_nowait("marker"))
    await a.Publish("once", 1)
    assert await next_item(received) == 1
    await a.Publish("once", 2)
    await a.Publish("marker", None)
    assert await next_item(received) == "marker"


async def test_returned_unsubscriber_and_unsubscribe(new_client: NewClient, server: RestartableServer) -> None:
    a = await new_client(Id="A")
    unsub = await a.Subscribe("one", lambda message, unsub: None)
    await a.Subscribe("two", lambda message, unsub: None)
    assert server.s.CountSubscribers("one")["ws"] == 1
    await unsub()  # waits for the server's confirmation
    assert server.s.CountSubscribers("one")["ws"] == 0
    unsub()  # a second call does nothing
    await a.Unsubscribe("two")
    assert server.s.CountSubscribers("two")["ws"] == 0


async def test_slow_async_callback_blocks_only_its_topic(new_client: NewClient) -> None:
    release = asyncio.Event()
    slow: asyncio.Queue[int] = asyncio.Queue()
    fast: asyncio.Queue[int] = asyncio.Queue()

    async def slow_callback(message: dict[str, Any], unsub: Unsubscriber) -> None:
        await release.wait()
        slow.put_nowait(message["data"])

    a = await new_client(Id="A")
    await a.Subscribe("slow", slow_callback)
    await a.Subscribe("fast", lambda message, unsub: fast.put_nowait(message["data"]))
    for n in range(5):
        await a.Publish("slow", n)
    await a.Publish("fast", "through")
    assert await next_item(fast) == "through"  # delivered while the slow callback is held
    assert slow.empty()
    release.set()
    assert [await next_item(slow) for _ in range(5)] == [0, 1, 2, 3, 4]  # in order per topic


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_raising_callback_is_reported_and_acked_with_its_text(new_client: NewClient, kind: str) -> None:
    hooks = Hooks()

    def sync_callback(message: dict[str, Any], unsub: Unsubscriber) -> None:
        raise ValueError("bad input")

    async def async_callback(message: dict[str, Any], unsub: Unsubscriber) -> None:
        await asyncio.sleep(0)
        raise ValueError("bad input")

    a = await new_client(Id="A", **hooks.options())
    b = await new_client(Id="B")
    await a.Subscribe("t", sync_callback if kind == "sync" else async_callback)
    await b.Publish("t", 1)
    error = await next_item(hooks.errors)
    assert isinstance(error, CallbackError) and isinstance(error.__cause__, ValueError)
    assert str(error) == "the callback of topic 't' failed: bad input"
    ack = await b.PublishWithAck("t", 2, 5)
    responses = await within(ack.Wait())
    assert responses == {"A": {"ack_id": responses["A"]["ack_id"], "client_id": "A", "success": False,
                               "error": "bad input"}}


async def test_direct_messages_to_on_id(new_client: NewClient, server: RestartableServer) -> None:
    received: asyncio.Queue[Any] = asyncio.Queue()
    a = await new_client(Id="A", OnId=received.put_nowait)
    b = await new_client(Id="B")
    await b.PublishToID("A", {"dm": 1})
    assert await next_item(received) == {"data": {"dm": 1}, "from": "B"}
    server.s.PublishToID("A", "from server")
    assert await next_item(received) == {"data": "from server", "from": "test-server"}
    server_got: asyncio.Queue[Any] = asyncio.Queue()
    server.s.OnID(server_got.put_nowait)
    await a.PublishToID("test-server", "to server")
    assert await next_item(server_got) == {"data": "to server", "from": "A"}


async def test_snake_case_aliases_and_async_with(server: RestartableServer) -> None:
    received: asyncio.Queue[Any] = asyncio.Queue()
    async with Client.connect(address=server.address, id="snake") as client:
        await client.subscribe("t", lambda message, unsub: received.put_nowait(message["data"]))
        await client.publish("t", "hi")
        assert await next_item(received) == "hi"
        ack = await client.publish_with_ack("t", "ack me", 5)
        assert list(await within(ack.wait())) == ["snake"]
        assert (await ack.wait_any())[1] is True
        assert ack.is_complete()
        assert client.id == client.Id == "snake"
    assert client.closed
    with pytest.raises(ClientClosed):
        await client.publish("t", "after close")


async def test_arguments_are_checked(new_client: NewClient) -> None:
    a = await new_client(Id="A")
    with pytest.raises(ValueError):
        await a.Subscribe("", lambda message, unsub: None)
    with pytest.raises(ValueError):
        await a.Subscribe("__direct_A_1", lambda message, unsub: None)
    with pytest.raises(ValueError):
        await a.PublishToID("", 1)
    with pytest.raises(TypeError):
        await a.Publish("t", object())


async def test_subscribing_again_replaces_the_callback(new_client: NewClient) -> None:
    received: asyncio.Queue[Any] = asyncio.Queue()
    a = await new_client(Id="A")
    await a.Subscribe("t", lambda message, unsub: received.put_nowait("old"))
    await a.Subscribe("t", lambda message, unsub: received.put_nowait("new"))
    await a.Publish("t", None)
    await a.Subscribe("marker", lambda message, unsub: received.put_nowait("marker"))
    await a.Publish("marker", None)
    assert [await next_item(received), await next_item(received)] == ["new", "marker"]


async def test_slow_callbacks_pause_the_socket_read_instead_of_queueing_forever(new_client: NewClient) -> None:
    release = asyncio.Event()
    delivered: asyncio.Queue[int] = asyncio.Queue()

    async def slow(message: dict[str, Any], unsub: Unsubscriber) -> None:
        await release.wait()
        delivered.put_nowait(message["data"]["n"])

    a = await new_client(Id="A", MaxPendingDeliveries=5)
    b = await new_client(Id="B")
    await a.Subscribe("slow", slow)
    for n in range(60):
        await b.Publish("slow", {"n": n, "pad": "x" * 4000})
    driver = a._driver
    link = driver.link
    assert link is not None and link._transport is not None
    raw = link._transport.underlying_transport
    await _until(lambda: not raw.is_reading())
    assert 5 <= driver.dispatcher.pending < 60
    release.set()
    assert [await next_item(delivered) for _ in range(60)] == list(range(60))
    assert raw.is_reading() and driver.dispatcher.pending == 0


async def _until(condition: Any) -> None:
    """Poll a condition of the client's internals every 5 ms (they have no event to wait on)."""
    deadline = time.monotonic() + 5 * UNIT
    while True:
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.005)
