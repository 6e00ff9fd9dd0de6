"""The original Python client, PyPI `ksps==1.0.0`, works unchanged against our server (spec preamble).

The original shares our import name, so it lives in its own virtual environment, built once and cached in
`$KSPS_ORIGINAL_VENV` or `.cache/ksps-original-venv`, and runs `original_client_driver.py` as a subprocess.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ksps import Server

from .wire import UNIT, units

#: The original client and the versions of its dependencies it was checked with.
ORIGINAL = ("ksps==1.0.0", "orjson==3.13.0", "uvloop==0.23.0", "websockets==17.4")
REPO = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("original_client_driver.py")


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


@pytest.fixture(scope="session")
def original_python() -> Path:
    """The interpreter of a virtual environment holding the original client, built on first use."""
    venv = Path(os.environ.get("KSPS_ORIGINAL_VENV") or REPO / ".cache" / "ksps-original-venv")
    marker = venv / "ksps-original.txt"
    wanted = "\n".join(ORIGINAL)
    if marker.is_file() and marker.read_text() == wanted and _venv_python(venv).exists():
        return _venv_python(venv)
    if venv.parent.name == ".cache" and not (venv.parent / ".gitignore").exists():
        venv.parent.mkdir(parents=True, exist_ok=True)
        (venv.parent / ".gitignore").write_text("*\n")
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(_venv_python(venv)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *ORIGINAL],
        check=True,
        timeout=300,
    )
    marker.write_text(wanted)  # written last: a half-built environment is rebuilt next time
    return _venv_python(venv)


async def test_original_python_client_round_trips(original_python: Path, server: Server) -> None:
    await _round_trip(original_python, server)


@pytest.mark.server_options(history_size=100)
async def test_original_python_client_round_trips_with_history(original_python: Path, server: Server) -> None:
    # Deliveries and replies then carry `offset` and `epoch` (spec §14.2): extra members the original ignores.
    await _round_trip(original_python, server)


async def _round_trip(original_python: Path, server: Server) -> None:
    on_id: asyncio.Queue[Any] = asyncio.Queue()
    server.OnID(on_id.put_nowait)
    process = await asyncio.create_subprocess_exec(
        str(original_python),
        str(DRIVER),
        f"127.0.0.1:{server.port}",
        server.ID,
        str(UNIT),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=DRIVER.parent.parent,
    )
    assert process.stdout is not None
    events: dict[str, dict[str, Any]] = {}
    try:
        async with asyncio.timeout(units(30)):
            while line := await process.stdout.readline():
                if not line.startswith(b"{"):
                    continue  # the original prints banners on import
                event = json.loads(line)
                events[event["event"]] = event
                if event["event"] == "ready-for-server":
                    server.Publish("from-server", {"hello": "clients"})
            await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.stderr is not None
    stderr = (await process.stderr.read()).decode(errors="replace")
    assert process.returncode == 0, stderr
    assert "done" in events, (events, stderr)

    assert events["registered"] == {"event": "registered", "a": "orig-a", "b": "orig-b"}
    # PyPI 1.0.0 hands callbacks the raw `data` member: our nested {data, from} (spec §4.2).
    assert events["publish"]["data"] == {"data": {"n": 1}, "from": "orig-b"}
    # And OnId gets {"data": payload} without `from` (a quirk of the original client).
    assert events["direct"]["data"] == {"data": "hello a"}
    responses = events["ack"]["responses"]
    assert list(responses) == ["orig-a"]
    assert responses["orig-a"]["success"] is True
    assert responses["orig-a"]["client_id"] == "orig-a"
    assert responses["orig-a"]["ack_id"].startswith("ack_")
    assert events["ack"]["delivered"] == {"data": "with ack", "from": "orig-b"}
    assert events["server-publish"]["data"] == {"data": {"hello": "clients"}, "from": server.ID}
    assert await asyncio.wait_for(on_id.get(), units(1)) == {"data": "hello server", "from": "orig-b"}
