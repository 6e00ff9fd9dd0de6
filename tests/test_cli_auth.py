"""`ksps serve` with the auth options (spec §10): the secret from the environment, never in the logs."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

import websockets

from ksps import ServerConfig
from ksps.testing import free_port

from .server.tokens import SECRET, hs256
from .server.wire import UNIT


def test_the_jwt_secret_stays_out_of_repr() -> None:
    assert SECRET not in repr(ServerConfig(jwt_secret=SECRET))


async def test_serve_with_a_jwt_secret_from_the_environment() -> None:
    port = free_port()
    env = dict(os.environ, KSPS_JWT_SECRET=SECRET, KSPS_LOG_LEVEL="debug")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ksps",
        "serve",
        "--address",
        f"127.0.0.1:{port}",
        "--jwt-audience",
        "ksps",
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    output: list[str] = []
    try:
        assert proc.stderr is not None
        while True:  # wait for the "listening" log line instead of sleeping
            line = (await asyncio.wait_for(proc.stderr.readline(), 10 * UNIT)).decode()
            assert line, "ksps serve exited before listening"
            output.append(line)
            if "listening on" in line:
                break
        url = f"ws://127.0.0.1:{port}/ws/bus"
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"action": "ping", "token": hs256("alice", aud="ksps")}))
            assert json.loads(await ws.recv()) == {"action": "pong", "id": "alice"}
        async with websockets.connect(url) as anonymous:
            await anonymous.send(json.dumps({"action": "ping", "from": "bob"}))
            await asyncio.wait_for(anonymous.wait_closed(), 5 * UNIT)
            assert anonymous.close_code == 4003
        proc.send_signal(signal.SIGTERM)
        remaining = await asyncio.wait_for(proc.stderr.read(), 10 * UNIT)
        output.append(remaining.decode())
        assert await asyncio.wait_for(proc.wait(), 10 * UNIT) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert SECRET not in "".join(output)
