"""Python client benchmark: publish throughput, acknowledgement round trips, publish-to-deliver latency.

Each run starts a fresh server process (`python -m ksps serve`, rate limit off) and measures, from this
process:
  publish        one client publishes N messages to a topic nobody follows; the clock stops when a trailing
                 PublishWithAck comes back, i.e. when the server has processed every publication
  ack-seq        PublishWithAck + Wait, one at a time, to one subscriber (a second client in this process)
  ack-100        the same with 100 requests in flight (100 tasks looping PublishWithAck + Wait)
  latency        publish -> subscriber callback, one message at a time (both clients in this process)
Baselines in the same run, to separate the client's cost from the server's and the machine's:
  raw-publish    the `publish` measurement with bare picows clients sending pre-encoded frames
  raw-ack-seq    the `ack-seq` measurement with bare picows clients (no ack handles, no callbacks)
  sink-publish   the `publish` measurement against a bare picows sink instead of the server: the client's
                 own ceiling
  echo-rtt       a bare picows client/server echo round trip: the floor under any request/response figure
                 (an ack needs two: publisher -> server -> subscriber -> server -> publisher)

Repeat runs give min and median. CPU per operation (server process and this process) comes from /proc and
getrusage. The publisher and the subscriber share this process, so "client CPU" covers both ends.

Usage: python bench/client_bench.py [--repeat 5] [--publishes 200000] [--acks 5000] [--inflight 30000]
                                    [--latency 5000] [--json results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect, ws_create_server

from ksps.client import Client
from ksps.testing import free_port

TARGETS = {"publish": 150_000, "ack-seq": 5_000, "ack-100": 30_000}
PAYLOAD = {"sensor": "t-1", "value": 21.5, "unit": "C", "seq": 0}


def process_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def start_process(args: list[str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(  # noqa: ASYNC220 - started once per run, outside the measurements
        [sys.executable, *args], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 20
    while True:  # wait until the port accepts connections
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return process
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{args} did not start") from None
            await asyncio.sleep(0.05)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


async def timed(
    server_pid: int, operations: int, body: Callable[[], Awaitable[None]]
) -> dict[str, float]:
    """Run `body`; return operations/s and CPU microseconds per operation (server and this process)."""
    server_cpu, client_cpu, started = process_cpu(server_pid), own_cpu(), time.perf_counter()
    await body()
    elapsed = time.perf_counter() - started
    return {
        "rate": operations / elapsed,
        "server_cpu_us": (process_cpu(server_pid) - server_cpu) / operations * 1e6,
        "client_cpu_us": (own_cpu() - client_cpu) / operations * 1e6,
    }


async def bench_publish(publisher: Client, count: int, server_pid: int) -> dict[str, float]:
    async def body() -> None:
        for n in range(count):
            PAYLOAD["seq"] = n
            await publisher.Publish("bench.pub", PAYLOAD)
        trailing = await publisher.PublishWithAck("bench.none", None, 60)  # processed after all of them
        await trailing.Wait()

    return await timed(server_pid, count, body)


async def bench_ack(publisher: Client, count: int, inflight: int, server_pid: int) -> dict[str, float]:
    async def worker(share: int) -> None:
        for n in range(share):
            ack = await publisher.PublishWithAck("bench.ack", n, 10)
            if not await ack.Wait():
                raise RuntimeError("an acknowledgement went missing")

    async def body() -> None:
        await asyncio.gather(*(worker(count // inflight) for _ in range(inflight)))

    return await timed(server_pid, count // inflight * inflight, body)


async def bench_latency(publisher: Client, subscriber: Client, count: int) -> dict[str, float]:
    delivered: asyncio.Queue[float] = asyncio.Queue()
    await subscriber.Subscribe("bench.lat", lambda message, unsub: delivered.put_nowait(time.perf_counter()))
    samples = []
    for n in range(count):
        sent = time.perf_counter()
        await publisher.Publish("bench.lat", n)
        samples.append(await asyncio.wait_for(delivered.get(), 10) - sent)
    samples.sort()
    return {"p50_us": samples[len(samples) // 2] * 1e6, "p99_us": samples[int(len(samples) * 0.99)] * 1e6}


class RawClient(WSListener):
    """Baseline client on bare picows: answers every `publish_ack`, resolves `waiter` on `ack_response`."""

    def __init__(self) -> None:
        self.waiter: asyncio.Future[None] | None = None
        self.transport: WSTransport | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        payload = frame.get_payload_as_bytes()
        if payload.startswith((b'{"action":"ack_response"', b'{"action":"pong"', b'{"action":"subscribed"')):
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(None)
        elif payload.startswith(b'{"action":"publish_ack"'):
            server_ack_id = json.loads(payload)["ack_id"]
            body = {"ack_id": server_ack_id, "client_id": "raw-sub", "success": True}
            frame = json.dumps({"action": "ack", "ack_id": server_ack_id, "data": body}).encode()
            transport.send(WSMsgType.TEXT, frame)

    async def request(self, frame: bytes) -> None:
        """Send `frame` and wait for the next pong/subscribed/ack_response."""
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.send(WSMsgType.TEXT, frame)
        await asyncio.wait_for(self.waiter, 10)


async def raw_client(port: int, client_id: str) -> RawClient:
    _, listener = await ws_connect(RawClient, f"ws://127.0.0.1:{port}/ws/bus")
    assert isinstance(listener, RawClient)
    await listener.request(json.dumps({"action": "ping", "from": client_id}).encode())
    return listener


async def bench_raw(port: int, publishes: int, acks: int, server_pid: int) -> dict[str, dict[str, float]]:
    publisher, subscriber = await raw_client(port, "raw-pub"), await raw_client(port, "raw-sub")
    await subscriber.request(b'{"action":"subscribe","topic":"bench.rawack"}')
    assert publisher.transport is not None
    send = publisher.transport.send

    async def publish() -> None:
        for n in range(publishes):
            PAYLOAD["seq"] = n
            send(WSMsgType.TEXT, b'{"action":"publish","topic":"bench.pub","data":' + json.dumps(PAYLOAD).encode()
                 + b"}")
            if n % 1000 == 0:
                await asyncio.sleep(0)  # let the socket drain, as the client's flow control would
        await publisher.request(b'{"action":"publish_with_ack","topic":"bench.none","ack_id":"end","timeout":60000}')

    async def ack_seq() -> None:
        for n in range(acks):
            await publisher.request(
                b'{"action":"publish_with_ack","topic":"bench.rawack","data":%d,"ack_id":"c%d","timeout":10000}'
                % (n, n)
            )

    results = {"raw-publish": await timed(server_pid, publishes, publish),
               "raw-ack-seq": await timed(server_pid, acks, ack_seq)}
    for client in (publisher, subscriber):
        assert client.transport is not None
        client.transport.disconnect()
    return results


class Sink(WSListener):
    """Baseline server with no pub/sub logic: echoes `{"echo"...}` frames, answers `ping` and the ack
    requests (with an empty `ack_response`), and drops everything else."""

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        payload = frame.get_payload_as_bytes()
        if payload.startswith(b'{"echo"'):
            transport.send(WSMsgType.TEXT, payload)
        elif payload.startswith(b'{"action":"ping"'):
            transport.send(WSMsgType.TEXT, b'{"action":"pong","id":"bench-sink"}')
        elif payload.startswith(b'{"action":"publish_with_ack"'):
            ack_id = json.dumps(json.loads(payload)["ack_id"]).encode()
            transport.send(WSMsgType.TEXT, b'{"action":"ack_response","ack_id":' + ack_id + b"}")


class EchoClient(WSListener):
    def __init__(self) -> None:
        self.reply: asyncio.Future[None] | None = None

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if self.reply is not None and not self.reply.done():
            self.reply.set_result(None)


async def serve_sink(port: int) -> None:
    server = await ws_create_server(lambda request: Sink(), "127.0.0.1", port)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until stdin closes
    server.close()


async def bench_sink(options: argparse.Namespace) -> dict[str, dict[str, float]]:
    """The baselines against the sink: the client's own publish ceiling, and the echo round trip."""
    port = free_port()
    process = await start_process([__file__, "--role", "sink", "--port", str(port)], port)
    try:
        publisher = await Client.NewClient(Address=f"127.0.0.1:{port}", Id="bench-publisher")
        results = {"sink-publish": await bench_publish(publisher, options.publishes, process.pid)}
        await publisher.Close()
        results["echo-rtt"] = await bench_echo(port, options.latency)
    finally:
        stop_process(process)
    return results


