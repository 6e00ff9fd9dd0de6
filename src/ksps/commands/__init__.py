"""The `ksps` commands for people, next to `ksps serve`: `pub`, `sub`, `bench` and `version`.

Each module adds one subcommand to the `ksps` parser and sets `run(args) -> exit code` on it; `cli.main`
calls it. `_target` holds what every client command shares (where the server is, credentials, TLS, the
exit codes of failures), `_loadgen` the load generator of `ksps bench` and `_display` its output.
"""

from __future__ import annotations

from typing import Any

from . import bench, pubsub, version

__all__ = ["add_commands"]


def add_commands(subparsers: Any) -> None:
    """Add `pub`, `sub`, `bench` and `version` to the subparsers of the `ksps` command."""
    pubsub.add_pub(subparsers)
    pubsub.add_sub(subparsers)
    bench.add_bench(subparsers)
    version.add_version(subparsers)
