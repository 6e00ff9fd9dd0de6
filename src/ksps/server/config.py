"""Server settings, with their defaults; `ksps serve` maps each to a flag and an environment variable."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["ServerConfig"]


@dataclass
class ServerConfig:
    """Everything a :class:`~ksps.server.Server` can be told. Every field has a safe default."""

    #: `host:port` to listen on. The default binds loopback only, like the original.
    address: str = "localhost:9313"
    #: Path of the WebSocket endpoint.
    path: str = "/ws/bus"
    #: The server's own client ID (addresses `OnID`); a random UUID when empty.
    server_id: str = ""
    #: Largest frame accepted, in bytes; larger frames close the connection with 1009.
    max_message_size: int = 1024 * 1024
    #: Bytes one connection may have waiting to be sent before it is closed with 4002 (slow consumer).
    max_send_queue: int = 8 * 1024 * 1024
    #: Frames per second one connection may send on average, every opcode counted (0 = unlimited); excess
    #: closes with 1008. Default 20,000: with the burst below, a flood is cut within a fraction of a second
    #: (spec §13.1). A service publishing faster on one connection raises it.
    max_frames_per_second: float = 20_000.0
    #: Burst allowance of the rate limit, in frames. Default 10,000: a client with the most topics
    #: (`max_topics_per_connection`) can resubscribe to all of them at once after a reconnect.
    frame_burst: int = 10_000
    #: Longest topic and client ID, in bytes.
    max_topic_bytes: int = 256
    max_id_bytes: int = 256
    #: Ack timeout, in seconds, when a client sends none; and the most a client may ask for.
    default_ack_timeout: float = 5.0
    max_ack_timeout: float = 300.0
    #: Seconds of silence before the server pings a connection, and seconds it waits for the pong.
    keepalive_interval: float = 20.0
    keepalive_timeout: float = 20.0
    #: Seconds a client has to complete the WebSocket handshake.
    handshake_timeout: float = 10.0
    #: Browser origins allowed besides the server's own host; `*` allows any.
    allowed_origins: tuple[str, ...] = ()
    #: Shared secret that signs `server-to-server` frames (spec §12.1); empty = they are all refused.
    peer_secret: str = ""
    #: Other `host:port` names this server answers to in `server-to-server` frames.
    public_addresses: tuple[str, ...] = ()
    #: TLS: certificate chain and private key (PEM). Both set = serve wss://.
    tls_cert: str = ""
    tls_key: str = ""
    #: Or a ready SSL context (takes precedence over the files).
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False)
    #: Serve the browser client bundle at `/ksps.js` (docs/clients/js.md).
    serve_client_bundle: bool = True
    #: Seconds `stop()` waits for callbacks and relays to finish before cancelling them.
    shutdown_grace: float = 5.0
    #: `redis://host:port/db` joins this server to the other nodes on that Redis (spec/cluster.md).
    redis_url: str = ""
    #: Prefix of the Redis channels, so several clusters can share one Redis.
    redis_prefix: str = "ksps"
    #: Seconds between two state messages of this node, and of silence before a node is forgotten.
    cluster_heartbeat: float = 1.0
    cluster_node_timeout: float = 5.0
    #: Let several processes listen on the same port (SO_REUSEPORT); used by `ksps serve --workers`.
    reuse_port: bool = False

    # -- auth: identity and permissions (spec §10, docs/security.md) -------------------------------------
    #: HS256 secret that verifies client tokens (JWT); empty = none. Kept out of `repr` and logs.
    jwt_secret: str = field(default="", repr=False)
    #: PEM file of the RS256 or ES256 public key that verifies client tokens; empty = none.
    jwt_public_key: str = ""
    #: JWKS file (JSON) of RS256/ES256 public keys, chosen by the token's `kid`; empty = none.
    jwt_jwks: str = ""
    #: Required `aud` and `iss` of tokens; empty = not checked (a token with an `aud` is then refused).
    jwt_audience: str = ""
    jwt_issuer: str = ""
    #: Seconds of clock skew allowed on `exp`/`nbf`; the connection closes with 4004 at `exp` plus this.
    jwt_leeway: float = 2.0
    #: Whether connections without an identity may register: "allow" or "deny"; empty = "allow", or "deny"
    #: when a JWT key is configured.
    anonymous: Literal["allow", "deny", ""] = ""
    #: What an identity's unset permission claims (and anonymous connections) may do: "allow" or "deny".
    default_permissions: Literal["allow", "deny"] = "allow"
    #: Whether a `ping` may take an ID held by another unauthenticated connection: "replace" (closing it with
    #: 4001, as the original) or "reject"; an authenticated ID is only ever taken by the same identity.
    id_takeover: Literal["replace", "reject"] = "replace"
    #: Seconds a connection has to send its first `ping` before it is closed with 4005; 0 = no deadline.
    register_timeout: float = 10.0

    # -- peers, proxies and hosts (spec §8, docs/security.md) --------------------------------------------

    #: `host:port` of the servers `publish_to_server` may relay to (spec §12.2); empty = none.
    peers: tuple[str, ...] = ()
    #: Let `publish_to_server` relay to any address, not only `peers`. Default False.
    relay_any_address: bool = False
    #: Relays in flight at once per connection, and for the whole server; more are refused (`code:"limit"`).
    max_relays_per_client: int = 8
    max_relays: int = 128
    #: Seconds a relay may take (connect, send, the target's answer) before it counts as failed. Default 5.
    relay_timeout: float = 5.0
    #: Seconds a signed `server-to-server` frame's `ts` may differ from this server's clock. Default 30.
    peer_clock_window: float = 30.0
    #: Proxy addresses or CIDRs whose `X-Forwarded-For`/`Forwarded` headers are believed (spec §12.3). Default none.
    trusted_proxies: tuple[str, ...] = ()
    #: `Host` header values accepted at the upgrade, `host` or `host:port`, `*` = any (spec §12.4). Default:
    #: bound to loopback, `localhost`, `127.0.0.1` and `[::1]` with the listening port; bound elsewhere,
    #: IP literals and `localhost` (any port), so a DNS name must be listed.
    allowed_hosts: tuple[str, ...] = ()

    # -- limits: connection and transport (docs/reliability.md) ------------------------------------------
    #: PING, PONG and CLOSE frames per second one connection may send (also its burst; 0 = unlimited); excess
    #: closes with 1008 `control frame rate exceeded`. Default 50.
    max_control_frames_per_second: float = 50.0
    #: Frames one fragmented message may have, empty ones included; more closes with 1009. Default 1,024.
    max_message_fragments: int = 1024
    #: Bytes all connections together may have waiting to be sent (0 = unlimited); over it, the connections
    #: with the most waiting are closed with 4002 until it holds again. Default 64 MiB.
    max_output_buffer: int = 64 * 1024 * 1024
    #: WebSocket connections the server holds at once (0 = unlimited); more are refused with HTTP 503.
    #: Default 10,000, lowered at start to what the open-file limit leaves (spec §13.1).
    max_connections: int = 10_000
    #: WebSocket connections from one client address (0 = unlimited); more are refused with HTTP 503.
    #: Default 256.
    max_connections_per_address: int = 256

    # -- limits: broker (docs/reliability.md) -------------------------------------------------------------
    #: Topics one connection may be subscribed to; more are refused with an `error` with `code:"limit"`
    #: (spec §13.2). Default 10,000; 0 = unlimited.
    max_topics_per_connection: int = 10_000
    #: Pending ack requests one connection may have; more are refused like topics. Default 1,000; 0 = unlimited.
    max_pending_acks_per_connection: int = 1_000
    #: Pending ack requests on this node in total; client requests beyond it are refused. Default 100,000.
    max_pending_acks: int = 100_000

    # -- observability (docs/observability.md) -------------------------------------------------------------
    #: Serve Prometheus metrics at `/metrics` on the server's port (behind the Host check). Default False.
    metrics: bool = False
    #: `host:port` of a separate plain-HTTP listener for `/metrics`, `/healthz` and `/readyz` (metrics then
    #: are served there, not on the server's port); empty = none. Default none.
    metrics_address: str = ""

    # -- end of settings ----------------------------------------------------------------------------------

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
