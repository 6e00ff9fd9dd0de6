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
    #: Frames per second one connection may send on average (0 = unlimited); excess closes with 1008.
    max_frames_per_second: float = 200_000.0
    #: Burst allowance of the rate limit, in frames.
    frame_burst: int = 200_000
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
    #: Shared secret for `server-to-server`; empty = accept only loopback peers (spec §8.3).
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

    # -- limits: connection and transport (docs/reliability.md) ------------------------------------------

    # -- limits: broker (docs/reliability.md) -------------------------------------------------------------

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
