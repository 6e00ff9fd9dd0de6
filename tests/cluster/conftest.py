"""Fixtures of the cluster suite: a real Redis, `ksps serve` nodes as subprocesses, in-process nodes, clients.

One Redis and one 3-node cluster serve the whole session (each test uses its own topics and client IDs);
tests that kill a node, restart Redis or run workers build their own, under a channel prefix of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from ksps import Server
from ksps.broker.cluster import NodeState
from ksps.server.server import core_of
from ksps.testing import serve_for_tests

from .processes import BACK, HEARTBEAT, LOST, MAX_BACKOFF, NODE_TIMEOUT, NodeProcess, RedisProcess
from .wire import WireClient, eventually, unique, units


@dataclass
class Cluster:
    """Subprocess nodes joined over one Redis under one channel prefix."""

    redis: RedisProcess
    prefix: str
    nodes: list[NodeProcess]


#: Starts an in-process node: `start_node(prefix, redis=None, **ServerConfig options)`.
StartNode = Callable[..., Awaitable[Server]]
#: Opens a registered client: `connect(url, client_id)`.
Connect = Callable[[str, str], Awaitable[WireClient]]
#: Starts `ksps serve` subprocesses (not yet ready): `spawn(redis, prefix, server_id, **NodeProcess options)`.
Spawn = Callable[..., NodeProcess]


async def wait_ready(*nodes: NodeProcess) -> None:
    """Wait, off the event loop, until every node listens (in-process nodes keep their heartbeats meanwhile)."""
    for node in nodes:
        await asyncio.to_thread(node.wait_ready)


@contextlib.asynccontextmanager
async def node_pair(
    label: str, *, persist: bool = False, extra: Sequence[str] = ()
) -> AsyncIterator[tuple[RedisProcess, NodeProcess, NodeProcess]]:
    """A redis-server of its own (`persist`: append-only file, so a kill keeps the data) and two `ksps serve`
    subprocess nodes on it with options `extra`, ready; all stopped on exit."""
    redis = RedisProcess(persist=persist)
    nodes: list[NodeProcess] = []
    try:
        redis.start_on_a_free_port()
        prefix = unique(label)
        nodes += [NodeProcess(redis.url(), prefix, unique(name), extra=tuple(extra)) for name in ("a", "b")]
        await wait_ready(*nodes)
        yield redis, nodes[0], nodes[1]
    finally:
        for node in nodes:
            node.stop()
        redis.stop()


async def registered_client(url: str, label: str) -> WireClient:
    """A raw client registered with a unique ID made from `label`."""
    client = await WireClient.open(url)
    assert isinstance(client, WireClient)
    await client.register(unique(label))
    return client


class SteadyPublisher:
    """Publishes {"n": 1, 2, ...} to `topic` from `client`, each after the previous `published` and `pace`
    seconds, until stopped: the steady traffic of the Redis fault tests."""

    def __init__(self, client: WireClient, topic: str, pace: float = 0.005) -> None:
        self.client, self.topic, self.pace = client, topic, pace
        #: Loop time at which each number was sent (index = number - 1).
        self.sent_at: list[float] = []
        #: The last number sent, once stopped.
        self.last = 0
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            self.sent_at.append(loop.time())
            await self.client.publish(self.topic, {"n": len(self.sent_at)})
            await asyncio.sleep(self.pace)  # pacing the load, not waiting for anything

    async def stop(self) -> int:
        """Stop publishing; returns (and sets `last` to) the last number sent, each confirmed by `published`."""
        # A flag, not cancel(): on Python 3.11 wait_for() may swallow a cancellation that races a reply.
        self._stopping = True
        await asyncio.wait_for(self._task, units(5))
        self.last = len(self.sent_at)
        return self.last


def node_state(observer: Server, node: NodeProcess | Server) -> NodeState | None:
    """What `observer` currently knows of another node's counts (None: not in its view)."""
    assert core_of(observer).cluster is not None
    cluster = None if isinstance(node, NodeProcess) else core_of(node).cluster
    ids = node.node_ids if isinstance(node, NodeProcess) else [cluster.node_id] if cluster else []
    for node_id in ids:
        if node_id in core_of(observer).cluster.view.nodes:
            return core_of(observer).cluster.view.nodes[node_id]
    return None


async def sees(observer: Server, *nodes: NodeProcess | Server) -> None:
    """Wait until `observer` has heard the state of every one of `nodes`."""
    await eventually(
        lambda: all(node_state(observer, node) is not None for node in nodes), True, what="the cluster view"
    )


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisProcess]:
    """A real `redis-server` for the session; the suite fails (never skips) when there is none."""
    redis = RedisProcess()
    try:
        yield redis.start_on_a_free_port()
    finally:
        redis.stop()


