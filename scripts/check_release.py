"""Build the release artefacts and use each one the way a user gets it, away from this checkout.

1. Python: `python -m build` makes the sdist and, from it, the wheel; the wheel must hold the browser client
   (/ksps.js). Each is installed in a fresh venv, whose `ksps serve` runs, serves /ksps.js and /healthz, and
   takes the seed's client example (`from ksps import Client`, PascalCase verbs) run by the venv's Python.
2. JavaScript: `npm pack` in clients/js; the tarball is installed into a fresh project, whose Node program
   (ESM and CommonJS) talks to that server; the browser bundles must be in the package.
3. Go: `go vet` and `go test` (every test compiled, the examples run) of clients/go with an empty module cache
   (GOMODCACHE in a temp dir, -mod=mod), so go.mod and go.sum alone fetch what the module needs.
4. deploy/: `systemd-analyze verify` of the unit, and a build of the Dockerfile, each only where the tool can
   run here; otherwise the log says SKIPPED and why, and it is not counted as passed.

Usage: `.venv/bin/python scripts/check_release.py` (scripts/test.sh runs it). Exits 1 on the first failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import venv
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JS = ROOT / "clients" / "js"
GO = ROOT / "clients" / "go"
#: The MIT license (pyproject.toml, package.json); the npm package and the Go module each carry a copy at their root.
LICENSE = (ROOT / "LICENSE").read_bytes()
TIMEOUT = 300

#: The seed's client example (README), closing the client so the program ends; prints what it received.
PY_CLIENT = """
import asyncio
import ksps
from ksps import Client

async def main():
    got = asyncio.get_running_loop().create_future()
    client = await Client.NewClient(Address="{address}")
    await client.Subscribe("events", lambda data, unsub: got.done() or got.set_result(data))
    ack = await client.PublishWithAck("events", "From Python!", 3.0)
    responses = await ack.Wait()
    print("python", ksps.__file__.startswith("{venv}"), (await asyncio.wait_for(got, 5))["data"], len(responses))
    await client.Close()

