"""What the transport hardening tests share: a bystander that keeps measuring, raw frames, RSS and fds.

Servers run in this process (`serve_for_tests`), so the RSS and open files of the test process bound the
server's. Every wait is a multiple of the time unit of `tests/server/wire.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from ksps import Server
from ksps.testing import serve_for_tests
from tests.server.wire import RawSocket, WireClient, units

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def frame(payload: bytes = b"", opcode: int = OP_TEXT, *, fin: bool = True, rsv: int = 0) -> bytes:
    """One masked client frame, bytes as given; `rsv` is the 3 RSV bits (RFC 6455 §5.2). Mask key 0 keeps
    the payload readable and is as valid as any other."""
    first = (0x80 if fin else 0) | (rsv & 0x7) << 4 | opcode
    length = len(payload)
    if length < 126:
        header = bytes((first, 0x80 | length))
    elif length < 65536:
        header = bytes((first, 0x80 | 126)) + struct.pack("!H", length)
    else:
        header = bytes((first, 0x80 | 127)) + struct.pack("!Q", length)
    return header + b"\0\0\0\0" + payload


def rss_bytes() -> int:
    """Resident memory of this process (and of the in-process server), from /proc/self/status."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def open_fds() -> int:
    """File descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


async def open_abuser(server: Server, receive_buffer: int = 4096) -> RawSocket:
    """An upgraded raw socket that reads only when told to, with a small kernel receive buffer."""
    return await RawSocket.open("127.0.0.1", server.port, server.config.path, receive_buffer=receive_buffer)


async def send_raw(raw: RawSocket, data: bytes) -> None:
    """Send bytes as they are, waiting until the kernel took them all."""
    await asyncio.get_running_loop().sock_sendall(raw.sock, data)


async def push(raw: RawSocket, chunk: bytes, *, limit: int, stall: float) -> tuple[int, bool]:
    """Send `chunk` again and again until `limit` bytes went out or one send waits `stall` seconds.

    Returns (bytes sent, whether sending stalled): a stall means the server stopped reading. A stalled send
    may leave half a frame behind; the caller only reads after it.
    """
    loop, sent = asyncio.get_running_loop(), 0
    while sent < limit:
        try:
            await asyncio.wait_for(loop.sock_sendall(raw.sock, chunk), stall)
        except TimeoutError:
            return sent, True
        except (BrokenPipeError, ConnectionResetError):
            return sent, False
        sent += len(chunk)
    return sent, False


async def close_code(raw: RawSocket, timeout: float | None = None) -> tuple[int | None, bytes]:
    """Read until the server drops the connection; its (close code, reason), or (None, why) if the server
    dropped the connection before its close frame."""
    try:
        _, code, reason = await raw.read_to_end(timeout=timeout if timeout is not None else units(3))
    except (ConnectionResetError, BrokenPipeError):
        return None, b"reset"
    except AssertionError:  # `read_frame`: the stream ended inside a frame
        return None, b"dropped"
    return code, reason


@dataclass
class Bystander:
    """A healthy subscriber and publisher that keep round-tripping while an abuse runs.

    Every round publishes a numbered message and pings; the round trip of the ping is recorded, and every
    message must arrive, in order.
    """

    subscriber: WireClient
    publisher: WireClient
    round_trips: list[float] = field(default_factory=list)
    delivered: list[int] = field(default_factory=list)
    sent: int = 0

    async def round(self) -> None:
        """One publication and one ping round trip."""
        started = time.perf_counter()
        await self.publisher.send({"action": "publish", "topic": "bystander", "data": self.sent})
        self.sent += 1
        before = await self.subscriber.sync()
        self.round_trips.append(time.perf_counter() - started)
        self.delivered += [f["data"]["data"] for f in before if f.get("action") == "publish"]

    async def finish(self) -> None:
        """Wait for the last deliveries and check nothing was lost or reordered."""
        await self.publisher.sync()
        self.delivered += [f["data"]["data"] for f in await self.subscriber.sync() if f.get("action") == "publish"]
        assert self.delivered == list(range(self.sent)), f"bystander lost messages: {self.delivered[-5:]}"

    @property
    def worst(self) -> float:
        """The longest round trip seen, in seconds."""
        return max(self.round_trips)


@contextlib.asynccontextmanager
async def bystander_running(server: Server) -> AsyncIterator[Bystander]:
    """A bystander doing rounds in the background for as long as the block runs; checked at the end."""
    subscriber = await WireClient.open(server.url)
    publisher = await WireClient.open(server.url)
    await subscriber.register("bystander-sub")
    await publisher.register("bystander-pub")
    await subscriber.subscribe("bystander")
    bystander = Bystander(subscriber, publisher)
    await bystander.round()
    stop = asyncio.Event()

    async def rounds() -> None:
        while not stop.is_set():
            await bystander.round()

    task = asyncio.create_task(rounds())
    try:
        yield bystander
    finally:
        stop.set()
        await asyncio.wait_for(task, units(5))
    await bystander.round()
    await bystander.finish()
    await subscriber.close()
    await publisher.close()


@contextlib.asynccontextmanager
async def serving(**options: Any) -> AsyncIterator[Server]:
    """An in-process server on a free loopback port with these `ServerConfig` options."""
    async with serve_for_tests(**options) as server:
        yield server
