"""The `centrifugo` target: Centrifugo v6, the leading real-time messaging server, built from its Go module.

The version is pinned by bench/targets/centrifugo/go.mod (its own module, so its many dependencies and its Go
version stay out of bench/go.mod). The binary is built once into bench/.build/centrifugo-<version> (several
minutes the first time, so the target is not in --smoke) and reused while the pin is unchanged.

Each start gets the same generated JSON configuration: anonymous connections without a token, clients may
subscribe and publish to channels without a namespace (the `bench` channel of the scenarios), no history and
no presence (the defaults), logging at warn, the server HTTP API, admin UI and usage statistics off, so the
configuration holds no key at all. Everything else is Centrifugo's default, keepalive included (an
application-level ping every 25 s that the load generator answers).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
BUILD = BENCH / ".build"
MODULE_DIR = BENCH / "targets" / "centrifugo"
PACKAGE = "github.com/centrifugal/centrifugo/v6"
#: Where Centrifugo serves its bidirectional WebSocket transport by default.
WS_PATH = "/connection/websocket"
#: The load generator subcommands with a Centrifugo mode (bench/loadgen/protocol.go).
SUBCOMMANDS = frozenset({"fanout", "latency", "idle", "connrate"})

#: Written to bench/.build at start; see the module docstring for why each setting.
CONFIG: dict[str, object] = {
    "log": {"level": "warn"},
    "usage_stats": {"disabled": True},
    "http_api": {"disabled": True},
    "admin": {"enabled": False},
    "client": {"allow_anonymous_connect_without_token": True},
    "channel": {
        "without_namespace": {
            "allow_subscribe_for_client": True,
            "allow_subscribe_for_anonymous": True,
            "allow_publish_for_client": True,
            "allow_publish_for_anonymous": True,
            "presence": False,
            "history_size": 0,
        }
    },
}


class BuildError(RuntimeError):
    """Centrifugo could not be built here."""


def version() -> str:
    """The pinned version, from bench/targets/centrifugo/go.mod."""
    found = re.search(rf"^\s*{re.escape(PACKAGE)} (v\S+)", (MODULE_DIR / "go.mod").read_text(), re.M)
    if found is None:
        raise BuildError(f"{MODULE_DIR / 'go.mod'} does not require {PACKAGE}")
    return found.group(1)


def binary() -> Path:
    """The built server; its name carries the version, so changing the pin builds anew."""
    return BUILD / f"centrifugo-{version()}"


def config_path() -> Path:
    return BUILD / "centrifugo-bench.json"


def build(timeout: float = 1800.0) -> None:
    """Build the pinned Centrifugo unless it is built already; BuildError says why not."""
    target = binary()
    if target.is_file():
        return
    if shutil.which("go") is None:
        raise BuildError(f"go is not on PATH: it is needed to build {PACKAGE} {version()}")
    BUILD.mkdir(exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    # The release builds set the version the same way (Centrifugo's Makefile); without it the server calls
    # itself 0.0.0 and warns at every start.
    flags = f"-X {PACKAGE}/internal/build.Version={version().removeprefix('v')}"
    command = ["go", "build", "-ldflags", flags, "-o", str(partial), PACKAGE]
    try:
        done = subprocess.run(command, cwd=MODULE_DIR, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise BuildError(f"building {PACKAGE} took longer than {timeout:.0f} s") from None
    if done.returncode != 0:
        hint = ""
        if "requires go >=" in done.stderr or "toolchain" in done.stderr:
            hint = "\n(the Go named in bench/targets/centrifugo/go.mod is needed: see docs/performance.md)"
        raise BuildError(f"{' '.join(command)} (in {MODULE_DIR}) failed:\n{done.stderr.strip()[-3000:]}{hint}")
    os.replace(partial, target)  # a build cut short never passes for a finished one


def command(port: int, helpers: Mapping[str, int]) -> list[str]:
    """argv of a server on 127.0.0.1:port; writes the configuration first (the same every time)."""
    path = config_path()
    text = json.dumps(CONFIG, indent=1) + "\n"
    if not path.is_file() or path.read_text() != text:
        BUILD.mkdir(exist_ok=True)
        path.write_text(text)
    address = ["--http_server.address", "127.0.0.1", "--http_server.port", str(port)]
    return [str(binary()), "--config", str(path), *address]