asyncio.run(main())
"""

NODE_ESM = """
import { Client } from "ksps";
const client = await Client.NewClient({ Address: "%s" });
const got = new Promise((resolve) => client.Subscribe("events", (message) => resolve(message.data)));
await client.Publish("events", "From Node!");
console.log("node-esm", await got);
client.Close();
"""

NODE_CJS = """
const { Client } = require("ksps");
(async () => {
  const client = await Client.NewClient({ Address: "%s" });
  await client.Publish("events", "From CommonJS!");
  console.log("node-cjs", "published");
  client.Close();
})();
"""


def run(command: list[str | Path], *, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    """Run `command`; its output when it succeeds, else exit with it."""
    done = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT)
    if done.returncode != 0:
        sys.exit(f"FAILED: {' '.join(map(str, command))} (in {cwd}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def check(condition: bool, message: str) -> None:
    if not condition:
        sys.exit(f"FAILED: {message}")


@contextmanager
def step(name: str) -> Iterator[None]:
    start = time.monotonic()
    print(f"--- {name}", flush=True)
    yield
    print(f"ok  {name} ({time.monotonic() - start:.1f} s)", flush=True)


@contextmanager
def server(ksps: Path) -> Iterator[str]:
    """`ksps serve` of an installed venv on a free loopback port; yields host:port from its banner."""
    proc = subprocess.Popen([str(ksps), "serve", "--address", "127.0.0.1:0", "--log-level", "warning"],
                            stderr=subprocess.PIPE, text=True, cwd=ksps.parent)
    try:
        assert proc.stderr is not None
        lines = []
        for _ in range(50):  # warnings (an open-file limit that lowers --max-connections) may come first
            lines.append(proc.stderr.readline())
            found = re.search(r"serving on ws://(127\.0\.0\.1:\d+)/ws/bus", lines[-1])
            if found or not lines[-1]:
                break
        check(found is not None, f"`ksps serve` printed no banner: {''.join(lines)}")
        assert found is not None
        yield found.group(1)
    finally:
        proc.terminate()
        code = proc.wait(30)
        check(code == 0, f"`ksps serve` did not stop cleanly on SIGTERM (exit {code})")


def http_get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
        return body


def install(env_dir: Path, artefact: Path) -> None:
    """A fresh venv with `artefact` (and its dependencies from the index) installed."""
    # This pip installs into the new venv (`--python`): no ensurepip in each venv. --no-compile: byte-compiling
    # every dependency doubled the time and tells nothing about our package.
    venv.create(env_dir, with_pip=False)
    run([sys.executable, "-m", "pip", "--python", env_dir / "bin" / "python", "install", "-q", "--no-compile",
         "--disable-pip-version-check", artefact])


def python_artefacts(tmp: Path) -> str:
    """Build, inspect and install the wheel and the sdist; returns a running server's address for step 2."""
    dist = tmp / "dist"
    with step("python: python -m build (sdist, then the wheel from the sdist)"):
        run([sys.executable, "-m", "build", "--outdir", dist, ROOT])
        wheels, sdists = list(dist.glob("ksps_server-*.whl")), list(dist.glob("ksps_server-*.tar.gz"))
        check(len(wheels) == 1 and len(sdists) == 1, f"expected one wheel and one sdist, got {os.listdir(dist)}")
        names = set(zipfile.ZipFile(wheels[0]).namelist())
        bundled = {"ksps/static/ksps.browser.js", "ksps/static/ksps.browser.min.js", "ksps/py.typed"}
        check(bundled <= names, f"the wheel lacks {sorted(bundled - names)}")
        check(any(name.endswith(".dist-info/licenses/LICENSE") for name in names), "the wheel lacks LICENSE")
        with tarfile.open(sdists[0]) as sdist:
            members = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
        check({"pyproject.toml", "src/ksps/static/ksps.browser.js", "CHANGELOG.md", "LICENSE"} <= members,
              "sdist incomplete")
        check(not any(name.startswith(("tests/", "clients/", "bench/")) for name in members), "sdist holds tests")
    artefacts = {"wheel": wheels[0], "sdist": sdists[0]}
    with step("python: the wheel and the sdist, each in a fresh venv (at once)"), ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda kind: install(tmp / f"venv-{kind}", artefacts[kind]), artefacts))
    for kind in artefacts:
        env_dir = tmp / f"venv-{kind}"
        python = env_dir / "bin" / "python"
        with step(f"python: the {kind}'s `ksps serve` serves /ksps.js and /healthz and runs the client example"):
            work = tmp / f"work-{kind}"
            work.mkdir()
            with server(env_dir / "bin" / "ksps") as address:
                served = http_get(f"http://{address}/ksps.js")
                check(served == (ROOT / "src/ksps/static/ksps.browser.js").read_bytes(), "/ksps.js differs")
                check(http_get(f"http://{address}/healthz").strip() == b"ok", "/healthz is not ok")
                script = work / "client.py"
                script.write_text(PY_CLIENT.format(address=address, venv=str(env_dir.resolve())))
                env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
                out = run([python, script], cwd=work, env=env)
                check(out == "python True From Python! 1\n", f"the client example printed {out!r}")
                version = run([env_dir / "bin" / "ksps", "--version"], cwd=work).strip()
                package = json.loads((JS / "package.json").read_text())["version"]
                check(version == f"ksps {package}", f"{version!r} but clients/js/package.json says {package}")
    return str(wheels[0])


def npm_tarball(tmp: Path, ksps: Path) -> None:
    with step("javascript: npm pack, installed into a fresh project, in Node (ESM and CommonJS)"):
        if not (JS / "dist" / "esm" / "index.js").exists():
            run(["npm", "run", "build", "--silent"], cwd=JS)
        tarball = Path(run(["npm", "pack", "--silent", "--pack-destination", tmp], cwd=JS).strip().splitlines()[-1])
        project = tmp / "node-project"
        project.mkdir()
        (project / "package.json").write_text('{"name": "ksps-release-check", "private": true}\n')
        run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", tmp / tarball.name], cwd=project)
        installed = project / "node_modules" / "ksps" / "dist"
        check((installed.parent / "LICENSE").read_bytes() == LICENSE, "the npm package's LICENSE differs")
        for bundle in ("ksps.browser.js", "ksps.browser.min.js"):
            check((installed / bundle).read_bytes() == (ROOT / "src/ksps/static" / bundle).read_bytes(),
                  f"the package's {bundle} is not the one the server serves")
        with server(ksps) as address:
            (project / "esm.mjs").write_text(NODE_ESM % address)
            (project / "cjs.cjs").write_text(NODE_CJS % address)
            out = run(["node", "esm.mjs"], cwd=project) + run(["node", "cjs.cjs"], cwd=project)
            check(out == "node-esm From Node!\nnode-cjs published\n", f"the Node programs printed {out!r}")


