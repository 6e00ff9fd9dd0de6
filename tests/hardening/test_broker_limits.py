"""Broker limits (issue 11, rows 4 and 6; spec §13.2): topics per connection, pending ack requests per
connection and per server. Each is refused with an `error` carrying `code:"limit"`, the connection stays
open with what it had, and a bystander keeps working."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest

from ksps import Server
from ksps.server.server import core_of
from ksps.testing import serve_for_tests
from tests.cluster.wire import eventually
from tests.server.wire import WireClient, units

#: Starts a server with ServerConfig options and returns it with a function opening registered clients.
Open = Callable[..., Awaitable[tuple[Server, Callable[[str], Awaitable[WireClient]]]]]


@pytest.fixture
async def open_server() -> AsyncIterator[Open]:
    async with AsyncExitStack() as stack:
        clients: list[WireClient] = []

        async def start(**options: Any) -> tuple[Server, Callable[[str], Awaitable[WireClient]]]:
            server = await stack.enter_async_context(serve_for_tests(**options))

            async def connect(client_id: str) -> WireClient:
                client = await WireClient.open(server.url)
                clients.append(client)
                await client.register(client_id)
                return client

            return server, connect

        yield start
        for client in clients:
            await client.close()


async def bystander_works(bystander: WireClient, publisher: WireClient, topic: str) -> None:
    """`bystander` (subscribed to `topic`) gets what `publisher` publishes, and its own round trips."""
    await publisher.publish(topic, "still here")
    assert await bystander.recv() == {
        "action": "publish",
        "topic": topic,
        "data": {"data": "still here", "from": publisher.id},
    }
    assert await bystander.sync() == []


def limit_error(text: str, **members: str) -> dict[str, str]:
    return {"action": "error", "error": text, "code": "limit", **members}


async def test_topics_per_connection_are_limited_and_the_connection_keeps_its_topics(open_server: Open) -> None:
    server, connect = await open_server(max_topics_per_connection=3)
    hog, bystander, publisher = await connect("hog"), await connect("bystander"), await connect("publisher")
    await bystander.subscribe("news")
    for topic in ("a", "b", "c"):
        await hog.subscribe(topic)

    await hog.send({"action": "subscribe", "topic": "d"})
    assert await hog.recv() == limit_error("limit: max_topics_per_connection (3) reached", topic="d")
    await hog.subscribe("a")  # already subscribed: not a new topic, not refused (spec §4.1)
    # The refused topic is not subscribed; the others still deliver.
    await publisher.publish("d", "lost")
    await publisher.publish("c", "kept")
    assert await hog.recv() == {"action": "publish", "topic": "c", "data": {"data": "kept", "from": "publisher"}}
    assert await hog.sync() == []
    # Unsubscribing makes room again.
    await hog.send({"action": "unsubscribe", "topic": "a"})
    await hog.expect("unsubscribed", topic="a")
    await hog.subscribe("d")
    await bystander_works(bystander, publisher, "news")
    assert core_of(server).broker.guard.refused == {"max_topics_per_connection": 1}


def publish_with_ack(topic: str, ack_id: str) -> dict[str, Any]:
    return {"action": "publish_with_ack", "topic": topic, "data": ack_id, "ack_id": ack_id, "timeout": 60_000}


async def test_pending_acks_per_connection_are_limited_and_the_refusal_names_the_request(open_server: Open) -> None:
    _, connect = await open_server(max_pending_acks_per_connection=2)
    asker, silent, bystander, publisher = (
        await connect("asker"),
        await connect("silent"),
        await connect("bystander"),
        await connect("publisher"),
    )
    await silent.subscribe("jobs")
    await bystander.subscribe("news")
    await asker.send(publish_with_ack("jobs", "r1"))
    await asker.send(publish_with_ack("jobs", "r2"))
    await asker.send(publish_with_ack("jobs", "r3"))
    text = "limit: max_pending_acks_per_connection (2) reached"
    # The error carries the client's ack_id (and topic), so the client fails that one handle (spec §13.2).
    assert await asker.recv() == limit_error(text, topic="jobs", ack_id="r3")
    await asker.send({"action": "publish_to_id_with_ack", "to": "silent", "data": 1, "ack_id": "r4"})
    assert await asker.recv() == limit_error(text, to="silent", ack_id="r4")
    # Reusing a pending ack ID replaces that request (spec §6.2): never refused.
    await asker.send(publish_with_ack("jobs", "r2"))
    assert await asker.sync() == []
    first = await silent.expect("publish_ack", topic="jobs")
    assert [(await silent.expect("publish_ack"))["data"]["data"] for _ in range(2)] == ["r2", "r2"]

    # An answer ends a request, which makes room for one more.
    await silent.ack(first["ack_id"])
    assert (await asker.expect("ack_response", ack_id="r1"))["responses"]["silent"]["success"] is True
    await asker.send(publish_with_ack("jobs", "r5"))
    assert (await silent.expect("publish_ack"))["data"]["data"] == "r5"
    assert await asker.sync() == []
    await bystander_works(bystander, publisher, "news")


async def test_pending_acks_are_limited_per_server(open_server: Open) -> None:
    server, connect = await open_server(max_pending_acks=3)
    one, two, silent, bystander = (
        await connect("one"),
        await connect("two"),
        await connect("silent"),
        await connect("b"),
    )
    await silent.subscribe("jobs")
    await bystander.subscribe("news")
    for ack_id in ("a", "b"):
        await one.send(publish_with_ack("jobs", ack_id))
    assert await one.sync() == []
    await two.send(publish_with_ack("jobs", "c"))
    await two.send(publish_with_ack("jobs", "d"))
    assert await two.recv() == limit_error(
        "limit: max_pending_acks (3) reached on this server", topic="jobs", ack_id="d"
    )
    assert len(core_of(server).broker.acks) == 3
    # The first client leaving frees its share for the others.
    await one.close()
    await two.send(publish_with_ack("jobs", "e"))
    assert await two.sync() == []
    await bystander_works(bystander, two, "news")


async def test_a_limit_is_logged_once_per_connection(open_server: Open, caplog: pytest.LogCaptureFixture) -> None:
    _, connect = await open_server(max_topics_per_connection=1)
    hog = await connect("hog")
    await hog.subscribe("a")
    with caplog.at_level(logging.WARNING, logger="ksps.broker"):
        for n in range(50):
            await hog.send({"action": "subscribe", "topic": f"t{n}"})
        assert await hog.sync() == [
            limit_error("limit: max_topics_per_connection (1) reached", topic=f"t{n}") for n in range(50)
        ]
        other = await connect("other")
        await other.subscribe("a")
        await other.send({"action": "subscribe", "topic": "b"})
        assert (await other.recv())["code"] == "limit"
    lines = [r.getMessage() for r in caplog.records if r.name == "ksps.broker"]
    assert len(lines) == 2, lines
    assert "hog" in lines[0] and "max_topics_per_connection" in lines[0]
    assert "other" in lines[1]


async def test_the_default_topic_limit_bounds_what_a_connection_leaving_costs(open_server: Open) -> None:
    server, connect = await open_server()
    hog, bystander = await connect("hog"), await connect("bystander")
    limit = server.config.max_topics_per_connection
    for n in range(limit + 1):
        await hog.send(f'{{"action":"subscribe","topic":"t{n}"}}')
    refusal = limit_error(f"limit: max_topics_per_connection ({limit}) reached", topic=f"t{limit}")
    frames = [await hog.recv(units(10)) for _ in range(limit + 1)]
    assert frames[-1] == refusal and all(f["action"] == "subscribed" for f in frames[:-1])
    assert len(core_of(server).broker.topics.topics()) == limit

    hog.ws.transport.abort()
    started = time.perf_counter()
    assert await bystander.sync() == []
    # Dropping 1,000,000 topics blocked the loop 0.45 s (issue 11, row 6); 10,000 take a few milliseconds.
    assert time.perf_counter() - started < units(0.25)
    await eventually(lambda: len(core_of(server).broker.topics.topics()), 0)
