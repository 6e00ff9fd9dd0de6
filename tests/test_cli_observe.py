"""`ksps serve` out of the box: info lines per connection, `--metrics`, probes (docs/observability.md)."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import websockets
from prometheus_client.parser import text_string_to_metric_families

from ksps.testing import free_port

UNIT = float(os.environ.get("KSPS_TEST_TIMEOUT_UNIT", "1.0"))


async def _get(port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5 * UNIT)
    lengths = [line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")]
    length = int(lengths[0])
    body = await asyncio.wait_for(reader.readexactly(length), 5 * UNIT)
    writer.close()
    return int(head.split()[1]), body


async def _line(stderr: asyncio.StreamReader, text: str) -> str:
    while True:  # wait for the log line instead of sleeping
        line = (await asyncio.wait_for(stderr.readline(), 10 * UNIT)).decode()
        assert line, f"ksps serve exited before logging {text!r}"
        if text in line:
            return line


async def test_serve_logs_connections_at_its_default_level_and_serves_metrics() -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "KSPS_LOG_LEVEL"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ksps", "serve", "--address", f"127.0.0.1:{port}", "--metrics",
        env=env, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        await _line(proc.stderr, "listening on")
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws/bus") as ws:
            await ws.send(json.dumps({"action": "ping", "from": "cli-user"}))
            assert json.loads(await ws.recv()) == {"action": "pong", "id": "cli-user"}
        assert "level=info" in await _line(proc.stderr, "connection from 127.0.0.1:")
        closed = await _line(proc.stderr, "closed 127.0.0.1:")
        assert "(client cli-user): 1000" in closed and "by the client" in closed
        status, body = await _get(port, "/metrics")
        assert status == 200
        families = {family.name: family for family in text_string_to_metric_families(body.decode())}
        assert families["ksps_registrations"].samples[0].value == 1
        assert await _get(port, "/healthz") == (200, b"ok\n")
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10 * UNIT)