def go_module(tmp: Path, python: Path) -> None:
    with step("go: vet, and go test of the examples, with an empty module cache"):
        env = {**os.environ, "GOMODCACHE": str(tmp / "gomodcache"), "GOFLAGS": "-mod=mod",
               "KSPS_PYTHON": str(python)}
        before = {name: (GO / name).read_bytes() for name in ("go.mod", "go.sum")}
        # The module's root is clients/go: pkg.go.dev shows a module only with a license file of its own.
        check((GO / "LICENSE").read_bytes() == LICENSE, "clients/go/LICENSE differs from LICENSE")
        run(["go", "vet", "./..."], cwd=GO, env=env)
        # Every test file compiles and the Example* functions run (those stating their output are checked); the
        # whole suite runs with the race detector in clients/go/test.sh, against the checkout's server.
        out = run(["go", "test", "-count=1", "-run", "^Example", "-v", "./..."], cwd=GO, env=env)
        check("--- PASS: Example" in out or "testing: warning: no tests to run" in out, f"go test printed {out!r}")
        run(["go", "clean", "-modcache"], cwd=GO, env=env)  # the cache is read-only: go removes it
        # -mod=mod lets go add what go.mod or go.sum lack; a user's `go get` would then fail to verify.
        changed = [name for name, data in before.items() if (GO / name).read_bytes() != data]
        check(not changed, f"go changed clients/go/{' and '.join(changed)}: commit them complete")


def skipped(what: str, why: str) -> None:
    print(f"SKIPPED {what}: {why} (not run, not counted as passed)", flush=True)


def deploy(tmp: Path) -> None:
    unit = ROOT / "deploy" / "ksps.service"
    if shutil.which("systemd-analyze"):
        with step("deploy: systemd-analyze verify deploy/ksps.service"):
            # The unit runs /opt/ksps/.venv/bin/ksps; verify a copy that runs the ksps just installed.
            copy = tmp / "ksps.service"
            copy.write_text(unit.read_text().replace("/opt/ksps/.venv/bin/ksps", str(tmp / "venv-wheel/bin/ksps")))
            run(["systemd-analyze", "verify", copy])
    else:
        skipped("systemd unit check", "systemd-analyze is not installed")
    tools = [tool for tool in ("docker", "podman") if shutil.which(tool)]
    usable = [tool for tool in tools if subprocess.run([tool, "info"], capture_output=True, timeout=60).returncode == 0]
    if not usable:
        why = f"{', '.join(tools)} found but cannot build (no daemon)" if tools else "no docker or podman here"
        skipped("container image build of deploy/Dockerfile", why)
        return
    with step(f"deploy: {usable[0]} build -f deploy/Dockerfile, then `ksps --version` in the image"):
        run([usable[0], "build", "-q", "-f", "deploy/Dockerfile", "-t", "ksps-release-check", "."])
        out = run([usable[0], "run", "--rm", "--entrypoint", "ksps", "ksps-release-check", "--version"])
        check(out.startswith("ksps "), f"the image's ksps printed {out!r}")
        check(run([usable[0], "image", "inspect", "--format", "{{.Config.User}}", "ksps-release-check"]).strip()
              == "ksps", "the image does not run as the user ksps")


def main() -> None:
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ksps-release-") as name:
        tmp = Path(name).resolve()
        python_artefacts(tmp)
        npm_tarball(tmp, tmp / "venv-wheel" / "bin" / "ksps")
        go_module(tmp, tmp / "venv-wheel" / "bin" / "python")
        deploy(tmp)
    print(f"release artefacts checked in {time.monotonic() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
