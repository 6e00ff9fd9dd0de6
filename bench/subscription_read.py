"""CPU per message read from a Redis subscription: redis-py's `PubSub.listen()` vs ksps' own reader (issue 15).

    python bench/subscription_read.py [--messages 20000] [--runs 5] [--size 120]

Starts a throwaway `redis-server`, subscribes with each reader in turn (interleaved, `--runs` times), and has a
separate process publish `--messages` payloads of `--size` bytes in pipelined batches of 50 (as a busy peer
node would). Prints, per reader, the CPU time of this process (the reader alone: the publisher is another
process) per message received, min and median of the runs, and the ratio of medians.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import redis.asyncio as aioredis

from ksps.cluster.subscription import subscribe
from ksps.testing import free_port

CHANNEL = "bench:sub"

#: The publisher, run as `python -c`: pipelined PUBLISH commands in batches of 50 over one raw socket.
PUBLISHER = """
import socket, sys
port, count, size = map(int, sys.argv[1:4])
payload = b"x" * size
command = b"*3\\r\\n$7\\r\\nPUBLISH\\r\\n$9\\r\\nbench:sub\\r\\n$%d\\r\\n%s\\r\\n" % (size, payload)
with socket.create_connection(("127.0.0.1", port)) as s:
    sent = 0
    while sent < count:
        n = min(50, count - sent)
        s.sendall(command * n)
        expected, got = n, b""
        while got.count(b"\\r\\n") < expected:
            got += s.recv(65536)
        sent += n
"""


async def _measure(port: int, count: int, size: int, reader: str) -> tuple[float, float]:
    """(CPU µs per message in this process, wall seconds) for `count` messages read by `reader`."""
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{port}")
    received = 0
    done = asyncio.Event()

    def on_message(payload: bytes) -> None:
        nonlocal received
        received += 1
        if received == count:
            done.set()

    close: Callable[[], object]
    if reader == "ksps":
        subscription = await subscribe(client, [CHANNEL], on_message, timeout=5)
        subscription.start()
        close = subscription.close
        listener: asyncio.Task[None] | None = None
    else:
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(CHANNEL)

        async def listen() -> None:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    on_message(message["data"])

        listener = asyncio.get_running_loop().create_task(listen())
        close = pubsub.aclose
    await asyncio.sleep(0.2)  # let the subscription settle
    cpu, wall = time.process_time(), time.perf_counter()
    publisher = await asyncio.create_subprocess_exec(sys.executable, "-c", PUBLISHER, str(port), str(count), str(size))
    await asyncio.wait_for(done.wait(), 120)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await publisher.wait()
    if listener is not None:
        listener.cancel()
    result = close()
    if asyncio.iscoroutine(result):
        await result
    await client.aclose()
    return cpu / count * 1e6, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", type=int, default=120)
    args = parser.parse_args()
    executable = shutil.which("redis-server")
    if executable is None:
        print("redis-server is not on PATH", file=sys.stderr)
        return 1
    port = free_port()
    redis = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        results: dict[str, list[float]] = {"redis-py": [], "ksps": []}
        for run in range(args.runs):
            for reader, figures in results.items():
                cpu, wall = asyncio.run(_measure(port, args.messages, args.size, reader))
                figures.append(cpu)
                print(f"run {run + 1}/{args.runs} {reader:9} {cpu:6.2f} µs CPU/message  ({wall:.2f} s)", flush=True)
        for reader, figures in results.items():
            print(f"{reader:9} min {min(figures):6.2f}  median {statistics.median(figures):6.2f} µs CPU/message")
        ratio = statistics.median(results["ksps"]) / statistics.median(results["redis-py"])
        print(f"ratio of medians (ksps / redis-py): {ratio:.2f}x")
    finally:
        redis.terminate()
        redis.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
