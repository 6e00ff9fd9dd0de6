"""The server example in README.md runs as shown."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNIT = float(os.environ.get("KSPS_TEST_TIMEOUT_UNIT", "1.0"))


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_for_sigterm_handler(pid: int) -> None:
    """Wait until `serve_forever` has installed its SIGTERM handler (the SigCgt mask of /proc/PID/status)."""
    deadline = time.monotonic() + 10 * UNIT
    while time.monotonic() < deadline:
        status = Path(f"/proc/{pid}/status").read_text()
        caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:")).split()[1], 16)
        if caught & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.01)  # polling a condition with a deadline; there is no event to wait on
    pytest.fail("the example never installed its SIGTERM handler")


def test_readme_server_example_runs_as_shown(tmp_path: Path) -> None:
    example = next(block for block in _python_blocks() if "server.PublishWithAck" in block)
    if not _port_free(9313):
        pytest.fail("port 9313 is in use: the README example listens there")
    script = tmp_path / "server_example.py"
    script.write_text(example)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        received = proc.stdout.readline()
        acked = proc.stdout.readline()
        assert received.startswith("Received: {'data': 'Hello World!', 'from': ")
        assert acked == "Acknowledged by: ['internal_1']\n"
        _wait_for_sigterm_handler(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10 * UNIT) == 0
    finally:
        proc.kill()
        proc.wait()


def test_readme_has_exactly_two_setup_commands() -> None:
    setup = (ROOT / "README.md").read_text().split("## Set up", 1)[1].split("##", 1)[0]
    commands = [line for line in re.findall(r"```bash\n(.*?)```", setup, re.S)[0].splitlines()
                if line.strip() and not line.startswith("#")]
    assert len(commands) == 2
    assert (ROOT / ".ci" / "run").read_text().count("scripts/test.sh") >= 1
    assert commands[1] == "bash scripts/test.sh"
