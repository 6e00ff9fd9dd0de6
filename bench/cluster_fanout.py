"""Cluster fan-out: 1 publisher -> N subscribers on 1 node without Redis, 1 node with Redis, 2 nodes over Redis.

Same clients and payload as bench/fanout.py. With 2 nodes the subscribers are split evenly and the publisher
sits on node 1, so half of the deliveries cross Redis. Reports deliveries/s, ksps CPU per delivery (all nodes)
and Redis CPU per delivery; targets run interleaved, --repeat times.

Usage: python bench/cluster_fanout.py [--subscribers 100] [--messages 20000] [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fanout import cpu_seconds, publish, subscriber_process

from ksps.testing import free_port

TARGETS = ("1-node", "1-node+redis", "2-nodes+redis")


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited: {proc.args}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def start_node(port: int, redis_url: str | None) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "ksps", "serve", "--address", f"127.0.0.1:{port}", "--log-level", "error"]
    if redis_url:
        cmd += ["--redis", redis_url]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _wait_port(port, proc)
    return proc


def run_once(target: str, redis_port: int, redis_pid: int, subscribers: int, messages: int, window: int) -> dict:
    redis_url = f"redis://127.0.0.1:{redis_port}/0" if "redis" in target else None
    ports = [free_port() for _ in range(2 if target.startswith("2") else 1)]
    nodes = [start_node(port, redis_url) for port in ports]
    urls = [f"ws://127.0.0.1:{port}/ws/bus" for port in ports]
    try:
        ctx = mp.get_context("spawn")
        ready, results = ctx.Queue(), ctx.Queue()
        halves = [subscribers // 2, subscribers - subscribers // 2]
        workers = [
            ctx.Process(target=subscriber_process, args=(urls[i % len(urls)], n, i * 10_000, messages, ready, results))
            for i, n in enumerate(halves)
        ]
        for worker in workers:
            worker.start()
        for _ in workers:
            ready.get(timeout=60)
        if redis_url:
            time.sleep(0.5)  # benchmark only: let the nodes' Redis subscriptions settle before measuring
        cpu_before = [cpu_seconds(node.pid) for node in nodes]
        redis_before = cpu_seconds(redis_pid)
        start = asyncio.run(publish(urls[0], messages, window))
        outcomes = [results.get(timeout=180) for _ in workers]
        node_cpu = sum(cpu_seconds(node.pid) - before for node, before in zip(nodes, cpu_before, strict=True))
        redis_cpu = cpu_seconds(redis_pid) - redis_before
        for worker in workers:
            worker.join(10)
        delivered = sum(n for _, n in outcomes) + messages
        elapsed = max(t for t, _ in outcomes) - start
        return {
            "deliveries_per_s": delivered / elapsed,
            "ksps_cpu_us_per_delivery": node_cpu / delivered * 1e6,
            "redis_cpu_us_per_delivery": redis_cpu / delivered * 1e6,
        }
    finally:
        for node in nodes:
            node.terminate()
        for node in nodes:
            node.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--window", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        sys.exit("redis-server is not installed (apt-get install redis-server)")
    redis_port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL
    )
    try:
        _wait_port(redis_port, redis)
        table: dict[str, list[dict]] = {}
        for _ in range(args.repeat):
            for target in TARGETS:
                result = run_once(target, redis_port, redis.pid, args.subscribers - 1, args.messages, args.window)
                table.setdefault(target, []).append(result)
                print(
                    f"{target:14s} {result['deliveries_per_s']:>12,.0f} deliveries/s  "
                    f"ksps {result['ksps_cpu_us_per_delivery']:.3f} µs/delivery  "
                    f"redis {result['redis_cpu_us_per_delivery']:.3f} µs/delivery",
                    flush=True,
                )
    finally:
        redis.terminate()
        redis.wait(10)
    print(f"\n1 publisher -> {args.subscribers} subscribers, {args.messages} publications, {args.repeat} runs")
    print(f"{'target':14s} {'min/s':>12s} {'median/s':>12s} {'ksps µs/deliv':>14s} {'redis µs/deliv':>15s}")
    summary = {}
    for target, runs in table.items():
        rates = [r["deliveries_per_s"] for r in runs]
        summary[target] = {
            "min": min(rates),
            "median": statistics.median(rates),
            "ksps_cpu_us_median": statistics.median(r["ksps_cpu_us_per_delivery"] for r in runs),
            "redis_cpu_us_median": statistics.median(r["redis_cpu_us_per_delivery"] for r in runs),
            "runs": runs,
        }
        s = summary[target]
        print(f"{target:14s} {s['min']:>12,.0f} {s['median']:>12,.0f} {s['ksps_cpu_us_median']:>14.3f}"
              f" {s['redis_cpu_us_median']:>15.3f}")
    base = summary["1-node"]["median"]
    print(f"1-node+redis / 1-node: {summary['1-node+redis']['median'] / base:.2f}")
    print(f"2-nodes+redis / 1-node: {summary['2-nodes+redis']['median'] / base:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
