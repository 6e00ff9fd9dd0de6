"""Topic history over the wire (spec §14): offsets, recovery, its seam, `history` reads, bad input, bounds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ksps import Server
from ksps.broker.permissions import Identity
from ksps.server.upgrade import Next, Reject, UpgradeRequest

from .conftest import Connect, StartServer
from .wire import Frame, WireClient, units

HISTORY = {"history_size": 100}


async def publish(client: WireClient, topic: str, data: Any) -> Frame:
    """Publish with a rid; returns the `published` reply (offset and epoch on a history topic)."""
    await client.send({"action": "publish", "topic": topic, "data": data, "rid": f"p{data}"})
    return await client.expect("published", topic=topic, rid=f"p{data}")


async def position(client: WireClient, topic: str) -> tuple[int, str]:
    """The topic's position from an empty `history` read."""
    await client.send({"action": "history", "topic": topic, "limit": 0, "rid": "pos"})
    reply = await client.expect("history", topic=topic, rid="pos", publications=[])
    return reply["offset"], reply["epoch"]


async def subscribe_since(client: WireClient, topic: str, offset: int, epoch: str, **extra: Any) -> list[Frame]:
    """Subscribe with `since`; returns the frames up to and including `subscribed`."""
    await client.send({"action": "subscribe", "topic": topic, "since": {"offset": offset, "epoch": epoch, **extra}})
    frames = []
    while True:
        frame = await client.recv()
        frames.append(frame)
        if frame["action"] == "subscribed":
            return frames


def offsets(frames: list[Frame]) -> list[int]:
    return [f["offset"] for f in frames if f["action"] == "publish"]


@pytest.mark.server_options(**HISTORY)
async def test_publications_carry_offsets_and_epoch(connect: Connect) -> None:
    sub, pub = await connect("sub"), await connect("pub")
    await sub.send({"action": "subscribe", "topic": "news"})
    subscribed = await sub.expect("subscribed", topic="news", offset=0)
    epoch = subscribed["epoch"]
    assert isinstance(epoch, str) and epoch and "recovered" not in subscribed
    first = await publish(pub, "news", 1)
    assert first == {"action": "published", "topic": "news", "offset": 1, "epoch": epoch, "rid": "p1"}
    await pub.send({"action": "publish", "topic": "news", "data": 2})  # no rid: still the position
    assert await pub.recv() == {"action": "published", "topic": "news", "offset": 2, "epoch": epoch}
    assert await sub.recv() == {"action": "publish", "topic": "news", "offset": 1, "data": {"data": 1, "from": "pub"}}
    assert (await sub.recv())["offset"] == 2


async def test_topics_without_history_keep_the_original_frames(connect: Connect) -> None:
    sub, pub = await connect("sub"), await connect("pub")
    await sub.send({"action": "subscribe", "topic": "plain"})
    assert await sub.recv() == {"action": "subscribed", "topic": "plain"}
    await pub.send({"action": "publish", "topic": "plain", "data": 1})
    assert await pub.recv() == {"action": "published", "topic": "plain"}
    assert await sub.recv() == {"action": "publish", "topic": "plain", "data": {"data": 1, "from": "pub"}}
    # Asking to recover where nothing is kept: subscribed, but told that it must reload (spec §14.3).
    await sub.send({"action": "subscribe", "topic": "other", "since": {"offset": 3, "epoch": "x"}})
    assert await sub.recv() == {"action": "subscribed", "topic": "other", "recovered": False}
    await sub.send({"action": "history", "topic": "plain", "rid": "h"})
    assert await sub.recv() == {
        "action": "error", "error": "no history for topic: plain", "code": "no_history", "topic": "plain", "rid": "h"
    }  # fmt: skip


