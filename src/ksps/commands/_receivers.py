"""The subscribers of `ksps bench`: bare picows connections that only read each delivery's send time.

The deliveries are most of the work of a fan-out run, so the subscribers skip the full client (JSON decoding,
routing, callbacks: ~8 µs a delivery) and find the `"ts":"<ns>"` stamp in the raw frame, as the Go load
generator does (bench/loadgen/latency.go). Registration and subscription follow spec §3.1 and §4.1.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from picows import WSCloseCode, WSError, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from ._target import EXIT_AUTH, EXIT_CONNECT, CommandFailed, Target

__all__ = ["Receiver", "open_receiver"]

_STAMP = b'"ts":"'
#: Seconds allowed for the handshake, the registration and the subscription of one connection.
SETUP_TIMEOUT = 10.0


class Receiver(WSListener):
    """One subscribing connection: `on_stamp(stamp_ns)` for each delivery, `on_lost()` if it drops."""

    def __init__(self, *, client_id: str, topic: str, on_stamp: Callable[[int], None],
                 on_lost: Callable[[str], None]) -> None:
        self._id = client_id
        self._topic = topic
        self._on_stamp = on_stamp
        self._on_lost = on_lost
        self._transport: WSTransport | None = None
        self._closing = False
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_ws_connected(self, transport: WSTransport) -> None:
        """picows: register (spec §3.1); the subscription follows the pong."""
        self._transport = transport
        transport.send(WSMsgType.TEXT, json.dumps({"action": "ping", "from": self._id}).encode())

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        """picows: a delivery (the hot path: find the stamp, nothing else), or a setup reply."""
        if frame.msg_type is WSMsgType.CLOSE:
            code = frame.get_close_code()
            self._closed(int(code.value), frame.get_close_message().decode("utf-8", "replace"))
            return
        payload = frame.get_payload_as_bytes()
        if self.ready.done():
            start = payload.find(_STAMP) + len(_STAMP)
            stamp = payload[start:payload.find(b'"', start)] if start >= len(_STAMP) else b""
            if stamp.isdigit():  # else another publisher's data on the bench topic
                self._on_stamp(int(stamp))
            return
        self._setup(transport, payload)

    def _setup(self, transport: WSTransport, payload: bytes) -> None:
        try:
            reply = json.loads(payload)
        except ValueError:
            return
        action = reply.get("action") if isinstance(reply, dict) else None
        if action == "pong":
            transport.send(WSMsgType.TEXT, json.dumps({"action": "subscribe", "topic": self._topic}).encode())
        elif action == "subscribed":
            self.ready.set_result(None)
        elif action == "error":
            self.ready.set_exception(CommandFailed(f"the server refused: {reply.get('error')}", code=1))

    def _closed(self, code: int, reason: str) -> None:
        if not self.ready.done():
            failure = EXIT_AUTH if code in (4003, 4004) else EXIT_CONNECT
            self.ready.set_exception(CommandFailed(f"the server closed the connection: {code} {reason}",
                                                   code=failure))
        elif not self._closing:
            self._closing = True
            self._on_lost(f"connection lost: {code} {reason}")

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        """picows: the socket is gone."""
        self._closed(1006, "")

    async def close(self) -> None:
        """Close the connection and wait until the socket is gone."""
        self._closing = True
        transport = self._transport
        if transport is not None and not transport.is_disconnected:
            transport.send_close(WSCloseCode.OK)
            transport.disconnect()
            await transport.wait_disconnected()


async def open_receiver(target: Target, receiver: Receiver) -> Receiver:
    """Connect, register and subscribe `receiver`; CommandFailed says why it could not."""
    ssl_context = target.client_options().get("ssl_context")
    try:
        await asyncio.wait_for(_open(target, receiver, ssl_context), SETUP_TIMEOUT)
    except (OSError, WSError, TimeoutError) as exc:
        await receiver.close()
        raise CommandFailed(f"cannot connect to {target.url}: {exc or 'timed out'}", code=EXIT_CONNECT) from exc
    except CommandFailed:
        await receiver.close()
        raise
    return receiver


async def _open(target: Target, receiver: Receiver, ssl_context: object) -> None:
    await ws_connect(lambda: receiver, target.url, ssl_context=ssl_context)  # type: ignore[arg-type]
    await receiver.ready
