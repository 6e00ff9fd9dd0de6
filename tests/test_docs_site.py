"""The documentation site's generated parts and the deployment recipes stay true to the code.

- docs/configuration.md's option table is what scripts/generate_config_docs.py makes from the ServerConfig fields.
- The site hook rewrites repository links to site links (the strict build in scripts/test.sh checks the rest).
- deploy/ksps.service is the unit docs/guide/deploy.md shows, and `ksps serve` accepts its flags.
- deploy/Dockerfile is multi-stage, runs as a user that is not root, and its HEALTHCHECK command answers 0 against
  a real `ksps serve` and fails when nothing serves.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from ksps.testing import free_port

ROOT = Path(__file__).resolve().parents[1]
UNIT = float(os.environ.get("KSPS_TEST_TIMEOUT_UNIT", "1.0"))
DOCKERFILE = (ROOT / "deploy" / "Dockerfile").read_text()


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configuration_table_is_generated_from_the_fields() -> None:
    done = subprocess.run([sys.executable, "scripts/generate_config_docs.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_configuration_generator_sees_a_stale_table() -> None:
    generator = _script("generate_config_docs")
    page = (ROOT / "docs" / "configuration.md").read_text()
    stale = page.replace("| `--path` | `KSPS_PATH` |", "| `--path` | `KSPS_OLD_PATH` |")
    assert stale != page and generator.render(stale) == page


def test_site_links_are_rewritten_from_repository_paths() -> None:
    hook = _script("mkdocs_repo_pages")
    config = SimpleNamespace(repo_url="https://example.org/ksps")

    def rewrite(src_uri: str, markdown: str) -> str:
        page = SimpleNamespace(file=SimpleNamespace(src_uri=src_uri))
        return str(hook.on_page_markdown(markdown, page=page, config=config, files=None))

    # A guide page to a spec page, to a source file, to an image outside docs/; code is left alone.
    assert rewrite("guide/scale.md", "[c](../../spec/cluster.md#a) [s](../../src/ksps/cli.py) `[x](../a.md)`") == (
        "[c](../spec/cluster.md#a) [s](https://example.org/ksps/blob/main/src/ksps/cli.py) `[x](../a.md)`"
    )
    assert rewrite("performance.md", "![chart](../bench/results/latest.png)") == "![chart](bench/results/latest.png)"
    # README is the home page, the clients' READMEs are pages; a link to nothing stays for strict mode to report.
    assert rewrite("index.md", "[g](docs/guide/index.md) [j](clients/js/README.md) [n](docs/nope.md)") == (
        "[g](guide/index.md) [j](clients/js.md) [n](docs/nope.md)"
    )
    assert rewrite("spec/protocol.md", "[s](../docs/security.md#tokens) [d](../bench/)") == (
        "[s](../security.md#tokens) [d](https://example.org/ksps/tree/main/bench)"
    )


def _unit_block() -> str:
    page = (ROOT / "docs" / "guide" / "deploy.md").read_text()
    (block,) = re.findall(r"```ini\n(.*?)```", page, re.S)
    return str(block)


def test_deploy_page_shows_the_unit_file() -> None:
    assert _unit_block() == (ROOT / "deploy" / "ksps.service").read_text()


def test_the_unit_runs_ksps_serve_with_flags_it_accepts() -> None:
    exec_start = next(line for line in _unit_block().splitlines() if line.startswith("ExecStart="))
    binary, command, *flags = shlex.split(exec_start.removeprefix("ExecStart="))
    assert binary.endswith("/bin/ksps") and command == "serve"
    done = subprocess.run([sys.executable, "-m", "ksps", "config", *flags], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_dockerfile_is_multi_stage_and_not_root() -> None:
    assert len(re.findall(r"^FROM ", DOCKERFILE, re.M)) == 2
    assert "COPY --from=build /opt/ksps /opt/ksps" in DOCKERFILE
    (user,) = re.findall(r"^USER (\S+)$", DOCKERFILE, re.M)
    assert user not in ("root", "0")
    assert f"useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin {user}" in DOCKERFILE


def _healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    """Run the image's HEALTHCHECK command (an exec form with python) against 127.0.0.1:`port`."""
    found = re.search(r'HEALTHCHECK .*?CMD (\[.*?\])\n', DOCKERFILE, re.S)
    assert found is not None
    command = json.loads(found.group(1))
    assert command[0] == "python" and "http://127.0.0.1:9313/healthz" in command[-1]
    code = command[-1].replace("127.0.0.1:9313", f"127.0.0.1:{port}")
    return subprocess.run([sys.executable, *command[1:-1], code], capture_output=True, text=True, timeout=10 * UNIT)


@pytest.fixture
def serving() -> Iterator[int]:
    """`ksps serve` configured through KSPS_ADDRESS as in the image, on loopback and a free port."""
    port = free_port()
    env = {**os.environ, "KSPS_ADDRESS": f"127.0.0.1:{port}"}
    proc = subprocess.Popen([sys.executable, "-m", "ksps", "serve"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        lines = (proc.stderr.readline() for _ in range(20))  # log lines come before the banner
        assert any("serving on" in line for line in lines)
        yield port
    finally:
        proc.terminate()
        proc.wait(10 * UNIT)


def test_dockerfile_healthcheck_passes_against_a_server(serving: int) -> None:
    done = _healthcheck(serving)
    assert done.returncode == 0, done.stderr


def test_dockerfile_healthcheck_fails_when_nothing_serves() -> None:
    assert _healthcheck(free_port()).returncode != 0
