"""History and recovery in the Python client (spec §14): offsets on messages, `position`, `history` reads,
`subscribe(since=...)`, the automatic recovery after a reconnection, and the OnSubscribed hook.

Every test runs against a real server whose topics `chat.*` keep history (the others keep none), reached
directly or through the `proxy` (a TCP proxy whose `cut()` drops the connections like a crashed network).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ksps.client import (
    Client,
    HistoryPage,
    ServerErrorReply,
    StreamPosition,
    SubscriptionInfo,
)
from ksps.errors import NotConnected
from ksps.testing import RestartableServer

from .conftest import FAST_RETRY, BlackholeProxy, Hooks, NewClient, next_item, within


@pytest.fixture
async def server() -> AsyncIterator[RestartableServer]:
    """Overrides the suite's server: `chat.*` keeps the last 100 publications (memory engine)."""
    restartable = await RestartableServer(
        server_id="history-server", allowed_hosts=("127.0.0.1",), history=["chat.*=100"]
    ).start()
    yield restartable
    await restartable.stop()


class Recorder:
    """Collects a subscription's messages and the OnSubscribed calls, to be awaited by the test."""

    def __init__(self) -> None:
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.subscribed: asyncio.Queue[tuple[str, SubscriptionInfo]] = asyncio.Queue()

    def callback(self, message: dict[str, Any], unsub: Any) -> None:
        self.messages.put_nowait(message)

    def on_subscribed(self, topic: str, info: SubscriptionInfo) -> None:
        self.subscribed.put_nowait((topic, info))

    async def offsets(self, count: int) -> list[tuple[Any, int | None]]:
        """The next `count` messages as (data, offset)."""
        return [((m := await next_item(self.messages))["data"], m.get("offset")) for _ in range(count)]


async def test_messages_carry_their_offset_and_the_position_follows(
    server: RestartableServer, new_client: NewClient
) -> None:
    record = Recorder()
    client = await new_client(Id="reader", OnSubscribed=record.on_subscribed)
    assert client.position("chat.a") is None
    await client.subscribe("chat.a", record.callback)
    topic, info = await next_item(record.subscribed)
    epoch = info.position.epoch if info.position else ""
    assert (topic, info) == ("chat.a", SubscriptionInfo(StreamPosition(0, epoch), False, False)) and epoch
    assert client.position("chat.a") == (0, epoch)
    for n in range(3):
        server.s.publish("chat.a", n)
    assert await record.offsets(3) == [(0, 1), (1, 2), (2, 3)]
    assert client.Position("chat.a") == StreamPosition(3, epoch)
    await client.unsubscribe("chat.a")
    assert client.position("chat.a") is None  # unsubscribing forgets it


async def test_a_topic_without_history_has_no_offset_position_or_hook_call(new_client: NewClient) -> None:
    record = Recorder()
    client = await new_client(Id="plain", on_subscribed=record.on_subscribed)
    await client.subscribe("news", record.callback)
    await client.publish("news", "x")
    message = await next_item(record.messages)
    assert message == {"data": "x", "from": "plain"}
    assert client.position("news") is None
    assert record.subscribed.empty()


async def test_a_lost_connection_recovers_what_was_published_meanwhile(
    server: RestartableServer, proxy: BlackholeProxy, new_client: NewClient
) -> None:
    """The restore subscribes `since` the last offset: the missed publications come first, exactly once and in
    order, then the live stream; OnSubscribed says recovered."""
    record, hooks = Recorder(), Hooks()
    client = await new_client(
        Id="mobile", Address=proxy.address, OnSubscribed=record.on_subscribed, **hooks.options()
    )
    await next_item(hooks.connects)
    await client.subscribe("chat.room", record.callback)
    _, first = await next_item(record.subscribed)
    server.s.publish("chat.room", "before")
    assert await record.offsets(1) == [("before", 1)]
    proxy.cut()
    # Published in the same tick as the cut: the old connection cannot carry them any more; only recovery can.
    server.s.publish("chat.room", "missed-1")
    server.s.publish("chat.room", "missed-2")
    await next_item(hooks.disconnects)
    topic, info = await next_item(record.subscribed)
    assert first.position is not None
    assert (topic, info) == ("chat.room", SubscriptionInfo(StreamPosition(3, first.position.epoch), True, True))
    assert await record.offsets(2) == [("missed-1", 2), ("missed-2", 3)]
    await next_item(hooks.connects)
    server.s.publish("chat.room", "live")
    assert await record.offsets(1) == [("live", 4)]
    assert record.messages.empty() and client.position("chat.room") == (4, first.position.epoch)


async def test_a_server_restart_changes_the_epoch_and_says_not_recovered(
    server: RestartableServer, new_client: NewClient
) -> None:
    """The memory engine loses every stream on restart: recovered false, the new epoch; the new stream's
    offsets restart at 1 and are delivered (no client-side filtering by offset)."""
    record, hooks = Recorder(), Hooks()
    client = await new_client(Id="r", on_subscribed=record.on_subscribed, **hooks.options())
    await next_item(hooks.connects)
    await client.subscribe("chat.x", record.callback)
    _, before = await next_item(record.subscribed)
    for n in range(3):
        server.s.publish("chat.x", n)
    assert [offset for _, offset in await record.offsets(3)] == [1, 2, 3]
    await server.stop()
    await server.start()
    _, after = await next_item(record.subscribed)
    assert after.recovering and not after.recovered
    assert after.position is not None and before.position is not None
    assert after.position.offset == 0 and after.position.epoch != before.position.epoch
    await next_item(hooks.connects)
    server.s.publish("chat.x", "new stream")
    assert await record.offsets(1) == [("new stream", 1)]
    assert client.position("chat.x") == (1, after.position.epoch)


