"""`ksps version`: the package version and the versions of what it runs on, for bug reports."""

from __future__ import annotations

import argparse
import json
import platform
from importlib import metadata
from typing import Any

__all__ = ["add_version", "versions"]

#: The distributions whose versions matter to a bug report: the transport, the codec, then the optional ones.
_DISTRIBUTIONS = ("picows", "msgspec", "uvloop", "redis", "PyJWT", "rich")


def versions() -> dict[str, str]:
    """`{"ksps": ..., "python": ..., "picows": ..., ...}`; "not installed" for an absent optional one."""
    from ksps import __version__

    found = {"ksps": __version__, "python": f"{platform.python_version()} ({platform.python_implementation()})"}
    for name in _DISTRIBUTIONS:
        try:
            found[name.lower()] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name.lower()] = "not installed"
    return found


def add_version(subparsers: Any) -> None:
    """Add `ksps version`."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "version",
        help="print the versions of ksps, Python, picows and msgspec",
        description="Print the versions of ksps, Python and the libraries it runs on (include them in bug reports).",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object (default: one line each)")
    parser.set_defaults(run=_run_version)


def _run_version(args: argparse.Namespace) -> int:
    found = versions()
    if args.json:
        print(json.dumps(found))
    else:
        width = max(map(len, found))
        for name, value in found.items():
            print(f"{name:<{width}}  {value}")
    return 0