@pytest.mark.server_options(**HISTORY)
async def test_recovery_without_gap_then_live(connect: Connect) -> None:
    pub = await connect("pub")
    for n in range(1, 6):
        epoch = (await publish(pub, "t", n))["epoch"]
    late = await connect("late")
    frames = await subscribe_since(late, "t", 2, epoch)
    assert offsets(frames) == [3, 4, 5]
    assert [f["data"]["data"] for f in frames[:-1]] == [3, 4, 5]
    assert frames[-1] == {"action": "subscribed", "topic": "t", "offset": 5, "epoch": epoch, "recovered": True}
    await publish(pub, "t", 6)
    assert (await late.recv())["offset"] == 6
    # At the top already: nothing to deliver, and nothing missed.
    again = await connect("again")
    assert await subscribe_since(again, "t", 6, epoch) == [
        {"action": "subscribed", "topic": "t", "offset": 6, "epoch": epoch, "recovered": True}
    ]


@pytest.mark.server_options(history_size=3)
async def test_recovery_with_gap_gets_what_is_kept(connect: Connect) -> None:
    pub = await connect("pub")
    for n in range(1, 7):
        epoch = (await publish(pub, "t", n))["epoch"]
    client = await connect("c")
    frames = await subscribe_since(client, "t", 1, epoch)
    assert offsets(frames) == [4, 5, 6]  # 2 and 3 were pushed out of the ring of 3
    assert frames[-1]["recovered"] is False
    strict = await connect("s")
    frames = await subscribe_since(strict, "t", 1, epoch, strict=True)
    assert frames == [{"action": "subscribed", "topic": "t", "offset": 6, "epoch": epoch, "recovered": False}]
    await publish(pub, "t", 7)
    assert (await strict.recv())["offset"] == 7  # subscribed all the same


@pytest.mark.server_options(**HISTORY)
async def test_other_epoch_or_future_offset_gets_nothing(connect: Connect) -> None:
    pub = await connect("pub")
    for n in range(1, 4):
        epoch = (await publish(pub, "t", n))["epoch"]
    client = await connect("c")
    frames = await subscribe_since(client, "t", 1, "another-epoch")
    assert frames == [{"action": "subscribed", "topic": "t", "offset": 3, "epoch": epoch, "recovered": False}]
    frames = await subscribe_since(client, "t", 9, epoch)
    assert frames == [{"action": "subscribed", "topic": "t", "offset": 3, "epoch": epoch, "recovered": False}]


@pytest.mark.server_options(history_size=50, history_recover_max=4)
async def test_recovery_cap_delivers_the_newest(connect: Connect) -> None:
    pub = await connect("pub")
    for n in range(1, 11):
        epoch = (await publish(pub, "t", n))["epoch"]
    client = await connect("c")
    frames = await subscribe_since(client, "t", 2, epoch)
    assert offsets(frames) == [7, 8, 9, 10]  # joins the live stream without a gap; the older ones are missed
    assert frames[-1]["recovered"] is False
    exact = await connect("e")
    frames = await subscribe_since(exact, "t", 6, epoch)
    assert offsets(frames) == [7, 8, 9, 10] and frames[-1]["recovered"] is True


@pytest.mark.server_options(**HISTORY)
async def test_seam_no_loss_no_duplicate_while_publications_race(connect: Connect) -> None:
    pub = await connect("pub")
    epoch = (await publish(pub, "race", 0))["epoch"]
    client = await connect("c")
    total = 400

    async def flood() -> None:
        for n in range(1, total + 1):
            await pub.send({"action": "publish", "topic": "race", "data": n})

    flooding = asyncio.create_task(flood())
    await asyncio.sleep(0)  # let the flood start: the subscribe lands in the middle of it
    await client.send({"action": "subscribe", "topic": "race", "since": {"offset": 1, "epoch": epoch}})
    await flooding
    seen: list[int] = []
    subscribed: Frame | None = None
    async with asyncio.timeout(units(10)):
        while not seen or seen[-1] < total + 1:
            frame = await client.recv()
            if frame["action"] == "subscribed":
                subscribed = frame
            else:
                seen.append(frame["offset"])
    assert subscribed is not None and subscribed["recovered"] is True
    assert seen == list(range(2, total + 2))  # every offset once, in order, across the seam


