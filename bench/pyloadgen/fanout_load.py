"""Fan-out with Python subscribers (bare picows clients in subscriber processes that only count frames): the
cross-check of the Go load generator's `fanout`, and with -url2 the cluster fan-out (the subscriber processes
alternate between the two nodes, the publisher is on the first: half the deliveries cross Redis).

The publisher keeps at most `-window` publications in flight, counted by its own subscription.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import time
from typing import Any

from common import Setup
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

PAYLOAD = json.dumps({"sensor": "t-1", "value": 21.5, "unit": "C", "seq": 0, "pad": "x" * 40})
_PUBLICATION = b'{"action":"publish"'
_PROBE = b'"probe"'


class Counter(WSListener):
    """Counts deliveries (not the probes); the first two replies (pong, subscribed) mark it ready."""

    #: Cross-node runs only: tell the probe publications apart (a search per frame, so not by default).
    probing = False

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.replies = 0
        self.count = 0
        self.target = 0
        self.moved: asyncio.Event | None = None
        self.ready: asyncio.Future[None] = loop.create_future()
        self.probed: asyncio.Future[None] = loop.create_future()
        self.done: asyncio.Future[float] = loop.create_future()

    async def progress(self) -> None:
        """Wait until at least one more delivery arrived."""
        self.moved = asyncio.Event()
        await self.moved.wait()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        payload = frame.get_payload_as_bytes()
        if payload.startswith(_PUBLICATION):
            if self.probing and _PROBE in payload:
                if not self.probed.done():
                    self.probed.set_result(None)
                return
            self.count += 1
            if self.moved is not None:
                self.moved.set()
            if self.count == self.target and not self.done.done():
                self.done.set_result(time.monotonic())
        else:
            self.replies += 1
            if self.replies == 2 and not self.ready.done():
                self.ready.set_result(None)


async def _connect(url: str, name: str) -> tuple[WSTransport, Counter]:
    transport, listener = await ws_connect(Counter, url)
    assert isinstance(listener, Counter)
    transport.send(WSMsgType.TEXT, json.dumps({"action": "ping", "from": name}).encode())
    transport.send(WSMsgType.TEXT, b'{"action":"subscribe","topic":"bench"}')
    await asyncio.wait_for(listener.ready, 10)
    return transport, listener


def subscriber_process(url: str, count: int, offset: int, messages: int, probe: bool, ready: Any, results: Any) -> None:
    """A process of `count` subscribers: says ready (after a probe publication reached each, with `probe`),
    then reports (time of its last expected delivery, deliveries, its CPU seconds since ready)."""

    Counter.probing = probe

    async def run() -> None:
        clients = [await _connect(url, f"sub-{offset + i}") for i in range(count)]
        for _, listener in clients:
            listener.target = messages
        if probe:
            await asyncio.wait_for(asyncio.gather(*(c.probed for _, c in clients)), 30)
        ready.put(count)
        cpu_at_ready = time.process_time()
        finished = await asyncio.wait_for(asyncio.gather(*(c.done for _, c in clients)), 120)
        results.put((max(finished), sum(c.count for _, c in clients), time.process_time() - cpu_at_ready))
        for transport, _ in clients:
            transport.disconnect()

    asyncio.run(run())


async def fanout(parser: argparse.ArgumentParser, argv: list[str]) -> Setup:
    """1 publisher -> N subscribers (the publisher's own subscription included) in subscriber processes."""
    parser.add_argument("-subscribers", type=int, default=100, help="subscribers, the publisher's own included")
    parser.add_argument("-messages", type=int, default=20_000, help="publications")
    parser.add_argument("-window", type=int, default=200, help="publications in flight")
    parser.add_argument("-procs", type=int, default=2, help="subscriber processes")
    args = parser.parse_args(argv)
    urls = [args.url, args.url2] if args.url2 else [args.url]
    probe = Counter.probing = bool(args.url2)
    context = mp.get_context("spawn")
    ready, results = context.Queue(), context.Queue()
    subscribers = args.subscribers - 1
    shares = [subscribers // args.procs + (1 if i < subscribers % args.procs else 0) for i in range(args.procs)]
    processes = [
        context.Process(
            target=subscriber_process,
            args=(urls[i % len(urls)], n, sum(shares[:i]), args.messages, probe, ready, results),
            daemon=True,
        )
        for i, n in enumerate(shares)
    ]
    for process in processes:
        process.start()
    transport, me = await _connect(args.url, "publisher")
    me.target = args.messages
    loop = asyncio.get_running_loop()
    waiting = [loop.run_in_executor(None, ready.get, True, 60) for _ in processes]
    while probe and not all(future.done() for future in waiting):
        transport.send(WSMsgType.TEXT, b'{"action":"publish","topic":"bench","data":"probe"}')
        await asyncio.wait(waiting, timeout=0.02)
    await asyncio.gather(*waiting)
    frame = json.dumps({"action": "publish", "topic": "bench", "data": json.loads(PAYLOAD)}, separators=(",", ":"))

    async def measure() -> dict[str, Any]:
        encoded = frame.encode()
        start = time.monotonic()
        sent = 0
        while sent < args.messages:
            while sent - me.count >= args.window:
                await me.progress()
            burst = min(args.window - (sent - me.count), args.messages - sent)
            for _ in range(burst):
                transport.send(WSMsgType.TEXT, encoded)
            sent += burst
            await asyncio.sleep(0)
        await asyncio.wait_for(me.done, 120)
        outcomes = [await loop.run_in_executor(None, results.get, True, 180) for _ in processes]
        delivered = sum(n for _, n, _ in outcomes) + args.messages
        elapsed = max(t for t, _, _ in outcomes) - start
        return {
            "deliveries": delivered,
            "expected": args.messages * args.subscribers,
            "elapsed_s": elapsed,
            "deliveries_per_s": delivered / elapsed,
            "timed_out": False,
            "subprocess_cpu_s": sum(cpu for _, _, cpu in outcomes),
        }

    async def close() -> None:
        transport.disconnect()
        for process in processes:
            process.join(10)

    return Setup({"subscribers": args.subscribers, "processes": args.procs, "nodes": len(urls)}, measure, close)
