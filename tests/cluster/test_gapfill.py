"""History topics across a Redis outage (spec/cluster.md §11): nothing lost, nothing twice, order kept.

Two `ksps serve` nodes over a real Redis that persists every write (`appendonly yes`, `appendfsync always`);
on each node a publisher sends numbered publications at a steady pace to one history topic that a subscriber
on each node follows. Redis is SIGKILLed, stays down until the nodes have forgotten each other, and is
restarted on the same port. Each subscriber must then have every number of both publishers exactly once, in
order: the publishing node kept what it published meanwhile (outage buffer) and stored and sent it when Redis
was back; each node read back from the history what it missed (gap fill).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import pytest
import redis.asyncio as aioredis

from ksps.server.server import core_of

from ..server.http_pages import scrape, value
from .conftest import Connect, StartNode, node_pair, registered_client, routed
from .conftest import SteadyPublisher as Publisher
from .processes import BACK, LOST, MAX_BACKOFF, RedisProcess
from .wire import WireClient, eventually, unique, units

#: Log line of a node that forgot another (spec/cluster.md §7).
SILENT = r"cluster node \S+ went silent"
#: Publications each subscriber must see from the remote publisher before the kill and after the restart.
STEADY = 30
#: Local publications each subscriber must see while Redis is down: the outage lasts a few seconds (2-3 s here).
DURING = 500


class Subscriber:
    """Reads one client's deliveries in the background: per sender, the numbers in arrival order."""

    def __init__(self, client: WireClient, topic: str) -> None:
        self.client, self.topic = client, topic
        self.numbers: dict[str, list[int]] = {}
        self.arrived: dict[str, list[float]] = {}
        self.changed = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            frame = await self.client.recv(timeout=float("inf"))
            assert frame["action"] == "publish" and frame["topic"] == self.topic, frame
            sender = frame["data"]["from"]
            self.numbers.setdefault(sender, []).append(frame["data"]["data"]["n"])
            self.arrived.setdefault(sender, []).append(loop.time())
            self.changed.set()

    def since(self, sender: str, at: float) -> int:
        return sum(1 for t in self.arrived.get(sender, []) if t > at)

    async def until(self, done: Any, timeout: float, what: str) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not done():
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            raise AssertionError(f"{self.client.id}: {what} within {timeout:.1f} s") from None

    async def close(self) -> None:
        self._reader.cancel()
        await asyncio.wait([self._reader], timeout=units(2))


async def test_redis_killed_under_traffic_loses_nothing_on_a_history_topic() -> None:
    nodes = node_pair("gapfill", persist=True, extra=("--history-size", "20000"))
    async with nodes as (redis, a, b), contextlib.AsyncExitStack() as stack:
        topic = unique("gapfill")
        clients = [await registered_client(url, label) for url, label in [(a.url, "sub-a"), (b.url, "sub-b")]]
        clients += [await registered_client(url, label) for url, label in [(a.url, "pub-a"), (b.url, "pub-b")]]
        for client in clients:
            stack.push_async_callback(client.close)
        for client in clients[:2]:
            await client.subscribe(topic)
        subs = [Subscriber(clients[0], topic), Subscriber(clients[1], topic)]
        for sub in subs:
            stack.push_async_callback(sub.close)
        pubs = [Publisher(clients[2], topic), Publisher(clients[3], topic)]
        local = {subs[0]: pubs[0].client.id, subs[1]: pubs[1].client.id}
        remote = {subs[0]: pubs[1].client.id, subs[1]: pubs[0].client.id}
        loop = asyncio.get_running_loop()
        for sub in subs:  # steady cross-node traffic: each node routes the topic to the other
            await sub.until(lambda s=sub: s.since(remote[s], 0) >= STEADY, units(10), "cross-node delivery")

        redis.kill()
        killed_at = loop.time()
        for node in (a, b):
            await asyncio.to_thread(node.log.wait_for, LOST, units(5))
            await asyncio.to_thread(node.log.wait_for, SILENT, units(5))
        for sub in subs:  # local delivery goes on; the outage lasts as long as DURING publications take
            await sub.until(lambda s=sub: s.since(local[s], killed_at) >= DURING, units(10), "local delivery")

        redis.start()  # same port, same data
        back = loop.time()
        for node in (a, b):
            await asyncio.to_thread(node.log.wait_for, BACK, MAX_BACKOFF + units(5))
        for sub in subs:
            await sub.until(lambda s=sub: s.since(remote[s], back) >= STEADY, units(10), "steady again")
        last = {pub.client.id: await pub.stop() for pub in pubs}

        for sub in subs:

            def complete(s: Subscriber = sub) -> bool:
                return all(len(s.numbers.get(sender, [])) >= n for sender, n in last.items())

            with contextlib.suppress(AssertionError):  # the checks below say what is missing
                await sub.until(complete, units(15), "every publication")
        for sub in subs:
            for sender, n in last.items():
                numbers = sub.numbers[sender]
                missing = sorted(set(range(1, n + 1)) - set(numbers))
                assert not missing, f"{sub.client.id} lost {len(missing)} of {sender}: {missing[:20]}"
                assert len(numbers) == len(set(numbers)), f"{sub.client.id}: duplicates from {sender}"
                assert numbers == sorted(numbers), f"{sub.client.id}: out of order from {sender}"
        # The outage was real: the remote publisher sent while Redis was down, and those arrived all the same.
        during = [sum(1 for t in pub.sent_at if killed_at < t < back) for pub in pubs]
        assert min(during) > DURING / 2, during
        stored = [len(node.log.wait_for(r"stored and sent \d+ publications", units(1))) for node in (a, b)]
        print(f"Redis down {back - killed_at:.1f} s; published meanwhile: {during}; nodes that stored theirs: {stored}")


