"""The baselines of the client scenarios: bare picows clients that send pre-encoded frames and match replies
by prefix, with no client library: the difference to `client_load` is what the ksps client costs."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from common import PAYLOAD, Setup
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

_PUBLISH = b'{"action":"publish","topic":"bench.pub","data":'
_REPLIES = (b'{"action":"ack_response"', b'{"action":"pong"', b'{"action":"subscribed"')


class RawClient(WSListener):
    """Answers every `publish_ack` it gets; `request` sends a frame and waits for the next reply; with
    `on_reply` set, each reply calls it instead (the pipelined requests of `ack -inflight N`)."""

    def __init__(self) -> None:
        self.waiter: asyncio.Future[None] | None = None
        self.transport: WSTransport | None = None
        self.on_reply: Callable[[], None] | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        payload = frame.get_payload_as_bytes()
        if payload.startswith(_REPLIES):
            if self.on_reply is not None:
                self.on_reply()
            elif self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(None)
        elif payload.startswith(b'{"action":"publish_ack"'):
            server_ack_id = json.loads(payload)["ack_id"]
            body = {"ack_id": server_ack_id, "client_id": "raw-sub", "success": True}
            reply = {"action": "ack", "ack_id": server_ack_id, "data": body}
            transport.send(WSMsgType.TEXT, json.dumps(reply).encode())

    async def request(self, frame: bytes) -> None:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.send(WSMsgType.TEXT, frame)
        await asyncio.wait_for(self.waiter, 10)


async def _connect(url: str, client_id: str) -> RawClient:
    _, listener = await ws_connect(RawClient, url)
    assert isinstance(listener, RawClient)
    await listener.request(json.dumps({"action": "ping", "from": client_id}).encode())
    return listener


def _disconnect(*clients: RawClient) -> None:
    for client in clients:
        if client.transport is not None:
            client.transport.disconnect()


async def publish(parser: argparse.ArgumentParser, argv: list[str]) -> Setup:
    """`publish` frames encoded per message with json.dumps and sent unpaced (a yield every 1,000, as the
    client's flow control would), then one `publish_with_ack` the server answers after them all."""
    parser.add_argument("-messages", type=int, default=200_000, help="publications")
    args = parser.parse_args(argv)
    publisher = await _connect(args.url, "raw-pub")
    assert publisher.transport is not None
    send = publisher.transport.send

    async def measure() -> dict[str, Any]:
        payload = dict(PAYLOAD)
        started = time.perf_counter()
        for n in range(args.messages):
            payload["seq"] = n
            send(WSMsgType.TEXT, _PUBLISH + json.dumps(payload).encode() + b"}")
            if n % 1000 == 0:
                await asyncio.sleep(0)
        await publisher.request(b'{"action":"publish_with_ack","topic":"bench.none","ack_id":"end","timeout":60000}')
        elapsed = time.perf_counter() - started
        return {"published": args.messages, "elapsed_s": elapsed, "publishes_per_s": args.messages / elapsed}

    async def close() -> None:
        _disconnect(publisher)

    return Setup({"messages": args.messages}, measure, close)


def _request(n: int) -> bytes:
    return b'{"action":"publish_with_ack","topic":"bench.rawack","data":%d,"ack_id":"c%d","timeout":10000}' % (n, n)


async def ack(parser: argparse.ArgumentParser, argv: list[str]) -> Setup:
    """`publish_with_ack` round trips between two bare clients (no handles, no callbacks): one at a time, or
    `-inflight` of them, a new request sent for each `ack_response`."""
    parser.add_argument("-count", type=int, default=5_000, help="round trips")
    parser.add_argument("-inflight", type=int, default=1, help="requests in flight")
    args = parser.parse_args(argv)
    subscriber = await _connect(args.url2 or args.url, "raw-sub")
    await subscriber.request(b'{"action":"subscribe","topic":"bench.rawack"}')
    publisher = await _connect(args.url, "raw-pub")

    async def pipelined() -> None:
        assert publisher.transport is not None
        send, issued, answered = publisher.transport.send, 0, 0
        done = asyncio.get_running_loop().create_future()

        def on_reply() -> None:
            nonlocal issued, answered
            answered += 1
            if issued < args.count:
                send(WSMsgType.TEXT, _request(issued))
                issued += 1
            elif answered == args.count and not done.done():
                done.set_result(None)

        publisher.on_reply = on_reply
        for _ in range(min(args.inflight, args.count)):
            send(WSMsgType.TEXT, _request(issued))
            issued += 1
        await asyncio.wait_for(done, 60)
        publisher.on_reply = None

    async def measure() -> dict[str, Any]:
        started = time.perf_counter()
        if args.inflight > 1:
            await pipelined()
        else:
            for n in range(args.count):
                await publisher.request(_request(n))
        elapsed = time.perf_counter() - started
        return {"completed": args.count, "failed": 0, "elapsed_s": elapsed, "round_trips_per_s": args.count / elapsed}

    async def close() -> None:
        _disconnect(publisher, subscriber)

    return Setup({"count": args.count}, measure, close)