@pytest.mark.server_options(history_size=10, history_ttl=0.3)
async def test_ttl_expires_publications(connect: Connect) -> None:
    pub = await connect("pub")
    reply = await publish(pub, "t", 1)
    epoch = reply["epoch"]
    await pub.send({"action": "history", "topic": "t", "rid": "h"})
    kept = await pub.expect("history", topic="t")
    assert [p["offset"] for p in kept["publications"]] <= [1]  # kept, unless this machine took 0.3 s already
    async with asyncio.timeout(units(5)):  # wait on the condition: the publication is gone
        while True:
            await pub.send({"action": "history", "topic": "t", "rid": "h"})
            if (await pub.expect("history", topic="t"))["publications"] == []:
                break
            await asyncio.sleep(0.05)
    client = await connect("c")
    # Offset 1 expired: a client that saw nothing cannot recover, one that saw offset 1 missed nothing.
    assert (await subscribe_since(client, "t", 0, epoch))[-1]["recovered"] is False
    assert (await subscribe_since(client, "t", 1, epoch))[-1] == {
        "action": "subscribed", "topic": "t", "offset": 1, "epoch": epoch, "recovered": True
    }  # fmt: skip


@pytest.mark.server_options(**HISTORY)
async def test_history_reads(connect: Connect) -> None:
    pub = await connect("pub")
    for n in range(1, 6):
        epoch = (await publish(pub, "t", n))["epoch"]

    async def read(**fields: Any) -> Frame:
        await pub.send({"action": "history", "topic": "t", "rid": "r", **fields})
        reply = await pub.expect("history", topic="t", rid="r", offset=5, epoch=epoch)
        return reply

    everything = await read()
    assert everything["publications"][0] == {"data": 1, "from": "pub", "offset": 1}
    assert [p["offset"] for p in everything["publications"]] == [1, 2, 3, 4, 5]
    assert [p["offset"] for p in (await read(limit=2))["publications"]] == [1, 2]
    assert [p["offset"] for p in (await read(limit=2, reverse=True))["publications"]] == [5, 4]
    since = {"offset": 2, "epoch": epoch}
    assert [p["offset"] for p in (await read(since=since))["publications"]] == [3, 4, 5]
    assert [p["offset"] for p in (await read(since=since, reverse=True))["publications"]] == [1]
    assert (await read(since={"offset": 2, "epoch": "old"}))["publications"] == []


@pytest.mark.server_options(**HISTORY)
@pytest.mark.parametrize(
    "frame",
    [
        {"action": "subscribe", "topic": "t", "since": {"offset": "3", "epoch": "e"}},
        {"action": "subscribe", "topic": "t", "since": {"offset": -1, "epoch": "e"}},
        {"action": "subscribe", "topic": "t", "since": 5},
        {"action": "subscribe", "topic": "t", "since": {"epoch": "e"}},
        {"action": "history", "topic": "t", "limit": -1},
        {"action": "history", "topic": "t", "limit": "all"},
        {"action": "history", "topic": "t", "reverse": "yes"},
        {"action": "history", "topic": "t", "since": {"offset": 1, "epoch": 7}},
        {"action": "history", "topic": "t", "since": {"offset": 1e30, "epoch": "e"}},
    ],
)
async def test_bad_history_members_get_an_error_and_a_bystander_keeps_going(connect: Connect, frame: Frame) -> None:
    bystander, pub, bad = await connect("by"), await connect("pub"), await connect("bad")
    await bystander.send({"action": "subscribe", "topic": "t"})
    await bystander.expect("subscribed", topic="t")
    await bad.send(frame)
    error = await bad.recv()
    assert error["action"] == "error" and error["error"].startswith("invalid message: "), error
    await publish(pub, "t", 1)
    assert (await bystander.recv())["data"] == {"data": 1, "from": "pub"}
    await bad.send({"action": "history", "topic": "t", "rid": "ok"})
    assert (await bad.expect("history", rid="ok"))["publications"][0]["offset"] == 1


