"""Which `Host` header values the server answers (spec §12.4): the guard against DNS rebinding.

A page on `http://attacker.example:9313` whose name the attacker re-points to 127.0.0.1 talks to a local
server with the browser's blessing: same origin, `Origin` equal to `Host`. Only the `Host` value gives it
away, so the server answers only names it was told are its own.
"""

from __future__ import annotations

import ipaddress

from ..broker.federation import split_host_port

__all__ = ["AllowedHosts"]

_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def _split(hostport: str) -> tuple[str, int | None]:
    """(lower-case host without brackets or trailing dot, port or None) of `host[:port]`."""
    host, port = split_host_port(hostport.strip().lower())
    try:
        number = int(port) if port else None
    except ValueError:
        number = -1
    return host.rstrip("."), number


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_loopback_host(host: str) -> bool:
    """Whether a bind address (`localhost`, `127.0.0.1`, `::1`, ...) is loopback only."""
    if host.lower() in ("", "localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class AllowedHosts:
    """The `Host` values accepted at the upgrade.

    `entries` are `host` (any port) or `host:port`, `*` for any. When empty, the default depends on where
    the server listens: on loopback, `localhost`, `127.0.0.1` and `[::1]` with the listening port; elsewhere,
    any IP literal and `localhost` (a rebinding page always has a DNS name), so DNS names must be listed.
    """

    def __init__(self, entries: tuple[str, ...], *, bound_host: str, port: int, secure: bool) -> None:
        self._default_port = 443 if secure else 80
        self.any = "*" in entries
        self.any_ip = False
        if entries:
            self.allowed = {_split(entry) for entry in entries if entry != "*"}
        elif is_loopback_host(bound_host):
            self.allowed = {(name, port) for name in _LOOPBACK_NAMES}
        else:
            self.allowed = {("localhost", None)}
            self.any_ip = True

    def allows(self, host_header: str | None) -> bool:
        """Whether a request with this `Host` header may be answered."""
        if self.any:
            return True
        if not host_header:
            return False
        host, port = _split(host_header)
        if port is None:
            port = self._default_port
        if (host, port) in self.allowed or (host, None) in self.allowed:
            return True
        return self.any_ip and _is_ip(host)

    def describe(self) -> str:
        """The accepted values, for the log line of a refusal."""
        parts = sorted((f"[{h}]" if ":" in h else h) + (f":{p}" if p is not None else "") for h, p in self.allowed)
        return ", ".join(parts) + (", any IP address" if self.any_ip else "")
