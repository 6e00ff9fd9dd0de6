"""Churn: thousands of connect/register/subscribe/publish-with-ack/disconnect cycles leave nothing behind.

After a warm-up (which fills bounded caches and the allocator's pools), the server's tables (every dict, set
and list of the server, broker, topic registry, ack tracker and frame handler, whatever they are called),
its connection set and the process's open file descriptors must come back to exactly their baseline, and its
resident memory to within `RSS_TOLERANCE`. The cycles mix the ways a connection ends (spec §6.2, §9.14):
clean close, TCP reset with its own ack request pending, leaving while another client waits for its ack,
and never registering at all.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import os
import socket
import struct
from collections.abc import Callable

from ksps import Server
from ksps.server.server import core_of
from ksps.testing import serve_for_tests

from ..cluster.wire import eventually
from ..server.wire import Frame, RawSocket, units

#: Cycles measured, after `WARMUP` cycles; `WORKERS` run side by side.
CYCLES = 3000
WARMUP = 400
WORKERS = 16
#: Topics are drawn from a fixed pool, so the bounded reply cache of the frame handler is full after warm-up.
TOPICS = [f"churn/{n}" for n in range(32)]
#: The topic of the requester, which never acknowledges anything.
SILENT = "churn/silent"
#: Resident memory may differ from its baseline by this much after the cycles (allocator noise, not a leak:
#: a leak of one 1 KiB object per cycle would show as 3 MiB).
RSS_TOLERANCE = 2 * 1024 * 1024


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def tables(server: Server) -> dict[str, int]:
    """The size of every container the server keeps per client, topic or request (found by introspection, so
    an index added later is covered too)."""
    sizes: dict[str, int] = {}
    broker = core_of(server).broker
    owners = {"server": core_of(server), "broker": broker, "topics": broker.topics, "acks": broker.acks}
    owners["handler"] = core_of(server).handler
    for name, owner in owners.items():
        for attr, value in vars(owner).items():
            if isinstance(value, dict | set | list):
                sizes[f"{name}.{attr}"] = len(value)
    return sizes


async def wait_until(check: Callable[[], bool], what: str) -> None:
    """Poll a condition of the server's state (which has no event to wait on) for up to 5 time units."""
    await eventually(check, True, units(5), what)


class Requester:
    """A long-lived client whose ack requests the cycling clients leave unanswered (responder gone, §9.14), and
    which never answers the requests of theirs it gets on `SILENT` (owner gone, §6.2)."""

    @classmethod
    async def open(cls, server: Server) -> Requester:
        raw = await connect(server)
        await raw.send_json({"action": "ping", "from": "churn-requester"})
        assert await raw.read_json() == {"action": "pong", "id": "churn-requester"}
        await raw.send_json({"action": "subscribe", "topic": SILENT})
        assert await raw.read_json() == {"action": "subscribed", "topic": SILENT}
        return cls(raw)

    def __init__(self, raw: RawSocket) -> None:
        self.raw = raw
        self.waiting: dict[str, asyncio.Future[Frame]] = {}
        self._numbers = itertools.count()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        while True:
            frame = await self.raw.read_json(timeout=float("inf"))
            if frame["action"] == "ack_response":
                self.waiting.pop(frame["ack_id"]).set_result(frame)

    async def request(self, topic: str) -> asyncio.Future[Frame]:
        ack_id = f"r{next(self._numbers)}"
        future = self.waiting[ack_id] = asyncio.get_running_loop().create_future()
        await self.raw.send_json({"action": "publish_with_ack", "topic": topic, "data": 1, "ack_id": ack_id})
        return future


async def connect(server: Server) -> RawSocket:
    raw = await RawSocket.open("127.0.0.1", server.port, server.config.path)
    # Two small frames in a row would otherwise wait for the server's delayed ACK (Nagle): 40 ms a cycle.
    raw.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return raw


async def register(raw: RawSocket, client_id: str, topic: str) -> None:
    await raw.send_json({"action": "ping", "from": client_id})
    await raw.send_json({"action": "subscribe", "topic": topic})
    assert await raw.read_json() == {"action": "pong", "id": client_id}
    assert await raw.read_json() == {"action": "subscribed", "topic": topic}


