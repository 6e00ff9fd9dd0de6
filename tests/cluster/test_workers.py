"""`ksps serve --workers N --redis URL`: N processes on one port behave as one bus (src/ksps/workers.py)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket

from ksps.server.server import core_of

from .conftest import Connect, Spawn, StartNode, fence, subscribers, wait_ready
from .processes import RedisProcess
from .wire import delivery, eventually, unique, units

#: Enough clients that the kernel's SO_REUSEPORT hashing puts some on each worker (all on one: p = 2^-15).
CLIENTS = 16


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_workers_share_one_port_act_as_one_bus_and_all_stop_on_sigterm(
    redis_server: RedisProcess, spawn: Spawn, start_node: StartNode, connect: Connect
) -> None:
    prefix = unique("workers")
    server = spawn(redis_server, prefix, workers=2)  # no --server-id: each worker has its own
    await wait_ready(server)
    pids = [int(m.group(1)) for line in server.log.lines if (m := re.search(r"started worker \d+ \(pid (\d+)\)", line))]
    assert len(pids) == 2, server.log.lines
    observer = await start_node(prefix)
    assert core_of(observer).cluster is not None
    await eventually(lambda: len(core_of(observer).cluster.view.nodes), 2, what="the workers in the cluster view")

    topic = unique("t")
    clients = [await connect(server.url, unique(f"c{n}")) for n in range(CLIENTS)]
    for client in clients:
        await client.subscribe(topic)
    publisher = await connect(server.url, unique("pub"))
    await subscribers(observer, topic, internal=0, ws=CLIENTS)
    await eventually(observer.CountClients, CLIENTS + 1, what="CountClients")
    per_worker = [state.clients for state in core_of(observer).cluster.view.nodes.values()]
    assert len(per_worker) == 2 and min(per_worker) > 0, f"clients per worker: {per_worker}"

    await fence(observer, publisher)
    await publisher.publish(topic, "to all")
    await publisher.publish(topic, "marker")
    for client in clients:  # on both workers, each exactly once
        assert await client.recv() == delivery(topic, "to all", publisher.id)
        assert await client.recv() == delivery(topic, "marker", publisher.id)

    server.process.send_signal(signal.SIGTERM)

    assert await asyncio.to_thread(server.process.wait, units(20)) == 0
    for client in clients:
        assert await client.closed() == (1000, "server shutdown")
    assert [pid for pid in pids if alive(pid)] == []
    await eventually(observer.CountClients, 0, what="CountClients after the workers said goodbye")
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", server.port)) != 0  # nobody listens any more
