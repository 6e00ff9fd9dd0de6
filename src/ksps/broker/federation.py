"""Server-to-server forwarding (spec §8): relay addresses, origin strings and inbound frame checks."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["FederationConfig", "RelayTarget", "dial_key", "parse_relay_address", "split_host_port"]


@dataclass(frozen=True)
class RelayTarget:
    """Where a relay connects (`host:port` and path) and what it tells the target it is for."""

    hostport: str
    path: str
    proxy: str

    @property
    def host(self) -> str:
        """The host part of `hostport`."""
        return split_host_port(self.hostport)[0]


def split_host_port(hostport: str) -> tuple[str, str]:
    """(host without brackets, port text or "") of `host[:port]`, `[v6]:port`, `[v6]` or a bare IPv6 address."""
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") else ""
    if hostport.count(":") == 1:
        host, _, port = hostport.partition(":")
        return host, port
    return hostport, ""


def parse_relay_address(address: str, default_path: str = "/ws/bus") -> RelayTarget:
    """Parse the four address forms of spec §8.1.

    `host:port`, `host:port/path`, `public[:port]/path::internal:port`, `public[:port]::internal:port/path`.
    The dial goes to the public part; the internal part is what the target recognises itself by.
    Ports are kept as written (the original stripped `:80` as a substring, spec §9.10).
    """
    public, proxy = _split_proxy(address)
    path = ""
    if "/" in proxy:
        proxy, slash, proxy_path = proxy.partition("/")
        path = slash + proxy_path
    if "/" in public:
        split = urlsplit("ws://" + public)
        public = split.netloc
        path = path or split.path
        if split.query:
            path += "?" + split.query
    if not public:
        raise ValueError(f"no host in server address {address!r}")
    return RelayTarget(hostport=public, path=path or default_path, proxy=proxy)


def _split_proxy(address: str) -> tuple[str, str]:
    """Split at the first `::` that is not inside an IPv6 literal such as `[::1]:9313`."""
    start = 0
    while (index := address.find("::", start)) >= 0:
        if address.count("[", 0, index) > address.count("]", 0, index):
            start = index + 2
            continue
        return address[:index], address[index + 2 :]
    return address, ""


def dial_key(hostport: str, secure: bool = False) -> tuple[str, int]:
    """(lower-case host, port) of a `host[:port]` as a dial target; a missing port is 80, or 443 for wss."""
    host, port = split_host_port(hostport)
    try:
        number = int(port) if port else (443 if secure else 80)
    except ValueError:
        number = -1  # matches no configured peer
    return host.lower(), number


@dataclass(frozen=True)
class FederationConfig:
    """How this server recognises, authenticates and relays server-to-server traffic (spec §8, §12.1)."""

    #: `host:port` the server listens on, as peers address it.
    address: str
    #: WebSocket path of the bus.
    path: str
    #: True when the server serves wss:// (changes the origin string).
    secure: bool = False
    #: Extra names this server answers to (a public address behind a proxy).
    aliases: tuple[str, ...] = ()
    #: Shared secret that signs `server-to-server` frames; empty = such frames are refused (spec §12.1).
    secret: str = ""
    #: `host:port` dial targets `publish_to_server` may reach (spec §12.2).
    peers: tuple[str, ...] = ()
    #: Let `publish_to_server` reach any address, not only `peers`.
    relay_any_address: bool = False
    #: Relays in flight at once: per requesting connection, and for the whole server (spec §12.2).
    max_relays_per_client: int = 8
    max_relays: int = 128
    #: Seconds a signed frame's `ts` may differ from this server's clock (spec §12.1).
    clock_window: float = 30.0

    def origin(self, requester: str) -> str:
        """The `from` of relayed data: `[requester---]ws[s]://address/path` (spec §8.2)."""
        base = ("wss://" if self.secure else "ws://") + self.address + self.path
        return f"{requester}---{base}" if requester else base

    def is_for_me(self, to: str, proxy: str) -> bool:
        """Whether a `server-to-server` frame addressed `to`/`proxy` is for this server."""
        names = {self.address, split_host_port(self.address)[0], *self.aliases}
        names.update(split_host_port(alias)[0] for alias in self.aliases)
        return bool((to and to in names) or (proxy and proxy in names))

    def may_relay_to(self, target: RelayTarget, secure: bool) -> bool:
        """Whether a client may have a frame relayed to `target`: its dial target is a configured peer."""
        if self.relay_any_address:
            return True
        wanted = dial_key(target.hostport, secure)
        return any(dial_key(peer, secure) == wanted for peer in self.peers)
