"""`ksps.sync`: the blocking client, used as a script uses it (plain functions, no event loop in the test).

The server runs in its own thread and loop, as it would in another process; the whole protocol is covered by
the conformance suite with the `python-sync` adapter.
"""

from __future__ import annotations

import asyncio
import inspect
import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from ksps.client import HistoryPage, ServerErrorReply, StreamPosition, SubscriptionInfo
from ksps.errors import ConnectionFailed
from ksps.sync import Ack, Client
from ksps.testing import free_port, serve_for_tests

from .server.wire import units


@pytest.fixture
def address() -> Iterator[str]:
    """A real server on 127.0.0.1 in a thread of its own; its `host:port`. Topics `hist.*` keep history."""
    loop = asyncio.new_event_loop()
    started: queue.Queue[tuple[str, asyncio.Event]] = queue.Queue()

    async def serve() -> None:
        stop = asyncio.Event()
        async with serve_for_tests(history=["hist.*=100"]) as server:
            started.put((f"127.0.0.1:{server.port}", stop))
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), name="test-server")
    thread.start()
    where, stop = started.get(timeout=units(10))
    yield where
    loop.call_soon_threadsafe(stop.set)
    thread.join(units(10))
    loop.close()


def sync_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("ksps-sync")]


def test_publish_reaches_a_subscriber_whose_callback_runs_on_the_client_thread(address: str) -> None:
    received: queue.Queue[tuple[Any, str, str]] = queue.Queue()
    with Client.connect(address=address, id="reader") as reader, Client.connect(address=address) as writer:
        where = threading.current_thread
        reader.subscribe("news", lambda message, unsub: received.put((message["data"], message["from"], where().name)))
        writer.publish("news", {"n": 1})
        assert received.get(timeout=units(5)) == ({"n": 1}, writer.id, "ksps-sync-reader")
        assert reader.is_connected() and not reader.closed
    assert reader.closed
    assert sync_threads() == []


def test_ack_handle_state_is_synchronous_and_wait_blocks_for_the_answers(address: str) -> None:
    with Client.connect(address=address, id="worker") as worker, Client.connect(address=address) as boss:
        worker.subscribe("jobs", lambda message, unsub: None)
        ack = boss.publish_with_ack("jobs", {"job": 1}, timeout=units(5))
        assert isinstance(ack, Ack)
        responses = ack.wait()
        assert list(responses) == ["worker"] and responses["worker"]["success"] is True
        # The trap of issue 14: a coroutine here made `if ack.is_complete():` always true.
        complete = ack.is_complete()
        assert complete is True and not inspect.isawaitable(complete)
        assert ack.get_status() == {"worker": True}
        assert ack.wait_any()[1] is True


def test_a_blocking_call_from_a_callback_raises_instead_of_deadlocking(address: str) -> None:
    errors: queue.Queue[BaseException] = queue.Queue()
    with Client.connect(address=address, on_error=errors.put) as client:

        def reply(message: Any, unsub: Any) -> None:
            if message["data"] == 1:
                client.publish("elsewhere", message["data"])  # would wait on this very thread
            else:
                client.close()

        client.subscribe("ping", reply)
        client.publish("ping", 1)
        client.publish("ping", 2)
        for _ in range(2):
            error = errors.get(timeout=units(5))
            assert "deadlock" in str(error) or "deadlock" in str(error.__cause__)
        assert not client.closed  # close() from a callback refused, the client kept working
        client.publish("still", "usable")


def test_history_position_and_since(address: str) -> None:
    """The history verbs without await: messages carry offsets, `position` does not block, `history` reads,
    `since` continues from a stored position, OnSubscribed runs on the client's thread."""
    received: queue.Queue[tuple[Any, int]] = queue.Queue()
    infos: queue.Queue[SubscriptionInfo] = queue.Queue()
    with Client.connect(address=address, id="hist-reader", on_subscribed=lambda topic, info: infos.put(info)) as reader:
        reader.subscribe("hist.a", lambda message, unsub: received.put((message["data"], message["offset"])))
        epoch = infos.get(timeout=units(5)).position.epoch  # type: ignore[union-attr]
        reader.publish("hist.a", "one")
        assert received.get(timeout=units(5)) == ("one", 1)
        assert reader.position("hist.a") == StreamPosition(1, epoch) == reader.Position("hist.a")
        reader.publish("hist.a", "two")
        assert received.get(timeout=units(5)) == ("two", 2)
        page = reader.history("hist.a", since=(1, epoch))
        assert page == HistoryPage([{"data": "two", "from": "hist-reader", "offset": 2}], 2, epoch)
        assert reader.History("hist.a", limit=0).publications == []
        with pytest.raises(ServerErrorReply):
            reader.history("news")
    with Client.connect(address=address, on_subscribed=lambda topic, info: infos.put(info)) as again:
        again.subscribe("hist.a", lambda message, unsub: received.put((message["data"], message["offset"])),
                        since=StreamPosition(1, epoch))
        assert received.get(timeout=units(5)) == ("two", 2)
        assert infos.get(timeout=units(5)) == SubscriptionInfo(StreamPosition(2, epoch), True, True)


def test_unsubscribe_function_works_from_the_calling_thread(address: str) -> None:
    received: queue.Queue[Any] = queue.Queue()
    with Client.connect(address=address) as client:
        unsubscribe = client.subscribe("t", lambda message, unsub: received.put(message["data"]))
        client.publish("t", 1)
        assert received.get(timeout=units(5)) == 1
        unsubscribe()
        client.unsubscribe("t")  # confirmed by the server: nothing more is delivered after it returns
        client.subscribe("marker", lambda message, unsub: received.put(("marker", message["data"])))
        client.publish("t", 2)
        client.publish("marker", 3)
        assert received.get(timeout=units(5)) == ("marker", 3)


def test_original_spelling_works_through_the_alias_table(address: str) -> None:
    received: queue.Queue[Any] = queue.Queue()
    client = Client.NewClient(Address=address, Id="orig")
    try:
        assert client.Id == client.ID == "orig"
        client.Subscribe("t", lambda message, unsub: received.put(message["data"]))
        client.Publish("t", "x")
        assert received.get(timeout=units(5)) == "x"
        assert list(client.PublishWithAck("t", 1, units(5)).Wait()) == ["orig"]
    finally:
        client.Close()
    client.close()  # idempotent


def test_a_failed_first_connection_raises_and_leaves_no_thread() -> None:
    with pytest.raises(ConnectionFailed):
        Client.connect(address=f"127.0.0.1:{free_port()}", connect_timeout=units(2))
    assert sync_threads() == []
