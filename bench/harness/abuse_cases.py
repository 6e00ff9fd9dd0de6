"""The connection-level abuse cases of issue 11's table (rows 1-3, 7-9, 11), bounded in time and count.

Each case abuses the server of its `Env` and returns how the abuser ended ("close <code> <reason>", "reset",
"open"), after how many seconds, and figures of its own (`extra`); it closes its connections before
returning, so that the runner's "after" figures show what the server kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .abuse_probe import OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_TEXT, RawWS, ServerProcess, frame, text

if TYPE_CHECKING:
    from .abuse_broker import RedisProcess


@dataclass
class Env:
    """What a case gets: the server under abuse, its time and count budget, the Redis of row 10."""

    server: ServerProcess
    #: Seconds of abuse, and a count scale (1.0 full, smaller with --quick).
    seconds: float
    scale: float
    redis: RedisProcess | None = None


@dataclass
class Outcome:
    """How the abuser ended, after how many seconds, and the case's own figures."""

    abuser: str = "open"
    closed_after_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


async def flood(ws: RawWS, batch: bytes, env: Env, *, rss_cap_mb: float = 1500.0) -> tuple[str, float | None, int]:
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
    ending, after, batches = await flood(ws, frame(b"p" * 125, OP_PING) * 1000, env)
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
        ending, after, batches = await flood(ws, frame(body, OP_CONT, fin=False) * 1000, half)
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


async def frame_flood(env: Env) -> Outcome:
    """Row 7: an unpaced flood of small frames that get no reply (direct messages to nobody)."""
    ws = await RawWS.open(env.server.port)
    await ws.register("flooder")
    watch = asyncio.ensure_future(ws.ending(env.seconds + 2))
    started = time.monotonic()
    ending, after, batches = await flood(ws, text({"action": "direct_message", "to": "nobody", "data": 1}) * 1000, env)
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
