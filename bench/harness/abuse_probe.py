"""What bench/abuse.py measures with: a `ksps serve` subprocess, its RSS and fds, a bystander's ping round
trip, and a hand-made WebSocket client that can break every rule (RFC 6455) and read only when told to."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import secrets
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def frame(payload: bytes, opcode: int = OP_TEXT, *, fin: bool = True, rsv: int = 0, mask: bool = True) -> bytes:
    """One client frame as bytes (RFC 6455 §5.2), valid unless the caller asks otherwise."""
    first = (0x80 if fin else 0) | (rsv & 7) << 4 | opcode
    bit, n = (0x80 if mask else 0), len(payload)
    if n < 126:
        header = bytes((first, bit | n))
    elif n < 65536:
        header = bytes((first, bit | 126)) + struct.pack("!H", n)
    else:
        header = bytes((first, bit | 127)) + struct.pack("!Q", n)
    if not mask:
        return header + payload
    key = secrets.token_bytes(4)
    stream = (key * (n // 4 + 1))[:n]
    return header + key + (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def text(message: dict[str, Any]) -> bytes:
    return frame(json.dumps(message).encode())


class ServerProcess:
    """`python -m ksps serve` on a free loopback port; its log lines are collected by a thread."""

    def __init__(self, extra: Sequence[str] = (), port: int = 0) -> None:
        self.port = port or free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("KSPS_")}
        command = [sys.executable, "-m", "ksps", "serve", "--address", f"127.0.0.1:{self.port}"]
        self.process = subprocess.Popen(
            [*command, "--log-level", "info", *extra],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip())
            if "listening on" in line:
                self._ready.set()
        self._ready.set()

    def wait_ready(self, timeout: float = 15.0) -> ServerProcess:
        if not self._ready.wait(timeout) or self.process.poll() is not None:
            raise RuntimeError("ksps serve did not start:\n" + "\n".join(self.lines[-20:]))
        return self

    def matching(self, pattern: str) -> list[str]:
        return [line for line in list(self.lines) if re.search(pattern, line)]

    def count(self, pattern: str) -> int:
        """Events whose warning matches `pattern`, counting those a throttled line reports as `(and N more)`."""
        lines = self.matching(pattern)
        return len(lines) + sum(int(m.group(1)) for line in lines if (m := re.search(r"\(and (\d+) more", line)))

    def rss_mb(self) -> float:
        with contextlib.suppress(OSError), open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def fds(self) -> int:
        try:
            return len(os.listdir(f"/proc/{self.process.pid}/fd"))
        except OSError:
            return 0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Sampler:
    """Samples a server's RSS and fds every 50 ms while running."""

    server: ServerProcess
    peak_rss: float = 0.0
    peak_fds: int = 0

    async def run(self) -> None:
        while True:
            self.peak_rss = max(self.peak_rss, self.server.rss_mb())
            self.peak_fds = max(self.peak_fds, self.server.fds())
            await asyncio.sleep(0.05)  # a sampling period


class RawWS:
    """A WebSocket client on asyncio streams: sends whatever it is given, reads only when asked."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int, *, receive_buffer: int = 0, path: str = "/ws/bus") -> RawWS:
        sock = socket.socket()
        if receive_buffer:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=2**20)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        if not head.startswith(b"HTTP/1.1 101"):
            writer.close()
            raise ConnectionRefusedError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_frame(self, timeout: float = 5.0) -> tuple[int, bytes] | None:
        """The next (opcode, payload), or None at end of stream."""
        try:
            async with asyncio.timeout(timeout):
                head = await self.reader.readexactly(2)
                n = head[1] & 0x7F
                if n == 126:
                    n = struct.unpack("!H", await self.reader.readexactly(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", await self.reader.readexactly(8))[0]
                return head[0] & 0x0F, await self.reader.readexactly(n)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None

    async def read_json(self, timeout: float = 5.0) -> dict[str, Any]:
        while True:
            got = await self.read_frame(timeout)
            if got is None:
                raise ConnectionError("closed")
            if got[0] == OP_TEXT:
                return dict(json.loads(got[1]))
            if got[0] == OP_CLOSE:
                raise ConnectionError(f"closed {close_code(got[1])}")

    async def register(self, client_id: str) -> None:
        await self.send(text({"action": "ping", "from": client_id}))
        while (await self.read_json()).get("action") != "pong":
            pass

    async def ending(self, timeout: float, max_bytes: int = 64 * 2**20) -> str:
        """Read until the server's close frame or end of stream: "close <code> <reason>", "reset" or "open"."""
        seen = 0
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0 and seen < max_bytes:
            try:
                got = await self.read_frame(left)
            except TimeoutError:
                return "open"
            if got is None:
                return "reset"
            seen += len(got[1])
            if got[0] == OP_CLOSE:
                return f"close {close_code(got[1])} {got[1][2:].decode(errors='replace')}".strip()
        return "open"

    def abort(self) -> None:
        transport = self.writer.transport
        if not transport.is_closing():
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()


def close_code(payload: bytes) -> int | None:
    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None


@dataclass
class Bystander:
    """A registered client that pings (a `ping` frame, answered by `pong`) every 20 ms and times each."""

    rtts: list[float] = field(default_factory=list)
    timeouts: int = 0

    async def run(self, port: int) -> None:
        ws = await RawWS.open(port)
        await ws.register("bystander")
        ping = text({"action": "ping", "from": "bystander"})
        try:
            while True:
                started = time.perf_counter()
                await ws.send(ping)
                try:
                    while (await ws.read_json(timeout=2.0)).get("action") != "pong":
                        pass
                    self.rtts.append(time.perf_counter() - started)
                except TimeoutError:
                    self.timeouts += 1
                await asyncio.sleep(0.02)  # the ping period
        finally:
            ws.abort()

    def percentiles(self) -> tuple[float | None, float | None]:
        if not self.rtts:
            return None, None
        ordered = sorted(self.rtts)
        return ordered[len(ordered) // 2] * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


@contextlib.asynccontextmanager
async def background(*coroutines: Any) -> AsyncIterator[None]:
    """Run coroutines as tasks for the duration of the block; cancel them after."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
