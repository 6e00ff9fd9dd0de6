"""The `ksps` commands for people, next to `ksps serve`: `pub`, `sub`, `bench` and `version`.

Each module adds one subcommand to the `ksps` parser and sets `run(args) -> exit code` on it; `cli.main`
calls it. `_target` holds what every client command shares (where the server is, credentials, TLS, the
exit codes of failures), `_loadgen` and `_receivers` the load generator of `ksps bench`, `_display` its
output.
"""

from __future__ import annotations

from typing import Any

from . import bench, pubsub, version

__all__ = ["HELP_EPILOG", "add_commands"]

#: The end of `ksps --help`: what the commands share.
HELP_EPILOG = """\
`ksps COMMAND --help` tells more. pub, sub and bench reach the server with --url ws[s]://host:port/path
(or --address, --path, --secure; --cafile for a private CA); pub and sub take --id and --token (or the
KSPS_TOKEN environment variable, which keeps the token out of ps).

exit codes of pub, sub and bench: 0 done, 1 refused by the server (or a failed ack, lost deliveries),
2 usage error, 3 cannot connect, 4 credentials refused, 130 interrupted before it started."""


def add_commands(subparsers: Any) -> None:
    """Add `pub`, `sub`, `bench` and `version` to the subparsers of the `ksps` command."""
    pubsub.add_pub(subparsers)
    pubsub.add_sub(subparsers)
    bench.add_bench(subparsers)
    version.add_version(subparsers)
