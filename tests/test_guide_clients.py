"""The Node and Go programs of the guide's quickstarts run as shown, installed the way the guide says.

Node: `npm install` of the built package in clients/js into a fresh project (scripts/test.sh builds it before
the Python tests; the test builds it when it is not). Go: a fresh module pointed at clients/go with `go mod edit
-replace`, then `go mod tidy` and `go run .`. Each runs against a real server; its output must be the one the
guide shows (trailing spaces aside: `console.log` of an empty reason ends its line with one).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from ksps.testing import serve_for_tests

from .test_guide import ADDRESSES, EXAMPLES, ROOT, Example

UNIT = float(os.environ.get("KSPS_TEST_TIMEOUT_UNIT", "1.0"))
NODE, NPM, GO = shutil.which("node"), shutil.which("npm"), shutil.which("go")
JS_PACKAGE = ROOT / "clients" / "js"


def _example(kind: str) -> Example:
    (example,) = [example for example in EXAMPLES if example.kind == kind]
    assert example.output is not None, f"{example}: the guide shows no output for it"
    return example


async def _run(*command: str, cwd: Path, timeout: float) -> str:
    """Run a command; its standard output, or a failure with everything it printed."""
    process = await asyncio.create_subprocess_exec(
        *command, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"{' '.join(command)} took longer than {timeout} s")
    assert process.returncode == 0, f"{' '.join(command)} failed:\n{out.decode()}\n{err.decode()}"
    return out.decode()


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


@pytest.mark.skipif(NODE is None or NPM is None, reason="Node.js 20+ with npm is not installed")
async def test_the_node_quickstart_runs_as_shown(tmp_path: Path) -> None:
    assert NODE is not None and NPM is not None
    if not (JS_PACKAGE / "dist" / "esm" / "index.js").exists():  # scripts/test.sh builds it first; by hand maybe not
        await _run(NPM, "ci", "--no-audit", "--no-fund", "--loglevel=error", cwd=JS_PACKAGE, timeout=300 * UNIT)
        await _run(NPM, "run", "build", "--silent", cwd=JS_PACKAGE, timeout=300 * UNIT)
    example = _example("node")
    await _run(NPM, "init", "-y", cwd=tmp_path, timeout=60 * UNIT)
    await _run(NPM, "install", "--no-audit", "--no-fund", "--loglevel=error", str(JS_PACKAGE), cwd=tmp_path,
               timeout=120 * UNIT)  # fmt: skip
    async with serve_for_tests() as server:
        (tmp_path / "main.mjs").write_text(example.code.replace(ADDRESSES[0], f"127.0.0.1:{server.port}"))
        printed = await _run(NODE, "main.mjs", cwd=tmp_path, timeout=30 * UNIT)
    assert _lines(printed) == _lines(example.output or "")


@pytest.mark.skipif(GO is None, reason="Go 1.23+ is not installed")
async def test_the_go_quickstart_runs_as_shown(tmp_path: Path) -> None:
    assert GO is not None
    example = _example("go")
    await _run(GO, "mod", "init", "example.com/hello-ksps", cwd=tmp_path, timeout=60 * UNIT)
    replace = f"github.com/ksps-dev/ksps/clients/go={ROOT / 'clients' / 'go'}"
    await _run(GO, "mod", "edit", "-replace", replace, cwd=tmp_path, timeout=60 * UNIT)
    async with serve_for_tests() as server:
        (tmp_path / "main.go").write_text(example.code.replace(ADDRESSES[0], f"127.0.0.1:{server.port}"))
        await _run(GO, "mod", "tidy", cwd=tmp_path, timeout=300 * UNIT)
        printed = await _run(GO, "run", ".", cwd=tmp_path, timeout=300 * UNIT)
    assert _lines(printed) == _lines(example.output or "")