async def test_history_permission(start_server: StartServer) -> None:
    server = await start_server(**HISTORY)
    rights = {
        "reader": Identity(id="reader", subscribe=["open.*"]),  # history defaults to the subscribe patterns
        "blind": Identity(id="blind", subscribe=["open.*", "live"], history=[]),
    }

    def authenticate(request: UpgradeRequest, call_next: Next) -> Reject | None:
        request.identity = rights.get(request.headers.get("X-User", ""))
        return call_next(request)

    server.Use(authenticate)
    pub = await WireClient.open(server.url)
    await pub.register("pub")
    epoch = (await publish(pub, "open.a", 1))["epoch"]
    await publish(pub, "open.a", 2)
    reader = await WireClient.open(server.url, additional_headers={"X-User": "reader"})
    blind = await WireClient.open(server.url, additional_headers={"X-User": "blind"})
    try:
        await reader.register("reader")
        await blind.register("blind")
        await reader.send({"action": "history", "topic": "open.a", "rid": "1"})
        assert len((await reader.expect("history", rid="1"))["publications"]) == 2
        await reader.send({"action": "history", "topic": "secret", "rid": "2"})
        assert await reader.recv() == {
            "action": "error", "error": "forbidden: history to secret", "code": "forbidden", "topic": "secret",
            "rid": "2",
        }  # fmt: skip
        await blind.send({"action": "history", "topic": "open.a", "rid": "3"})
        assert (await blind.recv())["code"] == "forbidden"
        # Recovery reads history too: without the right, subscribed but nothing recovered.
        frames = await subscribe_since(blind, "open.a", 0, epoch)
        assert frames == [{"action": "subscribed", "topic": "open.a", "offset": 2, "epoch": epoch, "recovered": False}]
        frames = await subscribe_since(reader, "open.a", 0, epoch)
        assert offsets(frames) == [1, 2] and frames[-1]["recovered"] is True
    finally:
        for client in (pub, reader, blind):
            await client.close()


@pytest.mark.server_options(history_size=100, history_max_topics=2)
async def test_topic_cap_evicts_the_least_recent_topic(connect: Connect, server: Server) -> None:
    pub = await connect("pub")
    first = (await publish(pub, "a", 1))["epoch"]
    await publish(pub, "b", 2)
    await publish(pub, "c", 3)  # a third topic: "a", published to least recently, loses its history
    assert server.broker.history is not None and server.broker.history.engine.size() == (2, 2)
    offset, epoch = await position(pub, "a")
    assert (offset, epoch != first) == (0, True)
    client = await connect("c1")
    assert (await subscribe_since(client, "a", 1, first))[-1]["recovered"] is False


@pytest.mark.server_options(history=("logs.*=0,1", "chat.*=2,60s"), history_size=5)
async def test_rules_choose_topics_and_sizes(connect: Connect, server: Server) -> None:
    pub = await connect("pub")
    assert "offset" not in await publish(pub, "logs.x", 1)  # SIZE 0: no history for these
    for n in range(1, 5):
        await publish(pub, "chat.room", n)
    await pub.send({"action": "history", "topic": "chat.room", "rid": "r"})
    assert [p["offset"] for p in (await pub.expect("history", rid="r"))["publications"]] == [3, 4]
    page = await server.history("chat.room", since=(3, (await position(pub, "chat.room"))[1]))
    assert page.publications == [{"data": 4, "from": "pub", "offset": 4}] and page.offset == 4
    assert (await server.history("other", reverse=True, limit=1)).publications == []
    server.Publish("other", {"x": 1})
    assert (await server.history("other")).publications == [{"data": {"x": 1}, "from": server.ID, "offset": 1}]