async def bench_echo(port: int, count: int) -> dict[str, float]:
    transport, listener = await ws_connect(EchoClient, f"ws://127.0.0.1:{port}/")
    assert isinstance(listener, EchoClient)
    loop = asyncio.get_running_loop()
    samples = []
    for _ in range(count):
        listener.reply = loop.create_future()
        sent = time.perf_counter()
        transport.send(WSMsgType.TEXT, b'{"echo":1}')
        await listener.reply
        samples.append(time.perf_counter() - sent)
    transport.disconnect()
    samples.sort()
    return {"p50_us": samples[len(samples) // 2] * 1e6, "p99_us": samples[int(len(samples) * 0.99)] * 1e6}


async def one_run(options: argparse.Namespace) -> dict[str, dict[str, float]]:
    port = free_port()
    server = await start_process(
        ["-m", "ksps", "serve", "--address", f"127.0.0.1:{port}", "--max-frames-per-second", "0",
         "--log-level", "warning"], port,
    )
    results: dict[str, dict[str, float]] = {}
    try:
        publisher = await Client.NewClient(Address=f"127.0.0.1:{port}", Id="bench-publisher")
        subscriber = await Client.NewClient(Address=f"127.0.0.1:{port}", Id="bench-subscriber")
        await subscriber.Subscribe("bench.ack", lambda message, unsub: None)
        results["publish"] = await bench_publish(publisher, options.publishes, server.pid)
        results["ack-seq"] = await bench_ack(publisher, options.acks, 1, server.pid)
        results["ack-100"] = await bench_ack(publisher, options.inflight, 100, server.pid)
        results["latency"] = await bench_latency(publisher, subscriber, options.latency)
        await publisher.Close()
        await subscriber.Close()
        results.update(await bench_raw(port, options.publishes, options.acks, server.pid))
    finally:
        stop_process(server)
    results.update(await bench_sink(options))
    return results


def summarize(runs: list[dict[str, dict[str, float]]]) -> list[tuple[str, str, float, float, float, str]]:
    """(metric, field, min, median, max, target) for every figure, over the runs."""
    rows = []
    for metric, field in [
        ("publish", "rate"), ("raw-publish", "rate"), ("sink-publish", "rate"),
        ("ack-seq", "rate"), ("raw-ack-seq", "rate"), ("ack-100", "rate"),
        ("latency", "p50_us"), ("latency", "p99_us"), ("echo-rtt", "p50_us"), ("echo-rtt", "p99_us"),
        ("publish", "client_cpu_us"), ("raw-publish", "client_cpu_us"), ("sink-publish", "client_cpu_us"),
        ("publish", "server_cpu_us"), ("ack-seq", "client_cpu_us"), ("ack-seq", "server_cpu_us"),
        ("ack-100", "client_cpu_us"), ("ack-100", "server_cpu_us"),
    ]:
        values = [run[metric][field] for run in runs]
        target = f">= {TARGETS[metric]:,}" if field == "rate" and metric in TARGETS else ""
        rows.append((metric, field, min(values), statistics.median(values), max(values), target))
    return rows


async def main(options: argparse.Namespace) -> None:
    runs = []
    for number in range(1, options.repeat + 1):
        runs.append(await one_run(options))
        print(f"run {number}/{options.repeat}: " + ", ".join(
            f"{name} {values.get('rate', values.get('p50_us')):,.0f}" for name, values in runs[-1].items()
        ), flush=True)
    print(f"\n{'metric':<13} {'field':<14} {'min':>11} {'median':>11} {'max':>11}  target")
    for metric, field, low, median, high, target in summarize(runs):
        print(f"{metric:<13} {field:<14} {low:>11,.1f} {median:>11,.1f} {high:>11,.1f}  {target}")
    print("(rate = operations/s; *_us = microseconds)")
    if options.json:
        text = json.dumps({"options": vars(options), "runs": runs}, indent=1)
        await asyncio.to_thread(Path(options.json).write_text, text)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--publishes", type=int, default=200_000)
    parser.add_argument("--acks", type=int, default=5_000, help="sequential PublishWithAck round trips")
    parser.add_argument("--inflight", type=int, default=30_000, help="PublishWithAck with 100 in flight")
    parser.add_argument("--latency", type=int, default=5_000, help="latency samples")
    parser.add_argument("--json", help="also write every run's figures to this file")
    parser.add_argument("--role", choices=["bench", "sink"], default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.role == "sink":
        asyncio.run(serve_sink(arguments.port))
    else:
        asyncio.run(main(arguments))
