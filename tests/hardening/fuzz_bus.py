"""The fuzzers' test bed: one real server in a thread, a healthy bystander pair, and the fuzzed connection.

Hypothesis runs each example synchronously, so the server lives in its own event-loop thread and every
example hands its coroutine to that loop (`FuzzBus.run`). Beside the fuzzed connection, a healthy publisher
and subscriber exchange numbered messages, one per example: after the run the subscriber's stream must be
complete and in order (spec §4.3, §9.7: bad input never costs other users their messages). Every ERROR
record any logger emits meanwhile (ksps, picows, asyncio) is kept: a fuzzer run must leave none.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import struct
import threading
from collections.abc import Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
from hypothesis import HealthCheck, settings

from ksps import Server

from ..server.wire import Frame, WireClient, units
from .raw_frames import OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, ErrorLog, FuzzSocket, encode_frame

T = TypeVar("T")

#: Close codes a fuzzed connection may be closed with (spec §7.2 and the limits of spec §13): protocol error,
#: policy (rate limits), message too big, slow consumer, registration timeout. Never 1011 (a server bug).
DOCUMENTED_CLOSE_CODES = frozenset({1002, 1008, 1009, 4002, 4005})

#: Every action a server sends to a client (spec §3-§8); anything else on the wire is a bug.
SERVER_ACTIONS = frozenset(
    {
        "pong",
        "subscribed",
        "unsubscribed",
        "published",
        "publish",
        "direct_message",
        "publish_ack",
        "ack_response",
        "ack_progress",
        "ack_status",
        "ack_cancelled",
        "server_message_sent",
        "error",
    }
)


@dataclass
class Outcome:
    """What the server did with one fuzzed input: the frames it answered, or how it closed the connection."""

    frames: list[Frame] = field(default_factory=list)
    #: The close code (None when the connection stayed open; 1005 for a close frame without a code; 1006 for
    #: a connection dropped without any close frame).
    close_code: int | None = None
    close_reason: bytes = b""


class Bystanders:
    """A healthy publisher and subscriber: one numbered publication per example, checked at the end."""

    def __init__(self, publisher: WireClient, subscriber: WireClient, topic: str) -> None:
        self.publisher, self.subscriber, self.topic = publisher, subscriber, topic
        self.sent = 0
        self.received: list[Any] = []
        self._arrived = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, url: str) -> Bystanders:
        # Random names: the fuzzers cannot guess them, so nothing but our publisher's stream may reach them.
        tag = secrets.token_hex(6)
        publisher, subscriber = await WireClient.open(url), await WireClient.open(url)
        await publisher.register(f"healthy-pub-{tag}")
        await subscriber.register(f"healthy-sub-{tag}")
        topic = f"healthy-{tag}"
        await subscriber.subscribe(topic)
        return cls(publisher, subscriber, topic)

    async def _read(self) -> None:
        while True:
            self.received.append(await self.subscriber.recv(timeout=float("inf")))
            self._arrived.set()

    async def publish_next(self) -> None:
        """Publish the next number and wait for its `published` (the publisher gets nothing else)."""
        self.sent += 1
        await self.publisher.publish(self.topic, {"n": self.sent})

    async def check(self) -> None:
        """Every number published so far arrived exactly once, in order, and nothing else did."""
        expected = [
            {"action": "publish", "topic": self.topic, "data": {"data": {"n": n}, "from": self.publisher.id}}
            for n in range(1, self.sent + 1)
        ]
        async with asyncio.timeout(units(5)):
            while len(self.received) < len(expected) and not self._reader.done():
                self._arrived.clear()
                await self._arrived.wait()
        assert not self._reader.done() or self._reader.exception() is None, self._reader.exception()
        assert self.received == expected, f"bystander stream differs: {len(self.received)}/{len(expected)} frames"

    async def close(self) -> None:
        self._reader.cancel()
        await asyncio.wait([self._reader], timeout=units(2))
        await self.publisher.close()
        await self.subscriber.close()


class FuzzBus:
    """A server in a thread, its bystanders, and a fuzzed connection that is reopened after each close."""

    def __init__(self, loop: asyncio.AbstractEventLoop, server: Server, bystanders: Bystanders) -> None:
        self.loop, self.server, self.bystanders = loop, server, bystanders
        self.errors = ErrorLog()
        self.fuzzed: FuzzSocket | None = None
        self._syncs = 0

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coro` on the server's loop and return its result."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout if timeout is not None else units(15))

    async def connection(self) -> FuzzSocket:
        """The fuzzed connection (a new one, registered, when the last was closed)."""
        if self.fuzzed is None:
            fuzzed = await FuzzSocket.open("127.0.0.1", self.server.port, self.server.config.path)
            assert isinstance(fuzzed, FuzzSocket)
            # The fuzzed bytes and the sync ping go out in two writes: without this the second one waits for
            # the server's delayed ACK (Nagle), 40 ms an example.
            fuzzed.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._syncs += 1
            await fuzzed.send_json({"action": "ping", "from": f"fuzz-sync-{self._syncs}"})
            assert await fuzzed.read_json() == {"action": "pong", "id": f"fuzz-sync-{self._syncs}"}
            self.fuzzed = fuzzed
        return self.fuzzed

    def drop(self) -> None:
        """Close the fuzzed connection from our side: the next exchange starts on a fresh one."""
        if self.fuzzed is not None:
            self.fuzzed.close()
            self.fuzzed = None

    async def exchange(self, wire: bytes) -> Outcome:
        """Send raw bytes on the fuzzed connection, then a sync `ping`; collect what came back.

        The sync `ping` renames the connection to a fresh ID each time, so its `pong` cannot be mistaken for
        the answer to a fuzzed `ping` (spec §3.1). Meanwhile the bystanders exchange one more message.
        """
        fuzzed = await self.connection()
        self._syncs += 1
        sync_id = f"fuzz-sync-{self._syncs}"
        publishing = asyncio.ensure_future(self.bystanders.publish_next())
        outcome = Outcome()
        try:
            await fuzzed.send_bytes(wire)
            await fuzzed.send_bytes(encode_frame(msgspec.json.encode({"action": "ping", "from": sync_id})))
        except OSError:
            pass  # the server closed on the fuzzed bytes already: its close frame tells why
        await self._collect(fuzzed, outcome, {"action": "pong", "id": sync_id})
        await publishing
        return outcome

    async def _collect(self, fuzzed: FuzzSocket, outcome: Outcome, until: Frame) -> None:
        while True:
            try:
                frame = await fuzzed.read_frame(units(5))
            except (ConnectionError, OSError):
                frame = None
            if frame is None:
                outcome.close_code = outcome.close_code or 1006
                break
            opcode, payload = frame
            if opcode == OP_TEXT:
                message = msgspec.json.decode(payload)
                assert isinstance(message, dict), f"server sent a non-object: {payload!r}"
                if message == until:
                    return
                assert message.get("action") in SERVER_ACTIONS, f"server sent an unknown frame: {message}"
                outcome.frames.append(message)
            elif opcode == OP_CLOSE:
                outcome.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                outcome.close_reason = payload[2:]
                break
            else:
                assert opcode in (OP_PING, OP_PONG), f"server sent opcode {opcode}"
        fuzzed.close()
        self.fuzzed = None

    def begin(self) -> None:
        """Forget the errors logged before this test (each test answers for its own inputs)."""
        self.errors.records.clear()

    def check_healthy(self) -> None:
        """The bystanders' stream is complete and in order, and nothing logged an error."""
        self.run(self.bystanders.check())
        assert not self.errors.lines(), "the server logged errors:\n" + "\n".join(self.errors.lines()[:20])