@pytest.fixture(scope="session")
def cluster(redis_server: RedisProcess) -> Iterator[Cluster]:
    """Three `ksps serve --redis` nodes, started in parallel, shared by the session."""
    prefix = unique("ksps-test")
    # Relays between the nodes need the peer secret (spec §12.1); their ports may change on a retry, so any
    # address rather than a fixed --peers list.
    peering = ("--peer-secret", unique("secret"), "--relay-any-address")
    nodes = [NodeProcess(redis_server.url(), prefix, unique(f"node{n}"), extra=peering) for n in (1, 2, 3)]
    try:
        for node in nodes:
            node.wait_ready()
        yield Cluster(redis_server, prefix, nodes)
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start extra subprocess nodes for one test; all are stopped after it."""
    started: list[NodeProcess] = []

    def start(redis: RedisProcess, prefix: str, server_id: str = "", **options: Any) -> NodeProcess:
        node = NodeProcess(redis.url(), prefix, server_id, **options)
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()


@pytest.fixture
async def start_node(redis_server: RedisProcess) -> AsyncIterator[StartNode]:
    """Start in-process nodes (server API available); stopped after the test."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(prefix: str, redis: RedisProcess | None = None, **options: Any) -> Server:
            options.setdefault("server_id", unique("inproc"))
            options.setdefault("redis_url", (redis or redis_server).url())
            options.setdefault("redis_prefix", prefix)
            options.setdefault("cluster_heartbeat", HEARTBEAT)
            options.setdefault("cluster_node_timeout", NODE_TIMEOUT)
            server = await stack.enter_async_context(serve_for_tests(**options))
            assert core_of(server).cluster is not None
            return server

        yield start


@pytest.fixture
async def observer(cluster: Cluster, start_node: StartNode) -> Server:
    """An in-process node of the session cluster that has heard from the three subprocess nodes.

    Tests read the cluster-wide counts on it: a node sends its state after subscribing to a topic's Redis
    channel, so once the observer counts a subscriber, publications from any node reach it.
    """
    server = await start_node(cluster.prefix)
    await sees(server, *cluster.nodes)
    return server


@pytest.fixture
async def connect(start_node: StartNode) -> AsyncIterator[Connect]:
    """Open registered clients; all are closed after the test, before the in-process nodes stop."""
    clients: list[WireClient] = []

    async def open_client(url: str, client_id: str) -> WireClient:
        client = await WireClient.open(url)
        clients.append(client)
        await client.register(client_id)
        return client

    yield open_client
    for client in clients:
        await client.close()


async def subscribers(observer: Server, topic: str, internal: int, ws: int, timeout: float | None = None) -> None:
    """Wait until `observer` counts these subscribers of `topic`, cluster-wide."""
    expected = {"internal": internal, "ws": ws, "total": internal + ws}
    await eventually(lambda: observer.CountSubscribers(topic), expected, timeout, what=f"subscribers of {topic}")


async def fence(observer: Server, client: WireClient) -> None:
    """Prove that `client`'s node has processed every cluster message `observer` has processed so far.

    The observer broadcasts a direct message to `client` after the states it has seen: Redis delivers one
    channel's messages in order, so when `client` gets it, its node has applied those states too.
    """
    token = unique("fence")
    observer.PublishToID(client.id, token)
    assert await client.recv() == {"action": "direct_message", "from": observer.ID, "data": token}


async def routed(
    observer: Server,
    topic: str,
    internal: int,
    ws: int,
    publishers: Sequence[WireClient] = (),
    timeout: float | None = None,
) -> None:
    """Wait until `observer` counts these subscribers of `topic` and the nodes of `publishers` know them too.

    A node routes a publication to the nodes whose `state` it has seen (spec/cluster.md §2, §8).
    """
    await subscribers(observer, topic, internal, ws, timeout)
    for client in publishers:
        await fence(observer, client)


@pytest.fixture
def own_redis() -> Iterator[RedisProcess]:
    """A Redis for one test, which it may kill and restart."""
    redis = RedisProcess()
    try:
        yield redis.start_on_a_free_port()
    finally:
        redis.stop()


async def redis_outage(redis: RedisProcess, *nodes: NodeProcess, timeout: float | None = None) -> None:
    """Kill `redis` and wait until every node noticed (spec/cluster.md §7)."""
    redis.kill()
    for node in nodes:
        await asyncio.to_thread(node.log.wait_for, LOST, units(10) if timeout is None else timeout)


async def redis_rejoin(redis: RedisProcess, *nodes: NodeProcess) -> float:
    """Restart `redis` on its port and wait until every node is back on it; the seconds that took."""
    loop = asyncio.get_running_loop()
    redis.start()  # same port
    restarted_at = loop.time()
    for node in nodes:
        await asyncio.to_thread(node.log.wait_for, BACK, MAX_BACKOFF + units(5))
    return loop.time() - restarted_at
