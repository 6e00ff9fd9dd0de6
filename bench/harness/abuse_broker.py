"""The broker and cluster abuse cases of issue 11's table (rows 4-6, 10), bounded in time and count."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import subprocess
import time

from .abuse_cases import Env, Outcome, flood
from .abuse_probe import OP_CLOSE, OP_TEXT, RawWS, ServerProcess, free_port, text


async def pending_acks(env: Env) -> Outcome:
    """Row 4: a client holds many `publish_with_ack` requests to a topic whose one subscriber never acks;
    meanwhile unrelated clients connect and disconnect (each disconnect used to scan every pending request)."""
    port = env.server.port
    silent = await RawWS.open(port)
    await silent.register("silent")
    await silent.send(text({"action": "subscribe", "topic": "silent"}))
    drain = asyncio.ensure_future(_discard(silent))
    before = await _churn_rate(port, 1.0)
    abuser = await RawWS.open(port)
    await abuser.register("holder")
    count = int(100_000 * env.scale)
    request = {"action": "publish_with_ack", "topic": "silent", "data": 1, "timeout": 300_000}
    batch = 1000
    sent = 0
    try:
        for first in range(0, count, batch):
            frames = b"".join(text({**request, "ack_id": f"a{n}"}) for n in range(first, min(count, first + batch)))
            await abuser.send(frames)
            sent = min(count, first + batch)
    except ConnectionError:
        pass  # the server closed the abuser (frame rate, or its unread refusals): see `ending`
    during = await _churn_rate(port, env.seconds)
    drain.cancel()
    silent.abort()  # the silent responder leaves: every request completes at once
    ending = await abuser.ending(2.0)
    abuser.abort()
    extra = {"requests": count, "sent": sent, "churn_per_s_before": before, "churn_per_s_during": during}
    return Outcome(ending, None, extra)


async def _discard(ws: RawWS) -> None:
    while await ws.read_frame(3600) is not None:
        pass


async def _churn_rate(port: int, seconds: float) -> float:
    """Connect, register, disconnect cycles per second achieved over `seconds` (a stalled one counts zero)."""
    started, cycles = time.monotonic(), 0
    while time.monotonic() - started < seconds:
        try:
            ws = await asyncio.wait_for(RawWS.open(port), seconds)
            await asyncio.wait_for(ws.register(f"churn-{cycles}"), seconds)
            ws.abort()
            cycles += 1
        except (TimeoutError, ConnectionError):
            break
    return round(cycles / (time.monotonic() - started), 1)


async def slow_subscribers(env: Env) -> Outcome:
    """Row 5: 50 subscribers of a busy topic stop reading while a publisher floods it."""
    port = env.server.port
    subscribers = []
    for n in range(50):
        ws = await RawWS.open(port, receive_buffer=4096)
        await ws.register(f"slow-{n}")
        await ws.send(text({"action": "subscribe", "topic": "busy"}))
        subscribers.append(ws)
    publisher = await RawWS.open(port)
    await publisher.register("busy-publisher")
    drain = asyncio.ensure_future(_discard(publisher))
    batch = text({"action": "publish", "topic": "busy", "data": "x" * 1024}) * 100
    ending, _after, batches = await flood(publisher, batch, env)
    drain.cancel()
    publisher.abort()
    for ws in subscribers:
        ws.abort()
    closed = env.server.count(r"level=warning.*slow consumer")
    return Outcome(f"{closed}/50 closed (slow consumer)", None, {"publications": batches * 100, "publisher": ending})


async def many_topics(env: Env) -> Outcome:
    """Row 6: one connection subscribes to a million topics (100k with --quick), then disconnects."""
    ws = await RawWS.open(env.server.port)
    await ws.register("collector")
    replies = asyncio.ensure_future(_count_replies(ws))
    count, started, ending, after = int(1_000_000 * env.scale), time.monotonic(), "reset by us", None
    for first in range(0, count, 2000):
        try:
            await ws.send(b"".join(text({"action": "subscribe", "topic": f"t{n}"}) for n in range(first, first + 2000)))
        except ConnectionError:
            count, ending, after = first, "reset by the server", time.monotonic() - started
            break
        if time.monotonic() - started > 6 * env.seconds:
            count = first + 2000
            break
    counts = await _settle(replies, count)
    ws.abort()
    return Outcome(ending, after, {"topics_asked": count, **counts, "seconds": round(time.monotonic() - started, 1)})


async def _count_replies(ws: RawWS) -> dict[str, int]:
    counts: dict[str, int] = {}
    with_close = ""
    while (got := await ws.read_frame(3600)) is not None:
        if got[0] == OP_TEXT:
            action = str(json.loads(got[1]).get("action"))
            counts[action] = counts.get(action, 0) + 1
        elif got[0] == OP_CLOSE:
            with_close = got[1][:2].hex()
    if with_close:
        counts["closed"] = 1
    return counts


async def _settle(replies: asyncio.Future[dict[str, int]], expected: int) -> dict[str, int]:
    with_timeout = asyncio.ensure_future(asyncio.wait_for(asyncio.shield(replies), 10))
    try:
        return await with_timeout
    except TimeoutError:
        replies.cancel()
        return {"replies": -1, "expected": expected}


def cluster_options(redis: RedisProcess) -> list[str]:
    """`ksps serve` options of a node of the row-10 cluster (fast heartbeats, as in tests/cluster)."""
    return [
        "--redis",
        redis.url,
        "--redis-prefix",
        "abuse",
        "--cluster-heartbeat",
        "0.2",
        "--cluster-node-timeout",
        "1",
    ]


class RedisProcess:
    """A throwaway `redis-server` that can be SIGKILLed and started again on its port."""

    def __init__(self) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError("redis-server is not installed")
        self.port, self.executable = free_port(), executable
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.1):
                return
            time.sleep(0.025)  # polling a port in a bench, not a test

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()


async def cluster_split_id(env: Env) -> Outcome:
    """Row 10: Redis down, the same ID registered on both nodes meanwhile; after it returns, who keeps it?"""
    assert env.redis is not None
    other = ServerProcess(cluster_options(env.redis))
    try:
        other.wait_ready()
        env.redis.kill()
        first, second = await RawWS.open(env.server.port), await RawWS.open(other.port)
        await first.register("dup")
        await second.register("dup")
        env.redis.start()
        restarted = time.monotonic()
        endings = await asyncio.gather(first.ending(max(5.0, env.seconds)), second.ending(max(5.0, env.seconds)))
        after = time.monotonic() - restarted
        closed = [e for e in endings if e.startswith("close")]
        for ws in (first, second):
            ws.abort()
        ending = f"{len(closed)}/2 closed: {closed[0]}" if closed else "both kept the ID"
        return Outcome(ending, round(after, 2) if closed else None, {"endings": list(endings)})
    finally:
        other.stop()
