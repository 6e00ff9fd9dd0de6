"""pytest wiring of the conformance runner: `pytest spec/conformance/runner --adapter python|js|go`.

The language comes from `--adapter`, else the env var `KSPS_ADAPTER`, else `python`. A language whose
toolchain is missing, or whose adapter does not build, fails the run at once with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import harness
import pytest
from harness import REPO, Adapter, RedisServer, RunnerServer, python_executable


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--adapter", default=os.environ.get("KSPS_ADAPTER", "python"),
        help="language whose adapter runs the scenarios (a key of spec/conformance/adapters.json)",
    )
    # --- server-api: the second server target, the ASGI mount (ksps.asgi under uvicorn or hypercorn)
    parser.addoption(
        "--server", default=os.environ.get("KSPS_CONFORMANCE_SERVER", "picows"),
        choices=["picows", "asgi", "asgi-hypercorn"],
        help="how the test server serves clients: its own picows listener, or ksps.asgi under uvicorn/hypercorn",
    )


def pytest_configure(config: pytest.Config) -> None:
    harness.SERVER_TARGET = config.getoption("--server")  # --- server-api


def _expand(items: list[str], build_dir: str) -> list[str]:
    return [item.replace("{python}", python_executable()).replace("{build_dir}", build_dir) for item in items]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Check the toolchain and build the adapter once per run."""
    language = session.config.getoption("--adapter")
    specs = json.loads((REPO / "spec/conformance/adapters.json").read_text())
    if language not in specs or language.startswith("_"):
        pytest.exit(f"unknown adapter {language!r}; known: {sorted(k for k in specs if not k.startswith('_'))}", 2)
    spec = specs[language]
    missing = [tool for tool in spec.get("requires", []) if shutil.which(tool) is None]
    if missing:
        pytest.exit(f"adapter {language!r} needs {', '.join(missing)} on PATH, which is missing", 1)
    build_dir = tempfile.mkdtemp(prefix=f"ksps-conformance-{language}-")
    if "build" in spec:
        build = spec["build"]
        done = subprocess.run(
            _expand(build["cmd"], build_dir), cwd=REPO / build.get("cwd", "."), capture_output=True, text=True,
            timeout=600,
        )
        if done.returncode != 0:
            pytest.exit(f"building the {language} adapter failed:\n{done.stdout}\n{done.stderr}", 1)
    run = spec["run"]
    command, cwd = _expand(run["cmd"], build_dir), REPO / run.get("cwd", ".")
    scripts = [arg for arg in command[1:] if arg.endswith((".py", ".mjs", ".js")) and not (cwd / arg).exists()]
    if scripts or not (shutil.which(command[0]) or Path(command[0]).exists()):
        pytest.exit(f"the {language} adapter is missing: {scripts or command[0]} not found", 1)
    session.config.stash[_ADAPTER_KEY] = (command, cwd)


_ADAPTER_KEY = pytest.StashKey[tuple[list[str], Path]]()


def pytest_report_header(config: pytest.Config) -> str:
    return f"ksps conformance adapter: {config.getoption('--adapter')}, server: {config.getoption('--server')}"


@pytest.fixture
async def server() -> AsyncIterator[RunnerServer]:
    """A ksps server in the test's event loop, on a free port."""
    runner_server = RunnerServer()
    await runner_server.start()
    yield runner_server
    await runner_server.stop()


@pytest.fixture
async def redis() -> AsyncIterator[RedisServer]:
    """A real `redis-server` of the runner's own, on a free port, for one test (history in Redis)."""
    redis_server = await RedisServer().start()
    yield redis_server
    await redis_server.stop()


StartAdapter = Callable[..., Awaitable[Adapter]]


@pytest.fixture
async def adapters(request: pytest.FixtureRequest) -> AsyncIterator[StartAdapter]:
    """`await adapters("A")` starts an adapter process; all are stopped after the test."""
    command, cwd = request.config.stash[_ADAPTER_KEY]
    started: list[Adapter] = []

    async def start(label: str) -> Adapter:
        adapter = await Adapter.start(label, command, cwd)
        started.append(adapter)
        return adapter

    yield start
    for adapter in started:
        await adapter.stop()


@pytest.fixture
def connect(server: RunnerServer) -> Callable[..., Awaitable[dict[str, Any]]]:
    """`await connect(adapter, id="A", **options)`: connect an adapter's client to the test server."""

    async def run(adapter: Adapter, id: str | None = None, **options: Any) -> dict[str, Any]:
        args: dict[str, Any] = {"address": server.address, "path": "/ws/bus", **options}
        if id is not None:
            args["id"] = id
        result = await adapter.call("connect", **args)
        await adapter.event("connected")
        return result

    return run