async def close_cleanly(raw: RawSocket) -> None:
    await raw.send_frame(struct.pack("!H", 1000), opcode=0x8)
    _, code, _ = await raw.read_to_end()
    assert code == 1000
    raw.close()


def reset(raw: RawSocket) -> None:
    """Close with a TCP RST: no close frame, no FIN handshake (SO_LINGER 0)."""
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    raw.close()


async def cycle(server: Server, requester: Requester, n: int) -> None:
    """One connection's life, in one of four ways (n % 4)."""
    raw = await connect(server)
    kind, topic, client_id = n % 4, TOPICS[n % len(TOPICS)], f"churn-{n}"
    if kind == 3:  # upgrades and never registers
        await close_cleanly(raw)
        return
    await register(raw, client_id, topic)
    if kind == 0:  # its own request, answered by itself; clean close
        await raw.send_json({"action": "publish_with_ack", "topic": topic, "data": n, "ack_id": "own"})
        server_ack_id = (await raw.read_json())["ack_id"]
        data = {"ack_id": server_ack_id, "client_id": client_id, "success": True}
        await raw.send_json({"action": "ack", "ack_id": server_ack_id, "data": data})
        assert (await raw.read_json())["action"] == "ack_response"
        await raw.send_json({"action": "unsubscribe", "topic": topic})
        assert await raw.read_json() == {"action": "unsubscribed", "topic": topic}
        await close_cleanly(raw)
    elif kind == 1:  # its request to the silent requester still pending: TCP reset
        request = {"action": "publish_with_ack", "topic": SILENT, "data": n, "ack_id": "own", "timeout": 60_000}
        await raw.send_json(request)
        await raw.send_json({"action": "get_ack_status", "ack_id": "own"})
        assert (await raw.read_json()) == {
            "action": "ack_status",
            "ack_id": "own",
            "status": {"churn-requester": False},
        }
        reset(raw)
    else:  # another client waits for its answer; it leaves without one
        answer = await requester.request(topic)
        assert (await raw.read_json())["action"] == "publish_ack"
        await close_cleanly(raw)
        response = await asyncio.wait_for(answer, units(5))
        assert response["responses"][client_id]["error"] == "client disconnected", response


async def churn(server: Server, requester: Requester, cycles: range) -> None:
    async def worker(first: int) -> None:
        for n in range(first, cycles.stop, WORKERS):
            await cycle(server, requester, n)

    await asyncio.gather(*(worker(cycles.start + w) for w in range(WORKERS)))


async def test_connection_churn_returns_tables_fds_and_memory_to_baseline() -> None:
    async with serve_for_tests() as server:
        requester = await Requester.open(server)

        async def settled() -> tuple[dict[str, int], int, int]:
            await wait_until(lambda: len(core_of(server).connections) == 1, "every cycling connection is gone")
            gc.collect()
            return tables(server), open_fds(), rss_bytes()

        async with asyncio.timeout(units(60)):
            await churn(server, requester, range(WARMUP))
            base_tables, base_fds, base_rss = await settled()
            loop = asyncio.get_running_loop()
            started = loop.time()
            await churn(server, requester, range(WARMUP, WARMUP + CYCLES))
            elapsed = loop.time() - started
            await wait_until(lambda: open_fds() == base_fds, f"open fds back to {base_fds} (now {open_fds()})")
            after_tables, after_fds, after_rss = await settled()

        assert after_tables == base_tables, {
            k: (base_tables[k], v) for k, v in after_tables.items() if v != base_tables.get(k)
        }
        assert after_fds == base_fds
        assert after_rss - base_rss < RSS_TOLERANCE, f"RSS grew by {(after_rss - base_rss) / 2**20:.1f} MiB"
        assert not requester.waiting
        print(f"{CYCLES} cycles in {elapsed:.1f} s; RSS {base_rss / 2**20:.1f} -> {after_rss / 2**20:.1f} MiB")
        requester._reader.cancel()
        await asyncio.wait([requester._reader], timeout=units(2))
        requester.raw.close()
