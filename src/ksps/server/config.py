"""Server settings, with their defaults; `ksps serve` derives its flags, environment variables and help from them.

Each field that is a `ksps serve` option is declared with :func:`setting`: its default and its one-line help live
here, next to the `#:` comment, and `ksps serve --help`, `ksps config` and the config file all read them from
:func:`dataclasses.fields`. The checks of every value are in `server/validation.py` (:meth:`ServerConfig.validate`).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from ..errors import ConfigError

__all__ = ["SETTING", "ServerConfig", "SettingDoc", "setting"]

_T = TypeVar("_T")

#: The key of a field's metadata that makes it a `ksps serve` option.
SETTING = "ksps.setting"


@dataclass(frozen=True)
class SettingDoc:
    """How a setting appears on the command line: flag `--{name}` and variable `KSPS_{NAME}` by default."""

    #: One line of `--help`; `(default: ...)` is appended from the field's actual default.
    help: str
    #: The flag without `--` when it differs from the field name (`redis` for `redis_url`).
    flag: str = ""
    #: What `(default: ...)` says when the raw default would not tell (`a random UUID` for an empty ID).
    default_text: str = ""
    #: Masked by `ksps config` and never logged.
    secret: bool = False
    #: A list given by repeating the flag (`--history A --history B`); its environment variable separates the
    #: items with `;` instead of `,` (the items contain commas).
    repeatable: bool = False


def setting(
    default: _T,
    help: str,
    *,
    flag: str = "",
    default_text: str = "",
    secret: bool = False,
    repeatable: bool = False,
) -> _T:
    """A `ServerConfig` field that is also a `ksps serve` option (and a config-file key, and a `KSPS_*` variable)."""
    doc = SettingDoc(help=help, flag=flag, default_text=default_text, secret=secret, repeatable=repeatable)
    value: _T = field(default=default, metadata={SETTING: doc}, repr=not secret)
    return value  # a dataclasses.Field, which @dataclass turns into the default


@dataclass
class ServerConfig:
    """Everything a :class:`~ksps.server.Server` can be told. Every field has a safe default.

    :meth:`validate` checks every value (ranges, files readable); `Server(...)` calls it, so a bad value fails at
    construction with a :class:`~ksps.errors.ConfigError` naming each problem.
    """

    #: `host:port` to listen on; port 0 picks a free one. The default binds loopback only, like the original.
    address: str = setting(
        "localhost:9313", "host:port to listen on, port 0 = any free port; 0.0.0.0:9313 to expose it"
    )
    #: Path of the WebSocket endpoint; starts with `/`. Default `/ws/bus`.
    path: str = setting("/ws/bus", "WebSocket path, starting with /")
    #: The server's own client ID (addresses `OnID`); a random UUID when empty.
    server_id: str = setting("", "the server's own ID, the target of OnID", default_text="a random UUID")
    #: Largest frame accepted, in bytes (at least 512, room for a `ping`); larger frames close the connection
    #: with 1009. Default 1 MiB.
    max_message_size: int = setting(
        1024 * 1024, "largest accepted frame in bytes, at least 512; larger closes with 1009"
    )
    #: Bytes one connection may have waiting to be sent before it is closed with 4002 (slow consumer). Default 8 MiB.
    max_send_queue: int = setting(
        8 * 1024 * 1024, "bytes a connection may have waiting before it is closed as a slow consumer, 4002"
    )
    #: Frames per second one connection may send on average, every opcode counted (0 = unlimited); excess
    #: closes with 1008. Default 20,000: with the burst below, a flood is cut within a fraction of a second
    #: (spec §13.1). A service publishing faster on one connection raises it.
    max_frames_per_second: float = setting(
        20_000.0, "average frames per second per connection, every opcode, 0 = unlimited; excess closes with 1008"
    )
    #: Burst allowance of the rate limit, in frames. Default 10,000: a client with the most topics
    #: (`max_topics_per_connection`) can resubscribe to all of them at once after a reconnect.
    frame_burst: int = setting(10_000, "burst allowance of the frame rate limit, in frames")
    #: Longest topic and client ID, in bytes. Default 256 each.
    max_topic_bytes: int = setting(256, "longest topic in bytes")
    max_id_bytes: int = setting(256, "longest client ID or ack ID in bytes")
    #: Ack timeout, in seconds, when a client sends none; and the most a client may ask for. Default 5 and 300.
    default_ack_timeout: float = setting(
        5.0, "seconds to wait for acks when a client gives no timeout", flag="ack-timeout"
    )
    max_ack_timeout: float = setting(300.0, "longest ack timeout a client may ask for, seconds")
    #: Seconds of silence before the server pings a connection (0 = never), and seconds it waits for the pong
    #: (at most the interval). Default 20 and 20.
    keepalive_interval: float = setting(20.0, "seconds of silence before the server pings a client, 0 = off")
    keepalive_timeout: float = setting(
        20.0, "seconds to wait for the pong before dropping the client, at most --keepalive-interval"
    )
    #: Seconds a client has to complete the WebSocket handshake. Default 10.
    handshake_timeout: float = setting(10.0, "seconds a client has to complete the WebSocket (and TLS) handshake")
    #: Browser origins allowed besides the server's own host; `*` allows any. Default none.
    allowed_origins: tuple[str, ...] = setting(
        (), "comma-separated browser origins allowed besides same-origin, * = any"
    )
    #: Shared secret that signs `server-to-server` frames (spec §12.1); empty = they are all refused.
    peer_secret: str = setting(
        "",
        "shared secret that signs server-to-server frames (HMAC, never sent); "
        "without it every server-to-server frame is refused and relays fail",
        secret=True,
    )
    #: Other `host:port` names this server answers to in `server-to-server` frames. Default none.
    public_addresses: tuple[str, ...] = setting(
        (), "comma-separated other host:port names this server answers to in server-to-server frames"
    )
    #: TLS: certificate chain and private key (PEM files, readable). Both set = serve wss://. Default none.
    tls_cert: str = setting("", "PEM certificate chain file; with --tls-key, serve wss://")
    tls_key: str = setting("", "PEM private key file")
    #: Or a ready SSL context (takes precedence over the files).
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False)
    #: Serve the browser client bundle at `/ksps.js` (docs/clients/js.md).
    serve_client_bundle: bool = True
    #: Seconds `stop()` waits for callbacks and relays to finish before cancelling them. Default 5.
    shutdown_grace: float = setting(5.0, "seconds stop waits for callbacks and relays")
    #: `redis://host:port/db` joins this server to the other nodes on that Redis (spec/cluster.md). Default none.
    redis_url: str = setting(
        "", "redis://host:port/db (or rediss://, unix://): join the other nodes on this Redis as one bus", flag="redis"
    )
    #: Prefix of the Redis channels, so several clusters can share one Redis. Default `ksps`.
    redis_prefix: str = setting("ksps", "prefix of the Redis channels, to share one Redis")
    #: Seconds between two state messages of this node, and of silence before a node is forgotten (more than the
    #: heartbeat). Default 1 and 5.
    cluster_heartbeat: float = setting(1.0, "seconds between two state messages of a node")
    cluster_node_timeout: float = setting(
        5.0, "seconds of silence before a node is forgotten, more than --cluster-heartbeat"
    )
    #: Let several processes listen on the same port (SO_REUSEPORT); used by `ksps serve --workers`.
    reuse_port: bool = False

    # -- auth: identity and permissions (spec §10, docs/security.md) -------------------------------------
    #: HS256 secret that verifies client tokens (JWT); empty = none. Kept out of `repr` and logs.
    jwt_secret: str = setting(
        "", "HS256 secret verifying client tokens; prefer the environment variable to keep it out of ps", secret=True
    )
    #: PEM file of the RS256 or ES256 public key that verifies client tokens; empty = none.
    jwt_public_key: str = setting("", "PEM file of an RS256/ES256 key for tokens")
    #: JWKS file (JSON) of RS256/ES256 public keys, chosen by the token's `kid`; empty = none.
    jwt_jwks: str = setting("", "JWKS file of RS256/ES256 keys verifying tokens, by kid")
    #: Required `aud` and `iss` of tokens; empty = not checked (a token with an `aud` is then refused).
    jwt_audience: str = setting("", "required aud claim of tokens", default_text="none, not checked")
    jwt_issuer: str = setting("", "required iss claim of tokens", default_text="none, not checked")
    #: Seconds of clock skew allowed on `exp`/`nbf`; the connection closes with 4004 at `exp` plus this. Default 2.
    jwt_leeway: float = setting(2.0, "seconds of clock skew allowed on exp and nbf")
    #: Whether connections without an identity may register: "allow" or "deny"; empty = "allow", or "deny"
    #: when a JWT key is configured.
    anonymous: Literal["allow", "deny", ""] = setting(
        "", "whether connections without a token may register", default_text="allow, deny when a JWT key is set"
    )
    #: What an identity's unset permission claims (and anonymous connections) may do: "allow" or "deny".
    #: Default "allow".
    default_permissions: Literal["allow", "deny"] = setting(
        "allow", "what tokens without permission claims and anonymous clients may do"
    )
    #: Whether a `ping` may take an ID held by another unauthenticated connection: "replace" (closing it with
    #: 4001, as the original) or "reject"; an authenticated ID is only ever taken by the same identity.
    #: Default "replace".
    id_takeover: Literal["replace", "reject"] = setting(
        "replace", "what a ping for an ID another unauthenticated connection holds does"
    )
    #: Seconds a connection has to send its first `ping` before it is closed with 4005; 0 = no deadline.
    #: Default 10.
    register_timeout: float = setting(
        10.0, "seconds to send the first ping before the connection is closed with 4005, 0 = none"
    )

    # -- peers, proxies and hosts (spec §8, docs/security.md) --------------------------------------------

    #: `host:port` of the servers `publish_to_server` may relay to (spec §12.2); empty = none.
    peers: tuple[str, ...] = setting((), "comma-separated host:port of the servers publish_to_server may relay to")
    #: Let `publish_to_server` relay to any address, not only `peers`. Default False.
    relay_any_address: bool = setting(False, "let publish_to_server relay to any host and port, not only --peers")
    #: Relays in flight at once per connection, and for the whole server; more are refused (`code:"limit"`).
    #: Default 8 and 128.
    max_relays_per_client: int = setting(
        8, "relays in flight at once per connection; more are refused with code limit"
    )
    max_relays: int = setting(128, "relays in flight at once for the whole server; more are refused with code limit")
    #: Seconds a relay may take (connect, send, the target's answer) before it counts as failed. Default 5.
    relay_timeout: float = setting(5.0, "seconds a relay may take before it fails")
    #: Seconds a signed `server-to-server` frame's `ts` may differ from this server's clock. Default 30.
    peer_clock_window: float = setting(
        30.0, "seconds a signed server-to-server frame's timestamp may differ from this clock"
    )
    #: Proxy addresses or CIDRs whose `X-Forwarded-For`/`Forwarded` headers are believed (spec §12.3). Default none.
    trusted_proxies: tuple[str, ...] = setting(
        (), "comma-separated proxy IPs or CIDRs whose X-Forwarded-For/Forwarded headers are believed"
    )
    #: `Host` header values accepted at the upgrade, `host` or `host:port`, `*` = any (spec §12.4). Default:
    #: bound to loopback, `localhost`, `127.0.0.1` and `[::1]` with the listening port; bound elsewhere,
    #: IP literals and `localhost` (any port), so a DNS name must be listed.
    allowed_hosts: tuple[str, ...] = setting(
        (),
        "comma-separated Host header values accepted, host or host:port, * = any",
        default_text="bound to loopback, localhost, 127.0.0.1 and [::1] with the port; "
        "bound elsewhere, localhost and IP addresses",
    )

    # -- limits: connection and transport (docs/reliability.md) ------------------------------------------
    #: PING, PONG and CLOSE frames per second one connection may send (also its burst; 0 = unlimited); excess
    #: closes with 1008 `control frame rate exceeded`. Default 50.
    max_control_frames_per_second: float = setting(
        50.0, "PING/PONG/CLOSE frames per second per connection, 0 = unlimited; excess closes with 1008"
    )
    #: Frames one fragmented message may have, empty ones included; more closes with 1009. Default 1,024.
    max_message_fragments: int = setting(
        1024, "frames of one fragmented message, empty ones included; more closes with 1009"
    )
    #: Bytes all connections together may have waiting to be sent (0 = unlimited); over it, the connections
    #: with the most waiting are closed with 4002 until it holds again. Default 64 MiB.
    max_output_buffer: int = setting(
        64 * 1024 * 1024,
        "bytes all connections may have waiting to be sent, 0 = unlimited; over it the connections with the "
        "most waiting close with 4002",
    )
    #: WebSocket connections the server holds at once (0 = unlimited); more are refused with HTTP 503.
    #: Default 10,000, lowered at start to what the open-file limit leaves (spec §13.1).
    max_connections: int = setting(
        10_000, "connections held at once, 0 = unlimited; more get HTTP 503; lowered to fit the open-file limit"
    )
    #: WebSocket connections from one client address (0 = unlimited); more are refused with HTTP 503.
    #: Default 256.
    max_connections_per_address: int = setting(
        256, "connections from one client address, 0 = unlimited; more get HTTP 503"
    )

    # -- limits: broker (docs/reliability.md) -------------------------------------------------------------
    #: Topics one connection may be subscribed to; more are refused with an `error` with `code:"limit"`
    #: (spec §13.2). Default 10,000; 0 = unlimited.
    max_topics_per_connection: int = setting(
        10_000, "topics one connection may subscribe to, 0 = unlimited; more are refused with an error"
    )
    #: Pending ack requests one connection may have; more are refused like topics. Default 1,000; 0 = unlimited.
    max_pending_acks_per_connection: int = setting(
        1_000, "pending ack requests per connection, 0 = unlimited; more are refused with an error"
    )
    #: Pending ack requests on this node in total; client requests beyond it are refused. Default 100,000.
    max_pending_acks: int = setting(
        100_000, "pending ack requests on this server, 0 = unlimited; more are refused with an error"
    )

    # -- observability (docs/observability.md) -------------------------------------------------------------
    #: Serve Prometheus metrics at `/metrics` on the server's port (behind the Host check). Default False.
    metrics: bool = setting(False, "serve Prometheus metrics at /metrics on the server's port (behind the Host check)")
    #: `host:port` of a separate plain-HTTP listener for `/metrics`, `/healthz` and `/readyz` (metrics then
    #: are served there, not on the server's port); empty = none. Default none.
    metrics_address: str = setting(
        "", "host:port of a separate plain-HTTP listener for /metrics, /healthz and /readyz", default_text="none"
    )

    # -- admin page (docs/observability.md) ---------------------------------------------------------------
    #: Token that enables the admin page at `/admin` and protects its data (at least 16 characters); empty =
    #: no admin page (404). Default none.
    admin_token: str = setting(
        "",
        "token enabling the admin page at /admin, at least 16 characters; prefer the environment variable",
        default_text="none, no admin page",
        secret=True,
    )

    # -- history (spec §14, docs/history.md) ----------------------------------------------------------------
    #: Publications kept per topic for every topic not matched by a `history` rule; 0 = none. Default 0 (off).
    history_size: int = setting(0, "publications kept per topic for every topic, 0 = none but --history rules")
    #: Seconds a kept publication lives, for `history_size` and rules without a TTL. Default 300.
    history_ttl: float = setting(300.0, "seconds a kept publication lives, for --history-size and rules without TTL")
    #: `PATTERN=SIZE,TTL` rules (`*` matches anything, TTL in seconds or with s/m/h/d); the first match wins,
    #: SIZE 0 turns history off for those topics. Repeat the flag; `;` separates them in KSPS_HISTORY.
    #: Default none.
    history: tuple[str, ...] = setting(
        (), "PATTERN=SIZE,TTL: history for matching topics, first match wins; repeat the flag", repeatable=True
    )
    #: Publications at most in one recovery or one `history` reply (like Centrifugo's 300). Default 300.
    history_recover_max: int = setting(300, "publications at most per recovery or history reply")
    #: Memory engine bounds: topics with kept history, and bytes of kept publications in total; past either,
    #: the topic published to least recently loses its history (and its epoch). Default 10,000 and 64 MiB.
    history_max_topics: int = setting(10_000, "topics with history kept in memory; past it the least recent is dropped")
    history_max_bytes: int = setting(
        64 * 1024 * 1024, "bytes of history kept in memory; past it the least recent topic is dropped"
    )
    #: With Redis: bytes of history-topic publications a node keeps while Redis is unreachable, to store and
    #: send them when it is back (spec/cluster.md §11); past it the oldest are dropped (counted). Default 16 MiB.
    history_outage_max_bytes: int = setting(
        16 * 1024 * 1024, "bytes of publications kept while Redis is away, stored when it is back; oldest dropped"
    )

    # -- end of settings ----------------------------------------------------------------------------------

    def validate(self) -> None:
        """Raise :class:`~ksps.errors.ConfigError` listing every value that cannot work; `Server(...)` calls it."""
        from .validation import check  # the checks import TLS and JWT loading, this module stays light

        problems = check(self)
        if problems:
            raise ConfigError(problems)

    def split_address(self) -> tuple[str, int]:
        """(host, port) of `address`; an empty host means `localhost`, as in the original."""
        host, sep, port = self.address.rpartition(":")
        if not sep:
            raise ValueError(f"address must be host:port, got {self.address!r}")
        host = host.strip("[]") or "localhost"
        return host, int(port)

    @property
    def secure(self) -> bool:
        """True when the server serves wss:// (an SSL context, or both a certificate and a key)."""
        return self.ssl_context is not None or bool(self.tls_cert and self.tls_key)

    def make_ssl_context(self) -> ssl.SSLContext | None:
        """The server SSL context, or None for plain ws://."""
        if self.ssl_context is not None:
            return self.ssl_context
        if not (self.tls_cert or self.tls_key):
            return None
        if not (self.tls_cert and self.tls_key):
            raise ValueError("TLS needs both a certificate and a key")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.tls_cert, self.tls_key)
        return context