async def test_the_outage_buffer_is_bounded_and_says_what_it_dropped(
    start_node: StartNode, connect: Connect, own_redis: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    cap = 64 * 1024
    node = await start_node(
        unique("outage"),
        redis=own_redis,
        history_size=1000,
        history=("small-*=10",),
        history_outage_max_bytes=cap,
        metrics=True,
    )
    cluster, engine = core_of(node).cluster, core_of(node).history_engine
    assert cluster is not None and engine is not None
    big, small = unique("big"), unique("small")
    sub, pub = await connect(node.url, unique("sub")), await connect(node.url, unique("pub"))
    await sub.subscribe(big)
    own_redis.kill()
    await eventually(lambda: cluster.connected, False, units(5), what="redis lost")
    payload = "x" * 1000
    flood, few = 3000, 50
    with caplog.at_level(logging.WARNING, logger="ksps.cluster"):
        for n in range(1, flood + 1):
            await pub.send({"action": "publish", "topic": big, "data": {"n": n, "p": payload}})
        for n in range(1, few + 1):
            await pub.send({"action": "publish", "topic": small, "data": {"n": n}})
        for _ in range(flood + few):
            assert "offset" not in await pub.expect("published")  # answered at once, not kept in Redis yet
        # Delivered here at once all the same (availability), in order.
        assert [(await sub.expect("publish", topic=big))["data"]["data"]["n"] for _ in range(flood)] == list(
            range(1, flood + 1)
        )
    assert engine.outage.peak <= cap  # the flood never held more than the cap
    kept = len(engine.outage)
    small_kept = 10  # at most the topic's history size
    assert engine.outage.dropped == flood + few - kept and kept > small_kept
    assert "publications dropped from the outage buffer" in caplog.text
    metrics = await scrape(node.port)  # and /metrics says so
    assert value(metrics, "ksps_history_outage_dropped_total") == engine.outage.dropped
    assert value(metrics, "ksps_history_outage_publications") == kept
    assert 0 < value(metrics, "ksps_history_outage_bytes") <= cap

    own_redis.start()  # persists nothing: a new epoch, which takes what the buffer kept
    await eventually(lambda: cluster.connected, True, units(15), what="rejoin")

    async def stored(topic: str, count: int) -> list[int]:
        while True:
            page = await node.history(topic, limit=1000)
            if page.offset >= count:
                return [p["data"]["n"] for p in page.publications]
            await asyncio.sleep(0.05)  # polling a condition (the store runs in the background)

    newest_big = await asyncio.wait_for(stored(big, kept - small_kept), units(10))
    assert newest_big == list(range(flood - len(newest_big) + 1, flood + 1))  # the newest, in order
    assert await asyncio.wait_for(stored(small, small_kept), units(10)) == list(range(few - 9, few + 1))
    assert len(engine.outage) == 0
    assert value(await scrape(node.port), "ksps_history_outage_publications") == 0


async def test_a_store_whose_answer_was_lost_is_not_stored_twice(
    start_node: StartNode, connect: Connect, own_redis: RedisProcess
) -> None:
    prefix, topic = unique("uncertain"), unique("t")
    one, two = await start_node(prefix, redis=own_redis, history_size=100), await start_node(
        prefix, redis=own_redis, history_size=100
    )
    local, remote = await connect(one.url, unique("local")), await connect(two.url, unique("remote"))
    pub = await connect(one.url, unique("pub"))
    for client in (local, remote):
        await client.subscribe(topic)
    await routed(one, topic, 0, 2, publishers=[pub])
    await pub.send({"action": "publish", "topic": topic, "data": 1})
    assert (await pub.expect("published"))["offset"] == 1
    assert (await local.expect("publish", offset=1))["data"]["data"] == 1
    assert (await remote.expect("publish", offset=1))["data"]["data"] == 1

    own_redis.pause()  # the store of the next publication reaches Redis, which hangs: no answer comes
    await pub.send({"action": "publish", "topic": topic, "data": 2})
    # Answered once the store times out (5 s socket timeout, and once more for redis-py's one retry, sent again
    # on a new connection: the marker makes that one harmless too), without a position; delivered here meanwhile.
    assert "offset" not in await pub.expect("published", timeout=units(20))
    assert await local.expect("publish") == {"action": "publish", "topic": topic, "data": {"data": 2, "from": pub.id}}
    own_redis.unpause()  # Redis runs the script it had received: the publication IS stored

    # Stored once: the node sends the batch again with its token, and the marker answers with its offsets.
    frame = await remote.expect("publish", timeout=units(10))
    assert (frame["data"]["data"], frame["offset"]) == (2, 2)

    # The next publication is stored at once (offset 3) or, when the node has not seen Redis back yet, kept in
    # its outage buffer and stored with offset 3 once it has: offset 3 either way, never 2 again.
    await pub.send({"action": "publish", "topic": topic, "data": 3})
    reply = await pub.expect("published", timeout=units(10))
    assert reply.get("offset", 3) == 3
    assert (await remote.expect("publish", timeout=units(10)))["offset"] == 3
    here = await local.expect("publish")  # once: with its offset, or at once without one (buffered)
    assert here["data"]["data"] == 3 and here.get("offset") == reply.get("offset")
    page = await two.history(topic)
    assert [(p["offset"], p["data"]) for p in page.publications] == [(1, 1), (2, 2), (3, 3)]
    assert await local.sync() == [] and await remote.sync() == []


async def test_when_redis_lost_the_history_the_outage_buffers_still_flow(
    start_node: StartNode, connect: Connect, own_redis: RedisProcess
) -> None:
    prefix, topic = unique("epoch"), unique("t")
    one, two = await start_node(prefix, redis=own_redis, history_size=100), await start_node(
        prefix, redis=own_redis, history_size=100
    )
    remote, pub = await connect(two.url, unique("remote")), await connect(one.url, unique("pub"))
    await remote.subscribe(topic)
    await routed(one, topic, 0, 1, publishers=[pub])
    for n in (1, 2):
        await pub.publish(topic, n)
        assert (await remote.expect("publish", offset=n))["data"]["data"] == n
    own_redis.kill()
    clusters = [core_of(node).cluster for node in (one, two)]
    for cluster in clusters:
        assert cluster is not None
        await eventually(lambda c=cluster: c.connected, False, units(5), what="redis lost")
    for n in (3, 4):
        await pub.publish(topic, n)  # kept in node one's outage buffer

    own_redis.start()  # persists nothing: the history is gone, a new epoch begins
    for n, offset in ((3, 1), (4, 2)):  # stored in the new epoch and delivered once, in order
        frame = await remote.expect("publish", timeout=units(15))
        assert (frame["data"]["data"], frame["offset"]) == (n, offset)
    gaps = clusters[1].gaps if clusters[1] is not None else None
    assert gaps is not None
    await eventually(lambda: gaps.epoch_changes >= 1, True, units(10), what="the epoch change, said")
    await pub.publish(topic, 5)
    assert (await remote.expect("publish"))["offset"] == 3
    assert await remote.sync() == []


async def test_nodes_cut_off_from_the_cluster_only_lose_nothing_either(
    start_node: StartNode, connect: Connect, own_redis: RedisProcess
) -> None:
    """Redis stays up; the nodes' pub/sub connections are killed (`CLIENT KILL TYPE pubsub`): each node is cut off
    from the others for a reconnection, its history connection still works (spec/cluster.md §11.1)."""
    prefix, topic = unique("cut"), unique("t")
    one, two = await start_node(prefix, redis=own_redis, history_size=10_000), await start_node(
        prefix, redis=own_redis, history_size=10_000
    )
    remote = await connect(two.url, unique("remote"))
    local = await connect(one.url, unique("local"))
    for client in (remote, local):
        await client.subscribe(topic)
    publisher = await connect(one.url, unique("pub"))
    await routed(one, topic, 0, 2, publishers=[publisher])
    subs = [Subscriber(remote, topic), Subscriber(local, topic)]
    pub = Publisher(publisher, topic)
    try:
        for sub in subs:
            await sub.until(lambda s=sub: len(s.numbers.get(publisher.id, [])) >= STEADY, units(10), "traffic")
        admin = aioredis.Redis.from_url(own_redis.url())
        clusters = [core_of(node).cluster for node in (one, two)]
        try:
            for _ in range(3):  # three cuts in a row, each while publications flow
                before = len(subs[0].numbers.get(publisher.id, []))
                assert await admin.client_kill_filter(_type="pubsub") >= 2
                await eventually(lambda: all(c is not None and c.connected for c in clusters), True, units(10))
                await subs[0].until(
                    lambda b=before: len(subs[0].numbers.get(publisher.id, [])) >= b + STEADY, units(10), "flowing"
                )
        finally:
            await admin.aclose()
        last = await pub.stop()
        for sub in subs:
            with contextlib.suppress(AssertionError):  # the checks below say what is missing
                await sub.until(lambda s=sub: len(s.numbers.get(publisher.id, [])) >= last, units(10), "all")
            got = sub.numbers[publisher.id]
            missing = sorted(set(range(1, last + 1)) - set(got))
            wrong = [(i, n) for i, n in enumerate(got) if i and n <= got[i - 1]]
            assert got == list(range(1, last + 1)), (sub.client.id, missing[:20], wrong[:20], len(got), last)
    finally:
        for sub in subs:
            await sub.close()
