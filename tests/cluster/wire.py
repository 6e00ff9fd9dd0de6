"""Raw WebSocket clients for the cluster suite (JSON frames of spec/protocol.md, no ksps client code).

Every wait is bounded by a multiple of one time unit, `KSPS_TEST_TIMEOUT_UNIT` seconds (default 1), so a slow
machine can be given more room without editing tests.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

from ..server.wire import UNIT, Frame, ms, units
from ..server.wire import WireClient as _ServerWireClient

__all__ = ["UNIT", "Frame", "Inbox", "WireClient", "delivery", "eventually", "ms", "unique", "units"]


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


class WireClient(_ServerWireClient):
    """The server suite's raw client, plus the verbs the cluster tests send, with room for Redis hops."""

    id: str

    async def recv(self, timeout: float | None = None) -> Frame:
        """The next frame: one JSON object in a text frame (spec §1.3); waits up to 3 units by default."""
        return await super().recv(timeout if timeout is not None else units(3))

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