def fuzz_settings(max_examples: int) -> settings:
    """Bounded and repeatable: a fixed number of examples, derandomized, no example database, no deadline
    (one example is a network round trip whose time depends on the machine, not on the input)."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=False,
    )


def check_closed_cleanly(outcome: Outcome, allowed: Sequence[int] = tuple(DOCUMENTED_CLOSE_CODES)) -> None:
    """A fuzzed connection either stayed open or was closed with a documented code (never 1011, spec §7.2)."""
    if outcome.close_code is not None:
        assert outcome.close_code in allowed, f"closed with {outcome.close_code} {outcome.close_reason!r}"


@contextmanager
def fuzz_bus(**options: Any) -> Iterator[FuzzBus]:
    """Start a server (ServerConfig `options`) in a thread with its bystanders; stop both on exit."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fuzz-server", daemon=True)
    thread.start()

    async def start() -> FuzzBus:
        server = Server(address="127.0.0.1:0", shutdown_grace=1.0, **options)
        await server.start()
        return FuzzBus(loop, server, await Bystanders.open(server.url))

    bus = asyncio.run_coroutine_threadsafe(start(), loop).result(units(10))
    root = logging.getLogger()
    root.addHandler(bus.errors)
    try:
        yield bus
    finally:
        root.removeHandler(bus.errors)

        async def stop() -> None:
            if bus.fuzzed is not None:
                bus.fuzzed.close()
            await bus.bystanders.close()
            await bus.server.stop()

        bus.run(stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(units(5))
        loop.close()