async def test_a_stored_position_continues_in_a_new_client(server: RestartableServer, new_client: NewClient) -> None:
    """The page-reload case: store `position`, subscribe `since` it from a new client."""
    record = Recorder()
    first = await new_client(Id="tab")
    await first.subscribe("chat.doc", record.callback)
    server.s.publish("chat.doc", "seen")
    await record.offsets(1)
    stored = first.position("chat.doc")
    await first.close()
    server.s.publish("chat.doc", "while-away-1")
    server.s.publish("chat.doc", "while-away-2")
    again = Recorder()
    second = await new_client(Id="tab", OnSubscribed=again.on_subscribed)
    assert stored is not None
    await second.Subscribe("chat.doc", again.callback, since=tuple(stored))
    assert await again.offsets(2) == [("while-away-1", 2), ("while-away-2", 3)]
    _, info = await next_item(again.subscribed)
    assert info == SubscriptionInfo(StreamPosition(3, stored.epoch), True, True)
    # A position of another epoch: nothing replayed, recovered false, the current position.
    third = Recorder()
    other = await new_client(Id="tab2", OnSubscribed=third.on_subscribed)
    await other.subscribe("chat.doc", third.callback, since=StreamPosition(1, "not-the-epoch"))
    _, info = await next_item(third.subscribed)
    assert info == SubscriptionInfo(StreamPosition(3, stored.epoch), True, False)
    assert third.messages.empty()


async def test_history_reads(server: RestartableServer, new_client: NewClient) -> None:
    client = await new_client(Id="reader")
    for n in range(1, 6):
        await client.publish("chat.log", f"m{n}")
    page = await within(client.history("chat.log", limit=0))
    while page.offset < 5:  # the publications are on their way: read the position until all are kept
        page = await within(client.history("chat.log", limit=0))
    assert isinstance(page, HistoryPage) and page.publications == []
    epoch = page.epoch
    everything = await client.History("chat.log")
    assert everything == HistoryPage(
        [{"data": f"m{n}", "from": "reader", "offset": n} for n in range(1, 6)], 5, epoch
    )
    after = await client.history("chat.log", since=(2, epoch), limit=2)
    assert [p["offset"] for p in after.publications] == [3, 4]
    newest = await client.history("chat.log", reverse=True, limit=2)
    assert [p["offset"] for p in newest.publications] == [5, 4]
    before = await client.history("chat.log", since=StreamPosition(3, epoch), reverse=True)
    assert [p["offset"] for p in before.publications] == [2, 1]
    other_epoch = await client.history("chat.log", since=(1, "old"))
    assert (other_epoch.publications, other_epoch.offset, other_epoch.epoch) == ([], 5, epoch)


async def test_history_errors_leave_the_client_working(server: RestartableServer, new_client: NewClient) -> None:
    hooks = Hooks()
    client = await new_client(Id="asker", **hooks.options())
    await next_item(hooks.connects)
    with pytest.raises(ServerErrorReply) as refused:
        await client.history("news")
    assert (refused.value.code, refused.value.topic) == ("no_history", "news")
    bad: list[tuple[dict[str, Any], type[Exception]]] = [
        ({"since": (1,)}, TypeError), ({"since": ("1", "e")}, TypeError), ({"since": (True, "e")}, TypeError),
        ({"since": (-1, "e")}, ValueError), ({"since": {"offset": 1, "epoch": "e"}}, TypeError),
        ({"limit": -1}, ValueError), ({"limit": 1.5}, TypeError), ({"limit": True}, TypeError),
        ({"reverse": 1}, TypeError),
    ]
    for keywords, error in bad:
        with pytest.raises(error):
            await client.history("chat.a", **keywords)
    with pytest.raises(TypeError):
        await client.subscribe("chat.a", lambda message, unsub: None, since=(1, 2))  # type: ignore[arg-type]
    assert client.position("chat.a") is None  # the refused call recorded nothing
    assert (await within(client.history("chat.a"))).publications == []
    await server.stop()
    await next_item(hooks.disconnects)
    with pytest.raises(NotConnected):
        await client.history("chat.a")
    await server.start()
    await next_item(hooks.connects)
    assert (await within(client.history("chat.a"))).offset == 0


async def test_an_on_subscribed_hook_that_raises_does_not_break_the_client(
    server: RestartableServer, new_client: NewClient, caplog: pytest.LogCaptureFixture
) -> None:
    record = Recorder()

    def broken(topic: str, info: SubscriptionInfo) -> None:
        raise RuntimeError("hook bug")

    client = await new_client(Id="b", OnSubscribed=broken)
    await client.subscribe("chat.b", record.callback)
    server.s.publish("chat.b", 1)
    assert await record.offsets(1) == [(1, 1)]
    assert "hook bug" in caplog.text
    assert client.is_connected()


async def test_an_async_on_subscribed_hook_runs_on_every_restore(
    server: RestartableServer, proxy: BlackholeProxy, new_client: NewClient
) -> None:
    calls: asyncio.Queue[SubscriptionInfo] = asyncio.Queue()

    async def hook(topic: str, info: SubscriptionInfo) -> None:
        await asyncio.sleep(0)
        calls.put_nowait(info)

    hooks = Hooks()
    client = await Client.connect(
        address=proxy.address, id="async-hook", on_subscribed=hook, **hooks.options(), **FAST_RETRY
    )
    try:
        await next_item(hooks.connects)
        await client.subscribe("chat.c", lambda message, unsub: None)
        assert not (await next_item(calls)).recovering
        for _ in range(2):
            proxy.cut()
            info = await next_item(calls)
            assert info.recovering and info.recovered
    finally:
        await client.close()
