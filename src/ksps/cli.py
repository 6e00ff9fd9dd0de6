"""The `ksps` command: `ksps serve` runs a server; every option also reads an environment variable."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import __version__
from .errors import KspsError
from .logs import configure_logging

__all__ = ["main"]


@dataclass(frozen=True)
class _Option:
    flag: str
    field: str
    kind: Callable[[str], Any]
    help: str

    @property
    def env(self) -> str:
        return "KSPS_" + self.flag.lstrip("-").replace("-", "_").upper()


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _switch(text: str) -> bool:
    """A yes/no option: given alone on the command line it means yes; env vars say 1/true/yes or 0/false/no."""
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


_SERVE_OPTIONS = (
    _Option("--address", "address", str, "host:port to listen on; 0.0.0.0:9313 to expose it (default: localhost:9313)"),
    _Option("--path", "path", str, "WebSocket path (default: /ws/bus)"),
    _Option("--server-id", "server_id", str, "the server's own ID, the target of OnID (default: a random UUID)"),
    _Option(
        "--max-message-size",
        "max_message_size",
        int,
        "largest accepted frame in bytes; larger closes with 1009 (default: 1048576)",
    ),
    _Option(
        "--max-send-queue",
        "max_send_queue",
        int,
        "bytes a connection may have waiting before it is closed as a slow consumer, 4002 (default: 8388608)",
    ),
    _Option(
        "--max-frames-per-second",
        "max_frames_per_second",
        float,
        "average frames per second per connection, every opcode, 0 = unlimited; excess closes with 1008 "
        "(default: 20000)",
    ),
    _Option("--frame-burst", "frame_burst", int, "burst allowance of the frame rate limit (default: 10000)"),
    _Option("--max-topic-bytes", "max_topic_bytes", int, "longest topic in bytes (default: 256)"),
    _Option("--max-id-bytes", "max_id_bytes", int, "longest client ID or ack ID in bytes (default: 256)"),
    _Option(
        "--ack-timeout",
        "default_ack_timeout",
        float,
        "seconds to wait for acks when a client gives no timeout (default: 5)",
    ),
    _Option(
        "--max-ack-timeout",
        "max_ack_timeout",
        float,
        "longest ack timeout a client may ask for, seconds (default: 300)",
    ),
    _Option(
        "--keepalive-interval",
        "keepalive_interval",
        float,
        "seconds of silence before the server pings a client, 0 = off (default: 20)",
    ),
    _Option(
        "--keepalive-timeout",
        "keepalive_timeout",
        float,
        "seconds to wait for the pong before dropping the client (default: 20)",
    ),
    _Option(
        "--allowed-origins",
        "allowed_origins",
        _names,
        "comma-separated browser origins allowed besides same-origin, * = any (default: none)",
    ),
    _Option(
        "--peer-secret",
        "peer_secret",
        str,
        "shared secret that signs server-to-server frames (HMAC, never sent); "
        "without it every server-to-server frame is refused and relays fail (default: none)",
    ),
    _Option(
        "--public-addresses",
        "public_addresses",
        _names,
        "comma-separated other host:port names this server answers to in server-to-server frames",
    ),
    _Option("--tls-cert", "tls_cert", str, "PEM certificate chain; with --tls-key, serve wss://"),
    _Option("--tls-key", "tls_key", str, "PEM private key"),
    _Option("--shutdown-grace", "shutdown_grace", float, "seconds stop waits for callbacks and relays (default: 5)"),
    _Option(
        "--redis",
        "redis_url",
        str,
        "redis://host:port/db: join the other nodes on this Redis as one bus (default: none)",
    ),
    _Option("--redis-prefix", "redis_prefix", str, "prefix of the Redis channels, to share one Redis (default: ksps)"),
    _Option(
        "--cluster-heartbeat", "cluster_heartbeat", float, "seconds between two state messages of a node (default: 1)"
    ),
    _Option(
        "--cluster-node-timeout",
        "cluster_node_timeout",
        float,
        "seconds of silence before a node is forgotten (default: 5)",
    ),
    # -- auth: identity and permissions
    _Option(
        "--jwt-secret",
        "jwt_secret",
        str,
        "HS256 secret verifying client tokens; prefer the environment variable to keep it out of ps (default: none)",
    ),
    _Option("--jwt-public-key", "jwt_public_key", str, "PEM file of an RS256/ES256 key for tokens (default: none)"),
    _Option("--jwt-jwks", "jwt_jwks", str, "JWKS file of RS256/ES256 keys verifying tokens, by kid (default: none)"),
    _Option("--jwt-audience", "jwt_audience", str, "required aud claim of tokens (default: none, not checked)"),
    _Option("--jwt-issuer", "jwt_issuer", str, "required iss claim of tokens (default: none, not checked)"),
    _Option("--jwt-leeway", "jwt_leeway", float, "seconds of clock skew allowed on exp and nbf (default: 2)"),
    _Option(
        "--anonymous",
        "anonymous",
        str,
        "allow|deny connections without a token (default: allow, deny when a JWT key is set)",
    ),
    _Option(
        "--default-permissions",
        "default_permissions",
        str,
        "allow|deny what tokens without permission claims and anonymous clients may do (default: allow)",
    ),
    _Option(
        "--id-takeover",
        "id_takeover",
        str,
        "replace|reject a ping for an ID another unauthenticated connection holds (default: replace)",
    ),
    _Option(
        "--register-timeout",
        "register_timeout",
        float,
        "seconds to send the first ping before the connection is closed with 4005, 0 = none (default: 10)",
    ),

    # -- peers, proxies and hosts
    _Option(
        "--peers",
        "peers",
        _names,
        "comma-separated host:port of the servers publish_to_server may relay to (default: none)",
    ),
    _Option(
        "--relay-any-address",
        "relay_any_address",
        _switch,
        "let publish_to_server relay to any host and port, not only --peers (default: off)",
    ),
    _Option(
        "--max-relays-per-client",
        "max_relays_per_client",
        int,
        "relays in flight at once per connection; more are refused with code limit (default: 8)",
    ),
    _Option(
        "--max-relays",
        "max_relays",
        int,
        "relays in flight at once for the whole server; more are refused with code limit (default: 128)",
    ),
    _Option("--relay-timeout", "relay_timeout", float, "seconds a relay may take before it fails (default: 5)"),
    _Option(
        "--peer-clock-window",
        "peer_clock_window",
        float,
        "seconds a signed server-to-server frame's timestamp may differ from this clock (default: 30)",
    ),
    _Option(
        "--trusted-proxies",
        "trusted_proxies",
        _names,
        "comma-separated proxy IPs or CIDRs whose X-Forwarded-For/Forwarded headers are believed (default: none)",
    ),
    _Option(
        "--allowed-hosts",
        "allowed_hosts",
        _names,
        "comma-separated Host header values accepted, host or host:port, * = any (default: bound to loopback, "
        "localhost, 127.0.0.1 and [::1] with the port; bound elsewhere, localhost and IP addresses)",
    ),

    # -- limits: connection and transport
    _Option(
        "--max-control-frames-per-second",
        "max_control_frames_per_second",
        float,
        "PING/PONG/CLOSE frames per second per connection, 0 = unlimited; excess closes with 1008 (default: 50)",
    ),
    _Option(
        "--max-message-fragments",
        "max_message_fragments",
        int,
        "frames of one fragmented message, empty ones included; more closes with 1009 (default: 1024)",
    ),
    _Option(
        "--max-output-buffer",
        "max_output_buffer",
        int,
        "bytes all connections may have waiting to be sent, 0 = unlimited; over it the connections with the "
        "most waiting close with 4002 (default: 67108864)",
    ),
    _Option(
        "--max-connections",
        "max_connections",
        int,
        "connections held at once, 0 = unlimited; more get HTTP 503; lowered to fit the open-file limit "
        "(default: 20000)",
    ),
    _Option(
        "--max-connections-per-address",
        "max_connections_per_address",
        int,
        "connections from one client address, 0 = unlimited; more get HTTP 503 (default: 256)",
    ),

    # -- limits: broker
    _Option(
        "--max-topics-per-connection",
        "max_topics_per_connection",
        int,
        "topics one connection may subscribe to, 0 = unlimited; more are refused with an error (default: 10000)",
    ),
    _Option(
        "--max-pending-acks-per-connection",
        "max_pending_acks_per_connection",
        int,
        "pending ack requests per connection, 0 = unlimited; more are refused with an error (default: 1000)",
    ),
    _Option(
        "--max-pending-acks",
        "max_pending_acks",
        int,
        "pending ack requests on this server, 0 = unlimited; more are refused with an error (default: 100000)",
    ),

    # -- observability
    _Option("--metrics", "metrics", _switch, "serve Prometheus metrics at /metrics on the bus port (default: off)"),
    _Option(
        "--metrics-address",
        "metrics_address",
        str,
        "host:port of a separate HTTP listener for /metrics, /healthz and /readyz (default: none)",
    ),

    # -- end of options
)


def _serve_parser(subparsers: Any) -> argparse.ArgumentParser:
    epilog = (
        "Every option can also be set with an environment variable:\n"
        + "\n".join(f"  {option.flag:<24} {option.env}" for option in _SERVE_OPTIONS)
        + "\n  --workers                KSPS_WORKERS"
        + "\n  --log-level              KSPS_LOG_LEVEL\n  --log-format             KSPS_LOG_FORMAT"
    )
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run a ksps server",
        description="Run a ksps server until SIGINT or SIGTERM.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for option in _SERVE_OPTIONS:
        if option.kind is _switch:
            parser.add_argument(option.flag, dest=option.field, default=None, nargs="?", const="yes", help=option.help)
        else:
            parser.add_argument(option.flag, dest=option.field, default=None, help=option.help)
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("KSPS_WORKERS", "1")),
        help="server processes sharing the port (SO_REUSEPORT); more than 1 needs --redis (default: 1)",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("KSPS_LOG_LEVEL", "info"),
        choices=("debug", "info", "warning", "error"),
        help="log level; info logs each connection opened and closed, sampled under churn (default: info)",
    )
    parser.add_argument(
        "--log-format",
        default=os.environ.get("KSPS_LOG_FORMAT", "logfmt"),
        choices=("logfmt", "json"),
        help="log line format (default: logfmt)",
    )
    return parser


def _serve(args: argparse.Namespace) -> int:
    from .server import Server, ServerConfig

    options: dict[str, Any] = {}
    for option in _SERVE_OPTIONS:
        text = getattr(args, option.field)
        if text is None:
            text = os.environ.get(option.env)
        if text is None or text == "":
            continue
        try:
            options[option.field] = option.kind(text)
        except ValueError:
            print(f"ksps serve: {option.flag} ({option.env}): invalid value {text!r}", file=sys.stderr)
            return 2
    configure_logging(args.log_level, args.log_format)
    if args.workers > 1:
        if not options.get("redis_url"):
            print("ksps serve: --workers needs --redis (the workers talk to each other through it)", file=sys.stderr)
            return 2
        from .workers import run_workers

        print(
            f"ksps {__version__}: {args.workers} workers on {options.get('address', 'localhost:9313')}", file=sys.stderr
        )
        return run_workers(args.workers, options, args.log_level, args.log_format)
    try:
        server = Server(ServerConfig(**options))
        print(
            f"ksps {__version__}: serving on {options.get('address', 'localhost:9313')}"
            f"{options.get('path', '/ws/bus')} (Ctrl+C to stop)",
            file=sys.stderr,
        )
        server.Run()
    except (KspsError, ValueError, OSError) as exc:
        print(f"ksps serve: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `ksps` command."""
    parser = argparse.ArgumentParser(prog="ksps", description="ksps: real-time publish/subscribe over WebSocket.")
    parser.add_argument("--version", action="version", version=f"ksps {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _serve_parser(subparsers)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
