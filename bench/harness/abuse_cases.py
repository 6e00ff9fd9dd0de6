"""The abuse cases of issue 11's table (rows 1-11), each bounded in time and count, loopback only.

Each case abuses the server of its `Env` and returns how the abuser ended ("close <code> <reason>", "reset",
"open"), after how many seconds, and figures of its own (`extra`); it closes its connections before
returning, so that the runner's "after" figures show what the server kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .abuse_probe import OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_TEXT, RawWS, ServerProcess, frame, free_port, text


@dataclass
class Env:
    server: ServerProcess
    #: Seconds of abuse, and a count scale (1.0 full, smaller with --quick).
    seconds: float
    scale: float
    redis: RedisProcess | None = None


@dataclass
class Outcome:
    abuser: str = "open"
    closed_after_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


async def _flood(ws: RawWS, batch: bytes, env: Env, *, rss_cap_mb: float = 1500.0) -> tuple[str, float | None, int]:
    """Write `batch` again and again for `env.seconds` (or until the server's RSS passes the cap)."""
    started, sent = time.monotonic(), 0
    try:
        while time.monotonic() - started < env.seconds and env.server.rss_mb() < rss_cap_mb:
            await asyncio.wait_for(ws.send(batch), env.seconds)
            sent += 1
    except (ConnectionError, TimeoutError) as exc:
        return ("reset" if isinstance(exc, ConnectionError) else "stalled"), time.monotonic() - started, sent
    return "open", None, sent


async def ping_flood(env: Env) -> Outcome:
    """Row 1: PING frames, never reading the PONGs."""
    ws = await RawWS.open(env.server.port, receive_buffer=4096)
    ending, after, batches = await _flood(ws, frame(b"p" * 125, OP_PING) * 1000, env)
    if ending == "open":
        ending = await ws.ending(1.0)
    ws.abort()
    return Outcome(ending, after, {"pings_sent": batches * 1000})


async def fragment_flood(env: Env) -> Outcome:
    """Row 2: a TEXT frame with FIN=0, then endless continuation frames: 2-byte ones for half the time (they
    count toward the message size limit), then empty ones on a second connection (they used not to)."""
    endings = []
    for body in (b"  ", b""):
        ws = await RawWS.open(env.server.port, receive_buffer=4096)
        await ws.send(frame(b"{", OP_TEXT, fin=False))
        half = Env(env.server, env.seconds / 2, env.scale, env.redis)
        ending, after, batches = await _flood(ws, frame(body, OP_CONT, fin=False) * 1000, half)
        if ending == "open":
            ending = await ws.ending(1.0)
        ws.abort()
        endings.append((ending, after, batches * 1000))
    (two, two_after, two_sent), (empty, empty_after, empty_sent) = endings
    extra = {"two_byte": {"ending": two, "after_s": two_after, "sent": two_sent}, "empty_sent": empty_sent}
    return Outcome(f"empty: {empty}; 2-byte: {two}", empty_after, extra)


async def deep_nesting(env: Env) -> Outcome:
    """Row 3: `{"action":"ping","zz":[[[...]]]}` with 2,000 levels, on fresh connections."""
    payload = frame(b'{"action":"ping","zz":' + b"[" * 2000 + b"]" * 2000 + b"}")
    endings: dict[str, int] = {}
    _started, first = time.monotonic(), ""
    for _ in range(max(1, int(50 * env.scale))):
        ws = await RawWS.open(env.server.port)
        await ws.send(payload + text({"action": "ping", "from": "deep"}))
        try:
            reply = await ws.read_json(2.0)
            ending = f"open ({reply.get('action')}: {reply.get('error', '')[:40]})".strip()
        except ConnectionError as exc:
            ending = str(exc)
        except TimeoutError:
            ending = "no answer"
        first = first or ending
        endings[ending] = endings.get(ending, 0) + 1
        ws.abort()
    return Outcome(first, None, {"connections": endings, "error_lines": env.server.count(r"level=error")})


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
    for first in range(0, count, batch):
        frames = b"".join(text({**request, "ack_id": f"a{n}"}) for n in range(first, min(count, first + batch)))
        await abuser.send(frames)
    during = await _churn_rate(port, env.seconds)
    drain.cancel()
    silent.abort()  # the silent responder leaves: every request completes at once
    ending = await abuser.ending(2.0)
    abuser.abort()
    return Outcome(ending, None, {"requests": count, "churn_per_s_before": before, "churn_per_s_during": during})


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
    ending, _after, batches = await _flood(publisher, batch, env)
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


async def frame_flood(env: Env) -> Outcome:
    """Row 7: an unpaced flood of small frames that get no reply (direct messages to nobody)."""
    ws = await RawWS.open(env.server.port)
    await ws.register("flooder")
    watch = asyncio.ensure_future(ws.ending(env.seconds + 2))
    started = time.monotonic()
    ending, after, batches = await _flood(ws, text({"action": "direct_message", "to": "nobody", "data": 1}) * 1000, env)
    result = await watch
    if result != "open" and after is None:
        after = time.monotonic() - started
    ws.abort()
    return Outcome(result if result != "open" else ending, after, {"frames_sent": batches * 1000})


async def idle_connections(env: Env) -> Outcome:
    """Row 8: many connections that upgrade and never register (4,000; 1,000 with --quick)."""
    target = int(4000 * env.scale)
    opened: list[RawWS] = []
    refused: dict[str, int] = {}
    started = time.monotonic()
    for _ in range(target):
        try:
            opened.append(await RawWS.open(env.server.port))
        except (OSError, ConnectionError, TimeoutError) as exc:
            key = str(exc)[:40] or type(exc).__name__
            refused[key] = refused.get(key, 0) + 1
    seconds = round(time.monotonic() - started, 1)
    newcomer = "accepted"
    try:
        (await RawWS.open(env.server.port)).abort()
    except (OSError, ConnectionError, TimeoutError) as exc:
        newcomer = f"refused: {exc}"[:60]
    for ws in opened:
        ws.abort()
    extra = {"asked": target, "accepted": len(opened), "refused": refused, "seconds": seconds, "newcomer": newcomer}
    return Outcome(f"{len(opened)} held", None, extra)


async def tls_silent(env: Env) -> Outcome:
    """Row 9: TCP connections to the TLS port that never send a ClientHello; watched for up to 12 s (the
    handshake timeout is 10 s by default)."""
    count = max(5, int(50 * env.scale))
    sockets = [await asyncio.open_connection("127.0.0.1", env.server.port) for _ in range(count)]
    started = time.monotonic()
    closed_at: list[float] = []

    async def wait_closed(reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(ConnectionError):
            await reader.read()
        closed_at.append(time.monotonic() - started)

    waits = [asyncio.ensure_future(wait_closed(reader)) for reader, _ in sockets]
    await asyncio.wait(waits, timeout=12.0)
    for task in waits:
        task.cancel()
    for _, writer in sockets:
        writer.transport.abort()
    ending = f"{len(closed_at)}/{count} closed by the server"
    return Outcome(ending, max(closed_at) if closed_at else None, {"watched_s": 12.0})


async def framing(env: Env) -> Outcome:
    """Row 11: close frames without a code or with invalid codes; RSV bits; a continuation with no start; a data
    frame inside a fragmented message. What the server answers to each (RFC 6455 §5.2, §5.4, §7.4)."""
    cases: dict[str, bytes] = {
        "close without code": frame(b"", OP_CLOSE),
        "close 1006": frame((1006).to_bytes(2, "big"), OP_CLOSE),
        "close 5000": frame((5000).to_bytes(2, "big"), OP_CLOSE),
        "close 65535": frame((65535).to_bytes(2, "big"), OP_CLOSE),
        "rsv bits": frame(b'{"action":"ping"}', OP_TEXT, rsv=0b100),
        "continuation first": frame(b'{"a":1}', OP_CONT),
        "text inside fragments": frame(b'{"act', OP_TEXT, fin=False) + frame(b'{"action":"ping"}', OP_BINARY),
    }
    answers: dict[str, str] = {}
    for name, data in cases.items():
        ws = await RawWS.open(env.server.port)
        await ws.register("framing")
        await ws.send(data + text({"action": "ping", "from": "framing"}))
        answers[name] = await ws.ending(1.0)
        ws.abort()
    return Outcome("; ".join(f"{k}: {v}" for k, v in answers.items()), None, answers)


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


Case = Callable[[Env], Awaitable[Outcome]]
#: Row of issue 11 -> (name, case).
CASES: dict[int, tuple[str, Case]] = {
    1: ("ping-flood", ping_flood),
    2: ("fragment-flood", fragment_flood),
    3: ("deep-nesting", deep_nesting),
    4: ("pending-acks", pending_acks),
    5: ("slow-subscribers", slow_subscribers),
    6: ("many-topics", many_topics),
    7: ("frame-flood", frame_flood),
    8: ("idle-connections", idle_connections),
    9: ("tls-silent", tls_silent),
    10: ("cluster-split-id", cluster_split_id),
    11: ("framing", framing),
}
