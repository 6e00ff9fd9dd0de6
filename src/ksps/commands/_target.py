"""What the client commands share: where the server is, credentials, TLS, and how failures end the command.

`--url ws[s]://host:port/path` or `--address host:port` with `--path` and `--secure` (the Python client's
options); `--token` or `KSPS_TOKEN`; `--cafile` for a server whose certificate a private CA signed.
A failure is one line on stderr, `ksps CMD: what happened`, and an exit code per class (`EXIT_*`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import ssl
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ksps.errors import AuthError, ConnectionFailed, KspsError

if TYPE_CHECKING:
    from ksps.client import Client

__all__ = [
    "EXIT_AUTH",
    "EXIT_CONNECT",
    "EXIT_FAILED",
    "EXIT_USAGE",
    "CommandFailed",
    "Target",
    "add_target_options",
    "connected",
    "fail",
]

#: A command-line mistake (argparse's own code).
EXIT_USAGE = 2
#: The server could not be reached: refused, unknown host, TLS failure, wrong path (HTTP 404), timeout.
EXIT_CONNECT = 3
#: The server refused the credentials: close code 4003/4004 or HTTP 401 (spec §10).
EXIT_AUTH = 4
#: Connected, but the server refused what was asked (e.g. a forbidden topic), or an ack came back failed.
EXIT_FAILED = 1

DEFAULT_ADDRESS = "localhost:9313"
DEFAULT_PATH = "/ws/bus"


class CommandFailed(Exception):
    """Ends a command with one line on stderr and an exit code."""

    def __init__(self, message: str, *, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Target:
    """The server a command talks to, and with which credentials."""

    address: str
    path: str
    secure: bool
    client_id: str
    token: str
    cafile: str

    @property
    def url(self) -> str:
        """The WebSocket URL, for messages."""
        return ("wss://" if self.secure else "ws://") + self.address + self.path

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Target:
        """Read `--url` (or `--address`, `--path`, `--secure`), `--id`, `--token`/`KSPS_TOKEN`, `--cafile`."""
        address, path, secure = args.address or DEFAULT_ADDRESS, args.path or DEFAULT_PATH, args.secure
        if args.url:
            address, path, secure = _split_url(args.url)
        if not path.startswith("/"):
            raise CommandFailed(f"--path must start with '/': {path!r}", code=EXIT_USAGE)
        token = args.token if args.token is not None else os.environ.get("KSPS_TOKEN", "")
        return cls(address, path, secure or bool(args.cafile), args.id or "", token, args.cafile or "")

    def client_options(self) -> dict[str, Any]:
        """Keywords of `Client.connect` reaching this target; no reconnection before the first success."""
        options: dict[str, Any] = {"address": self.address, "path": self.path, "secure": self.secure}
        if self.client_id:
            options["id"] = self.client_id
        if self.token:
            options["token"] = self.token
        if self.cafile:
            options["ssl_context"] = ssl.create_default_context(cafile=self.cafile)
        return options


def _split_url(url: str) -> tuple[str, str, bool]:
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise CommandFailed(f"--url must look like ws://host:port/path or wss://...: {url!r}", code=EXIT_USAGE)
    address = parts.netloc if parts.port else f"{parts.netloc}:{443 if parts.scheme == 'wss' else 80}"
    path = (parts.path or DEFAULT_PATH) + (f"?{parts.query}" if parts.query else "")
    return address, path, parts.scheme == "wss"


def add_target_options(parser: argparse.ArgumentParser, *, identity: bool = True) -> None:
    """`--url`, `--address`, `--path`, `--secure`, `--cafile` and (with `identity`) `--id`, `--token`."""
    group = parser.add_argument_group("server")
    group.add_argument("--url", help="ws://host:port/path or wss://...; overrides --address, --path, --secure")
    group.add_argument("--address", help=f"host:port of the server (default: {DEFAULT_ADDRESS})")
    group.add_argument("--path", help=f"WebSocket path (default: {DEFAULT_PATH})")
    group.add_argument("--secure", action="store_true", help="connect with TLS, wss:// (default: off)")
    group.add_argument("--cafile", help="PEM file of the CA that signed the server's certificate; implies --secure")
    if identity:
        group.add_argument("--id", help="client ID (default: the token's sub, else a random client_<ms>_<hex>)")
        group.add_argument(
            "--token", help="JWT sent in the ping (spec §10); prefer KSPS_TOKEN to keep it out of ps (default: none)"
        )


@contextlib.asynccontextmanager
async def connected(target: Target, **options: Any) -> AsyncIterator[Client]:
    """A client connected to `target`, closed on exit; connection and auth failures become CommandFailed."""
    from ksps.client import Client

    try:
        client = await Client.connect(**target.client_options(), **options)
    except AuthError as exc:
        raise CommandFailed(f"{target.url} refused the credentials: {_reason(exc)}", code=EXIT_AUTH) from exc
    except ConnectionFailed as exc:
        raise CommandFailed(str(exc), code=EXIT_CONNECT) from exc
    except (OSError, ssl.SSLError) as exc:  # e.g. an unreadable --cafile
        raise CommandFailed(f"cannot connect to {target.url}: {exc}", code=EXIT_CONNECT) from exc
    try:
        yield client
    finally:
        await client.Close()


def _reason(exc: AuthError) -> str:
    text = str(exc).removeprefix("the server refused the credentials: ")
    return f"{text} (code {exc.code})"


def fail(command: str, exc: BaseException) -> int:
    """Print the one-line error of `exc` and return its exit code."""
    if isinstance(exc, CommandFailed):
        code, text = exc.code, str(exc)
    elif isinstance(exc, KspsError):
        code, text = EXIT_FAILED, str(exc)
    else:
        raise exc
    print(f"ksps {command}: {text}", file=sys.stderr)
    return code
