"""Fan-out benchmark: 1 publisher -> N subscribers, deliveries per second and server CPU per delivery.

Runs each target in turn, in the same run, on loopback:
  ksps             `python -m ksps serve` (this repository)
  picows-ceiling   bench/baselines/picows_broadcast.py, bare picows with coalesced writes, no pub/sub logic

The subscribers live in separate processes (picows clients that only count frames); the publisher keeps
at most --window publications in flight, measured by its own subscription, so no queue grows without bound.

Usage: python bench/fanout.py [--subscribers 100] [--messages 20000] [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from ksps.testing import free_port

HERE = Path(__file__).resolve().parent
PAYLOAD = json.dumps({"sensor": "t-1", "value": 21.5, "unit": "C", "seq": 0, "pad": "x" * 40})


class Counter(WSListener):
    """Counts deliveries; the first two replies (pong/subscribed or ok/ok) mark it ready."""

    def __init__(self) -> None:
        self.replies = 0
        self.count = 0
        self.moved: asyncio.Event | None = None
        self.ready = asyncio.get_running_loop().create_future()
        self.target = 0
        self.done: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    async def progress(self) -> None:
        """Wait until at least one more delivery arrived."""
        self.moved = asyncio.Event()
        await self.moved.wait()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        if frame.get_payload_as_bytes().startswith(b'{"action":"publish"'):
            self.count += 1
            if self.moved is not None:
                self.moved.set()
            if self.count == self.target and not self.done.done():
                self.done.set_result(time.monotonic())
        else:
            self.replies += 1
            if self.replies == 2 and not self.ready.done():
                self.ready.set_result(None)


async def connect(url: str, name: str) -> tuple[WSTransport, Counter]:
    transport, listener = await ws_connect(Counter, url)
    assert isinstance(listener, Counter)
    transport.send(WSMsgType.TEXT, json.dumps({"action": "ping", "from": name}).encode())
    transport.send(WSMsgType.TEXT, b'{"action":"subscribe","topic":"bench"}')
    await asyncio.wait_for(listener.ready, 10)
    return transport, listener


def subscriber_process(url: str, count: int, offset: int, messages: int, ready: mp.Queue, results: mp.Queue) -> None:
    async def run() -> None:
        clients = [await connect(url, f"sub-{offset + i}") for i in range(count)]
        for _, listener in clients:
            listener.target = messages
        ready.put(count)
        finished = await asyncio.wait_for(asyncio.gather(*(c.done for _, c in clients)), 120)
        results.put((max(finished), sum(c.count for _, c in clients)))
        for transport, _ in clients:
            transport.disconnect()

    asyncio.run(run())


async def publish(url: str, messages: int, window: int) -> float:
    transport, me = await connect(url, "publisher")
    me.target = messages
    frame = json.dumps(
        {"action": "publish", "topic": "bench", "data": json.loads(PAYLOAD)}, separators=(",", ":")
    ).encode()
    start = time.monotonic()
    sent = 0
    while sent < messages:
        while sent - me.count >= window:
            await me.progress()
        burst = min(window - (sent - me.count), messages - sent)
        for _ in range(burst):
            transport.send(WSMsgType.TEXT, frame)
        sent += burst
        await asyncio.sleep(0)
    await asyncio.wait_for(me.done, 120)
    transport.disconnect()
    return start


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_target(name: str, port: int) -> subprocess.Popen[bytes]:
    if name == "ksps":
        cmd = [sys.executable, "-m", "ksps", "serve", "--address", f"127.0.0.1:{port}", "--log-level", "error"]
    else:
        cmd = [sys.executable, str(HERE / "baselines" / "picows_broadcast.py"), str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{name} did not start: {proc.stderr.read().decode() if proc.stderr else ''}")


def run_once(target: str, subscribers: int, messages: int, window: int, procs: int) -> dict[str, float]:
    port = int(os.environ.get("BENCH_PORT", 0)) or free_port()
    server = start_target(target, port) if not os.environ.get("BENCH_PORT") else None
    url = f"ws://127.0.0.1:{port}/ws/bus"
    try:
        ctx = mp.get_context("spawn")
        ready, results = ctx.Queue(), ctx.Queue()
        per_proc = [subscribers // procs + (1 if i < subscribers % procs else 0) for i in range(procs)]
        workers = [
            ctx.Process(target=subscriber_process, args=(url, n, sum(per_proc[:i]), messages, ready, results))
            for i, n in enumerate(per_proc)
        ]
        for worker in workers:
            worker.start()
        for _ in workers:
            ready.get(timeout=60)
        cpu_before = cpu_seconds(server.pid) if server else 0.0
        start = asyncio.run(publish(url, messages, window))
        outcomes = [results.get(timeout=180) for _ in workers]
        cpu = cpu_seconds(server.pid) - cpu_before if server else 0.0
        for worker in workers:
            worker.join(10)
        end = max(t for t, _ in outcomes)
        delivered = sum(n for _, n in outcomes) + messages  # the publisher's own subscription counts too
        elapsed = end - start
        return {
            "deliveries_per_s": delivered / elapsed,
            "server_cpu_us_per_delivery": cpu / delivered * 1e6,
            "elapsed_s": elapsed,
        }
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=100, help="subscribers, the publisher included")
    parser.add_argument("--messages", type=int, default=20000, help="publications per run")
    parser.add_argument("--window", type=int, default=200, help="publications in flight")
    parser.add_argument("--procs", type=int, default=2, help="subscriber processes")
    parser.add_argument("--repeat", type=int, default=3, help="runs per target")
    parser.add_argument("--targets", default="ksps,picows-ceiling", help="comma-separated targets")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    table: dict[str, list[dict[str, float]]] = {}
    for _ in range(args.repeat):  # interleave targets so drift of the noisy box hits both alike
        for target in args.targets.split(","):
            result = run_once(target, args.subscribers - 1, args.messages, args.window, args.procs)
            table.setdefault(target, []).append(result)
            print(
                f"{target:16s} {result['deliveries_per_s']:>12,.0f} deliveries/s  "
                f"{result['server_cpu_us_per_delivery']:.3f} µs server CPU/delivery",
                flush=True,
            )
    summary = {}
    print(f"\n1 publisher -> {args.subscribers} subscribers, {args.messages} publications, {args.repeat} runs")
    print(f"{'target':16s} {'min/s':>12s} {'median/s':>12s} {'CPU µs/deliv (median)':>22s}")
    for target, runs in table.items():
        rates = [r["deliveries_per_s"] for r in runs]
        cpu = statistics.median(r["server_cpu_us_per_delivery"] for r in runs)
        summary[target] = {"min": min(rates), "median": statistics.median(rates), "cpu_us_median": cpu, "runs": runs}
        print(f"{target:16s} {min(rates):>12,.0f} {statistics.median(rates):>12,.0f} {cpu:>22.3f}")
    if "ksps" in summary and "picows-ceiling" in summary:
        ratio = summary["ksps"]["median"] / summary["picows-ceiling"]["median"]
        print(f"ksps / picows-ceiling (median deliveries/s): {ratio:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
