"""Raw WebSocket clients for the cluster suite (JSON frames of spec/protocol.md, no ksps client code).

Every wait is bounded by a multiple of one time unit, `KSPS_TEST_TIMEOUT_UNIT` seconds (default 1), so a slow
machine can be given more room without editing tests.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

#: Seconds of one time unit; every timeout in the cluster tests is a multiple of it.
UNIT = float(os.environ.get("KSPS_TEST_TIMEOUT_UNIT", "1"))

Frame = dict[str, Any]


def units(n: float = 1.0) -> float:
    """`n` time units, in seconds."""
    return n * UNIT


def ms(seconds: float) -> int:
    """Seconds as the integer milliseconds of the `timeout` member (spec §6.2)."""
    return round(seconds * 1000)


def unique(label: str) -> str:
    """A name no other test uses: client IDs are cluster-wide (spec §3.3), so tests must not share them."""
    return f"{label}-{secrets.token_hex(4)}"


async def eventually(check: Callable[[], Any], expected: Any, timeout: float | None = None, what: str = "") -> None:
    """Wait until `check()` equals `expected` (state that converges over Redis); fail with the last value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (timeout if timeout is not None else units(5))
    while (value := check()) != expected:
        if loop.time() > deadline:
            raise AssertionError(f"{what or 'value'} did not converge: {value!r} != {expected!r}")
        await asyncio.sleep(0.01)  # polling a condition, not waiting for time to pass


class WireClient:
    """One WebSocket connection that sends and receives JSON frames."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        #: The ID the server confirmed in its last `pong`.
        self.id: str = ""

    @classmethod
    async def open(cls, url: str, **options: Any) -> WireClient:
        options.setdefault("proxy", None)
        options.setdefault("compression", None)
        options.setdefault("open_timeout", units(5))
        options.setdefault("close_timeout", units(2))
        return cls(await connect(url, **options))

    async def send(self, frame: Frame) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float | None = None) -> Frame:
        """The next frame: one JSON object in a text frame (spec §1.3)."""
        message = await asyncio.wait_for(self.ws.recv(), timeout if timeout is not None else units(3))
        assert isinstance(message, str), f"server sent a binary frame: {message!r}"
        frame = json.loads(message)
        assert isinstance(frame, dict), f"server sent a non-object: {message}"
        return frame

    async def expect(self, action: str, timeout: float | None = None, **fields: Any) -> Frame:
        """The next frame, asserted to have `action` and the given members."""
        frame = await self.recv(timeout)
        assert frame.get("action") == action, f"{self.id}: expected {action!r} with {fields}, got {frame}"
        for key, value in fields.items():
            assert frame.get(key) == value, f"{self.id}: expected {key}={value!r} in {frame}"
        return frame

    async def sync(self) -> list[Frame]:
        """Round-trip a `ping`; returns the frames that arrived before its `pong` (spec §4.3 keeps order)."""
        await self.send({"action": "ping", "from": self.id})
        before: list[Frame] = []
        while (frame := await self.recv()) != {"action": "pong", "id": self.id}:
            before.append(frame)
        return before

    async def closed(self, timeout: float | None = None) -> tuple[int | None, str | None]:
        """Wait for the server to close the connection; returns its (close code, reason)."""
        try:
            async with asyncio.timeout(timeout if timeout is not None else units(3)):
                while True:
                    await self.ws.recv()
        except ConnectionClosed:
            pass
        return self.ws.close_code, self.ws.close_reason

    # -- verbs -----------------------------------------------------------------------------------------

    async def register(self, client_id: str) -> str:
        await self.send({"action": "ping", "from": client_id})
        self.id = (await self.expect("pong", id=client_id))["id"]
        return self.id

    async def subscribe(self, topic: str) -> None:
        await self.send({"action": "subscribe", "topic": topic})
        await self.expect("subscribed", topic=topic)

    async def publish(self, topic: str, data: Any) -> None:
        """Publish and wait for `published` (the client must not be subscribed to `topic`)."""
        await self.send({"action": "publish", "topic": topic, "data": data})
        await self.expect("published", topic=topic)

    async def direct(self, to: str, data: Any) -> None:
        await self.send({"action": "direct_message", "to": to, "data": data})

    async def publish_with_ack(self, topic: str, data: Any, ack_id: str, timeout: float) -> None:
        """`publish_with_ack` as our clients send it: with `timeout` and `progress` (spec §6.2, §6.3)."""
        await self.send(
            {
                "action": "publish_with_ack",
                "topic": topic,
                "data": data,
                "ack_id": ack_id,
                "timeout": ms(timeout),
                "progress": True,
            }
        )

    async def publish_to_id_with_ack(self, to: str, data: Any, ack_id: str, timeout: float) -> None:
        await self.send(
            {
                "action": "publish_to_id_with_ack",
                "to": to,
                "data": data,
                "ack_id": ack_id,
                "timeout": ms(timeout),
                "progress": True,
            }
        )

    async def ack(self, server_ack_id: str, success: bool = True, error: str = "") -> None:
        """Answer a `publish_ack` the way every ksps client does (spec §6.1)."""
        data: Frame = {"ack_id": server_ack_id, "client_id": self.id, "success": success}
        if error:
            data["error"] = error
        await self.send({"action": "ack", "ack_id": server_ack_id, "data": data})

    async def close(self) -> None:
        await self.ws.close()


def delivery(topic: str, data: Any, sender: str) -> Frame:
    """The frame a subscriber gets for a publication (spec §4.2)."""
    return {"action": "publish", "topic": topic, "data": {"data": data, "from": sender}}


class Inbox:
    """Collects what a server-side callback (Subscribe, OnID) receives; tests await it."""

    def __init__(self, fail_with: str = "") -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.fail_with = fail_with

    def __call__(self, message: Any, unsub: Any = None) -> None:
        self.queue.put_nowait(message)
        if self.fail_with:
            raise RuntimeError(self.fail_with)

    async def get(self, timeout: float | None = None) -> Any:
        return await asyncio.wait_for(self.queue.get(), timeout if timeout is not None else units(3))
