"""`ksps serve`: every option documented, env vars honoured, clean start and stop over real sockets."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys

import pytest
import websockets

from ksps.cli import _SERVE_OPTIONS
from ksps.testing import free_port

UNIT = float(os.environ.get("KSPS_TEST_TIMEOUT_UNIT", "1.0"))


def test_help_documents_every_option_and_its_environment_variable() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ksps", "serve", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for option in _SERVE_OPTIONS:
        assert option.flag in out
        assert option.env in out
    for extra in ("--log-level", "KSPS_LOG_LEVEL", "--log-format"):
        assert extra in out


def test_invalid_option_value_is_a_clear_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ksps", "serve", "--max-message-size", "lots"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "--max-message-size" in proc.stderr and "KSPS_MAX_MESSAGE_SIZE" in proc.stderr


def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "ksps", "serve", "--address", f"127.0.0.1:{port}"],
            capture_output=True, text=True, timeout=30 * UNIT,
        )
    assert proc.returncode == 3  # EXIT_LISTEN
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "serving on" not in proc.stderr  # the banner comes only once the socket listens


async def test_serve_reads_env_vars_and_stops_gracefully_on_sigterm() -> None:
    port = free_port()
    env = dict(os.environ, KSPS_ADDRESS=f"127.0.0.1:{port}", KSPS_PATH="/custom", KSPS_SERVER_ID="srv-env",
               KSPS_LOG_LEVEL="info")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ksps", "serve", env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stderr is not None
        while True:  # wait for the "listening" log line instead of sleeping
            line = (await asyncio.wait_for(proc.stderr.readline(), 10 * UNIT)).decode()
            assert line, "ksps serve exited before listening"
            if "listening on" in line:
                assert "srv-env" in line
                break
        async with websockets.connect(f"ws://127.0.0.1:{port}/custom") as ws:
            await ws.send(json.dumps({"action": "ping", "from": "A"}))
            assert json.loads(await ws.recv()) == {"action": "pong", "id": "A"}
            proc.send_signal(signal.SIGTERM)
            with pytest.raises(websockets.ConnectionClosedOK) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
            assert closed.value.rcvd.reason == "server shutdown"
        assert await asyncio.wait_for(proc.wait(), 10 * UNIT) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
