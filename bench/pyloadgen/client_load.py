"""Load from the ksps Python client (src/ksps/client): what one client process achieves against the server.

The publisher and, for acks and latency, the subscriber are two clients in this one process (as an
application would run them), so the load generator's CPU covers both ends.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from common import PAYLOAD, Setup, address_of, percentile

from ksps.client import Client


async def _client(url: str, client_id: str) -> Client:
    return await Client.connect(address=address_of(url), id=client_id)


async def publish(parser: argparse.ArgumentParser, argv: list[str]) -> Setup:
    """`publish` as fast as one client goes, then one `publish_with_ack` that the server handles after them all."""
    parser.add_argument("-messages", type=int, default=200_000, help="publications")
    args = parser.parse_args(argv)
    publisher = await _client(args.url, "bench-publisher")

    async def measure() -> dict[str, Any]:
        payload = dict(PAYLOAD)
        started = time.perf_counter()
        for n in range(args.messages):
            payload["seq"] = n
            await publisher.publish("bench.pub", payload)
        trailing = await publisher.publish_with_ack("bench.none", None, 60)  # answered after all of them
        await trailing.wait()
        elapsed = time.perf_counter() - started
        return {"published": args.messages, "elapsed_s": elapsed, "publishes_per_s": args.messages / elapsed}

    return Setup({"messages": args.messages}, measure, publisher.close)


async def ack(parser: argparse.ArgumentParser, argv: list[str]) -> Setup:
    """`publish_with_ack` to a topic one subscribing client answers (its callback returns at once), with
    `-inflight` tasks each looping publish_with_ack + wait."""
    parser.add_argument("-inflight", type=int, default=1, help="requests in flight")
    parser.add_argument("-count", type=int, default=5_000, help="round trips in all")
    args = parser.parse_args(argv)
    subscriber = await _client(args.url2 or args.url, "bench-subscriber")
    await subscriber.subscribe("bench.ack", lambda message, unsubscribe: None)
    publisher = await _client(args.url, "bench-publisher")
    share = max(1, args.count // args.inflight)
    failed = 0

    async def worker() -> None:
        nonlocal failed
        for n in range(share):
            handle = await publisher.publish_with_ack("bench.ack", n, 10)
            if not await handle.wait():
                failed += 1

    async def measure() -> dict[str, Any]:
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.inflight)))
        elapsed = time.perf_counter() - started
        completed = share * args.inflight
        return {
            "completed": completed,
            "failed": failed,
            "elapsed_s": elapsed,
            "round_trips_per_s": (completed - failed) / elapsed,
        }

    async def close() -> None:
        await publisher.close()
        await subscriber.close()

    # The first request also proves the subscription is in place (on another node: has reached this one).
    handle = await publisher.publish_with_ack("bench.ack", "probe", 10)
    if not await handle.wait():
        raise SystemExit("pyloadgen client-ack: the probe request was not acknowledged")
    return Setup({"inflight": args.inflight, "count": share * args.inflight}, measure, close)


async def latency(parser: argparse.ArgumentParser, argv: list[str]) -> Setup:
    """Publish one message, wait for the subscribing client's callback, repeat: publish-to-callback latency."""
    parser.add_argument("-count", type=int, default=5_000, help="samples")
    args = parser.parse_args(argv)
    subscriber = await _client(args.url2 or args.url, "bench-subscriber")
    publisher = await _client(args.url, "bench-publisher")
    delivered: asyncio.Queue[float] = asyncio.Queue()
    probed = asyncio.Event()

    def on_message(message: Any, unsubscribe: Any) -> None:
        if message["data"] == "probe":
            probed.set()
        else:
            delivered.put_nowait(time.perf_counter())

    await subscriber.subscribe("bench.lat", on_message)
    # Probes until one arrives: on another node the subscription has then reached the publisher's.
    while not probed.is_set():
        await publisher.publish("bench.lat", "probe")
        try:
            await asyncio.wait_for(probed.wait(), 0.05)
        except TimeoutError:
            continue

    async def measure() -> dict[str, Any]:
        samples = []
        for n in range(args.count):
            sent = time.perf_counter()
            await publisher.publish("bench.lat", n)
            samples.append(await asyncio.wait_for(delivered.get(), 10) - sent)
        samples.sort()
        return {
            "samples": len(samples),
            "p50_us": percentile(samples, 0.5) * 1e6,
            "p99_us": percentile(samples, 0.99) * 1e6,
        }

    async def close() -> None:
        await publisher.close()
        await subscriber.close()

    return Setup({"count": args.count}, measure, close)
