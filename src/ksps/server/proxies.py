"""The client address of a connection: the socket's, or what trusted proxies report (spec §12.3).

`X-Forwarded-For` and `Forwarded` are written by whoever sends the request, so they are believed only when
the socket peer is a configured trusted proxy; then the client is the right-most address of the chain that
is not itself a trusted proxy (every hop appends the address it saw, so what is left of it is the client's
word, and an attacker can put anything there).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Mapping

__all__ = ["TrustedProxies"]

log = logging.getLogger("ksps.server")

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse_address(text: str) -> _Address | None:
    """An IP from a header element: `1.2.3.4`, `1.2.3.4:80`, `[::1]:80`, `"[::1]"`, `::1`; None if not one."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _forwarded_for(value: str) -> list[str]:
    """The `for=` values of an RFC 7239 `Forwarded` header, in order."""
    found: list[str] = []
    for element in value.split(","):
        for pair in element.split(";"):
            name, _, token = pair.strip().partition("=")
            if name.strip().lower() == "for":
                found.append(token.strip())
    return found


class TrustedProxies:
    """Resolves each connection's client address from its socket peer and forwarding headers."""

    def __init__(self, networks: Iterable[str]) -> None:
        self.networks: tuple[_Network, ...] = tuple(ipaddress.ip_network(n.strip(), strict=False) for n in networks)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, address: _Address) -> bool:
        """Whether `address` is one of the trusted proxies."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def claimed_chain(self, headers: Mapping[str, str]) -> tuple[str, ...]:
        """The addresses the request's forwarding headers claim, left (client) to right (last proxy).

        `Forwarded` wins over `X-Forwarded-For` when both are present. Read at the upgrade, only when
        proxies are configured; believed or not once the socket peer is known (:meth:`client_address`).
        """
        if not self.networks:
            return ()
        getall = getattr(headers, "getall", None)
        forwarded = getall("Forwarded", []) if getall else [v for v in (headers.get("Forwarded"),) if v]
        if forwarded:
            return tuple(item for line in forwarded for item in _forwarded_for(line))
        xff = getall("X-Forwarded-For", []) if getall else [v for v in (headers.get("X-Forwarded-For"),) if v]
        return tuple(item.strip() for line in xff for item in line.split(",") if item.strip())

    def describe(self, peername: object, chain: tuple[str, ...]) -> tuple[str, str]:
        """(client address, text for logs) of a connection from socket `peername` with a claimed `chain`.

        The log text is `host:port` of the socket, or `client via proxy-host:port` when a proxy was believed.
        """
        if not (isinstance(peername, tuple) and len(peername) >= 2):
            return str(peername), str(peername)
        host, port = str(peername[0]), peername[1]
        client = self.client_address(host, chain) if chain else host
        return client, (f"{host}:{port}" if client == host else f"{client} via {host}:{port}")

    def client_address(self, peer_host: str, chain: tuple[str, ...]) -> str:
        """The client address of a connection whose socket peer is `peer_host` (spec §12.3)."""
        peer = _parse_address(peer_host)
        if peer is None or not chain or not self.trusts(peer):
            return peer_host
        client = peer
        for text in reversed(chain):
            hop = _parse_address(text)
            if hop is None:
                break  # `unknown`, an obfuscated name, garbage: stop at the last proxy we trust
            client = hop
            if not self.trusts(hop):
                break
        return str(client)
