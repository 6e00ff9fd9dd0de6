"""The `ksps` command: `ksps serve` runs a server, `ksps config` prints its settings.

The options of both come from `settings.py` (one per `ServerConfig` field): a flag, a `KSPS_*` variable and a
config-file key each.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__, settings
from .commands import HELP_EPILOG, add_commands
from .errors import ConfigError, KspsError, ListenError
from .logs import configure_logging

__all__ = ["main"]


#: Exit statuses of `ksps serve` (and `ksps config`), in its `--help` and docs/configuration.md.
EXIT_OK = 0  # stopped by SIGINT or SIGTERM, cleanly
EXIT_ERROR = 1  # anything unexpected
EXIT_USAGE = 2  # a bad option, variable or config-file value (argparse's own status for usage errors)
EXIT_LISTEN = 3  # cannot listen: address in use, permission denied, unknown host
EXIT_FILES = 4  # a file cannot be read or loaded: config file, TLS certificate or key, JWT key

_SERVE_OPTIONS = settings.OPTIONS
_switch = settings.switch
_names = settings.names

_EPILOG = """\
Settings come from, each overriding the one before: defaults < config file (--config, TOML, keys as the
names below) < environment variables < command line. `ksps config` prints the result.

Exit status: 0 stopped by SIGINT/SIGTERM; 1 unexpected error; 2 bad option, variable or config-file value;
3 cannot listen (address in use, permission denied); 4 a file cannot be read (config, TLS, JWT key).

Environment variables and config-file keys:
  --config                          KSPS_CONFIG
"""


def _add_setting_arguments(parser: argparse.ArgumentParser) -> None:
    """`--config` and one flag per setting; values stay text here, `settings.load` checks them all at once."""
    parser.add_argument("--config", dest="config_file", metavar="FILE", help="TOML file of settings (default: none)")
    for option in _SERVE_OPTIONS:
        help_text = option.help().replace("%", "%%")
        if option.is_switch:
            parser.add_argument(option.flag, dest=option.key, nargs="?", const="yes", metavar="yes|no", help=help_text)
        elif option.doc.repeatable:  # a list of its own values, each of which may hold commas
            parser.add_argument(option.flag, dest=option.key, action="append", metavar="RULE", help=help_text)
        else:
            parser.add_argument(option.flag, dest=option.key, metavar=option.metavar, help=help_text)


def _settings_parser(subparsers: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    epilog = _EPILOG + "\n".join(f"  {o.flag:<33} {o.env:<38} {o.key}" for o in _SERVE_OPTIONS)
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs
    )
    _add_setting_arguments(parser)
    return parser


def _serve_parser(subparsers: Any) -> argparse.ArgumentParser:
    return _settings_parser(subparsers, "serve", help="run a ksps server", description="Run a ksps server until "
                            "SIGINT or SIGTERM. It prints the URLs it serves once it listens.")  # fmt: skip


def _config_parser(subparsers: Any) -> argparse.ArgumentParser:
    description = "Print the settings `ksps serve` would run with (TOML, defaults included, secrets masked)."
    return _settings_parser(subparsers, "config", help="print the effective configuration", description=description)


def _load(args: argparse.Namespace) -> settings.Effective:
    flags = {option.key: getattr(args, option.key) for option in _SERVE_OPTIONS}
    return settings.load(args.config_file or os.environ.get("KSPS_CONFIG", ""), flags)


def _refuse(command: str, error: ConfigError) -> int:
    for problem in error.problems:
        print(f"ksps {command}: {problem.setting}: {problem.message}", file=sys.stderr)
    return EXIT_FILES if all(problem.file for problem in error.problems) else EXIT_USAGE


def _banner(urls: list[str]) -> None:
    print(f"ksps {__version__}: serving on {', '.join(urls)} (Ctrl+C to stop)", file=sys.stderr, flush=True)


def _serve(args: argparse.Namespace) -> int:
    from .server import Server

    try:
        effective = _load(args)
    except ConfigError as exc:
        return _refuse("serve", exc)
    process = effective.process
    configure_logging(process.log_level, process.log_format)
    if process.workers > 1:
        from .workers import run_workers

        return run_workers(process.workers, effective.server, process.log_level, process.log_format, ready=_banner)
    try:
        server = Server(effective.server)
        server.Run(ready=lambda: _banner(server.urls))  # once the socket listens: the real ports
    except ConfigError as exc:
        return _refuse("serve", exc)
    except ListenError as exc:
        print(f"ksps serve: {exc}", file=sys.stderr)
        return EXIT_LISTEN
    except (KspsError, ValueError, OSError) as exc:
        print(f"ksps serve: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _config(args: argparse.Namespace) -> int:
    try:
        effective = _load(args)
    except ConfigError as exc:
        return _refuse("config", exc)
    sys.stdout.write(settings.to_toml(effective))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `ksps` command."""
    parser = argparse.ArgumentParser(
        prog="ksps",
        description="ksps: real-time publish/subscribe over WebSocket.",
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ksps {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _serve_parser(subparsers)
    _config_parser(subparsers)
    add_commands(subparsers)  # pub, sub, bench, version: src/ksps/commands/
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "config":
        return _config(args)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
