"""Trusted proxies, allowed hosts and origins at the upgrade (issue 10, reproduction #5; spec §12.3, §12.4)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from ksps import Server
from ksps.server.hosts import AllowedHosts
from ksps.server.proxies import TrustedProxies
from ksps.server.server import core_of

from .conftest import Connect, StartServer
from .wire import WireClient, units

_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


async def handshake(port: int, host: str | None, origin: str | None = None) -> int:
    """The HTTP status of a WebSocket upgrade to 127.0.0.1:`port` with these `Host` and `Origin` headers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        lines = ["GET /ws/bus HTTP/1.1"]
        if host is not None:
            lines.append(f"Host: {host}")
        if origin is not None:
            lines.append(f"Origin: {origin}")
        lines += ["Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {_KEY}"]
        lines.append("Sec-WebSocket-Version: 13")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        status_line = await asyncio.wait_for(reader.readline(), units(2))
        return int(status_line.split()[1])
    finally:
        writer.close()


# -- reproduction #5: DNS rebinding ----------------------------------------------------------------------


async def test_repro5_dns_rebinding_host_and_origin_of_the_attacker_are_refused(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"attacker.example:{server.port}"
    assert await handshake(server.port, name, f"http://{name}") == 403
    warning = next(r for r in caplog.records if r.levelno == logging.WARNING and "Host" in r.getMessage())
    assert "attacker.example" in warning.getMessage() and "--allowed-hosts" in warning.getMessage()


async def test_loopback_default_accepts_the_loopback_names_with_the_port(server: Server) -> None:
    port = server.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"LOCALHOST:{port}"):
        assert await handshake(port, host, f"http://{host}") == 101, host
    for host in (f"localhost:{port + 1}", "localhost", f"127.0.0.2:{port}", f"example.com:{port}", "", None):
        assert await handshake(port, host) == 403, host


@pytest.mark.server_options(allowed_hosts=("bus.example.com", "other.example:8443"))
async def test_allowed_hosts_replace_the_default(server: Server) -> None:
    port = server.port
    for host in ("bus.example.com", "bus.example.com:1234", "BUS.example.com.", "other.example:8443"):
        assert await handshake(port, host) == 101, host
    for host in (f"127.0.0.1:{port}", "other.example", "other.example:443", "evil.bus.example.com"):
        assert await handshake(port, host) == 403, host


@pytest.mark.server_options(allowed_hosts=("*",))
async def test_a_star_allows_any_host(server: Server) -> None:
    assert await handshake(server.port, "anything.example:1") == 101


def test_default_when_bound_elsewhere_is_ip_literals_and_localhost() -> None:
    hosts = AllowedHosts((), bound_host="0.0.0.0", port=9313, secure=False)
    for host in ("203.0.113.5:9313", "203.0.113.5", "[2001:db8::1]:80", "localhost:9313", "127.0.0.1:1"):
        assert hosts.allows(host), host
    for host in ("bus.example.com:9313", "attacker.example", "", None):
        assert not hosts.allows(host), host
    assert AllowedHosts((), bound_host="::1", port=1, secure=True).allows("[::1]:1")
    assert AllowedHosts(("h",), bound_host="", port=1, secure=True).allows("h")


# -- origins --------------------------------------------------------------------------------------------


async def test_origin_refusal_is_logged_with_the_fix(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    host = f"127.0.0.1:{server.port}"
    assert await handshake(server.port, host, "http://evil.example") == 403
    assert await handshake(server.port, host, f"http://{host}") == 101
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "http://evil.example" in warning.getMessage() and "--allowed-origins" in warning.getMessage()


@pytest.mark.server_options(allowed_origins=("http://app.example",))
async def test_allowed_origins_still_work(server: Server) -> None:
    assert await handshake(server.port, f"127.0.0.1:{server.port}", "http://app.example") == 101


# -- trusted proxies --------------------------------------------------------------------------------------


async def client_address_of(server: Server, client: WireClient) -> str:
    """The client address the server settled on for `client` (its only registered connection)."""
    [connection] = [c for c in core_of(server).connections if c.client_id == client.id]
    return connection.client_address


async def test_forwarding_headers_from_an_untrusted_socket_are_ignored(
    connect: Connect, start_server: StartServer
) -> None:
    for options in ({}, {"trusted_proxies": ("10.0.0.0/8",)}):
        server = await start_server(**options)
        spoofed = await connect(
            "spoofed",
            url=server.url,
            additional_headers={"X-Forwarded-For": "203.0.113.7", "Forwarded": "for=203.0.113.8"},
        )
        assert await client_address_of(server, spoofed) == "127.0.0.1"
        await spoofed.close()


@pytest.mark.parametrize(
    ("headers", "client"),
    [
        ({"X-Forwarded-For": "203.0.113.7"}, "203.0.113.7"),
        # Right-most address that is not a trusted proxy: the left part is the client's own word.
        ({"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}, "203.0.113.7"),
        ({"X-Forwarded-For": "198.51.100.1, 203.0.113.7, 127.0.0.5"}, "203.0.113.7"),
        ({"X-Forwarded-For": "unknown"}, "127.0.0.1"),
        ({"Forwarded": 'for=192.0.2.60;proto=https, for="[2001:db8::17]:4711"'}, "2001:db8::17"),
        ({"Forwarded": "for=192.0.2.60", "X-Forwarded-For": "203.0.113.7"}, "192.0.2.60"),
        ({}, "127.0.0.1"),
    ],
)
async def test_forwarding_headers_from_a_trusted_proxy_are_believed(
    connect: Connect, start_server: StartServer, headers: dict[str, str], client: str
) -> None:
    server = await start_server(trusted_proxies=("127.0.0.0/8",))
    proxied = await connect("proxied", url=server.url, additional_headers=headers)
    assert await client_address_of(server, proxied) == client


def test_trusted_proxies_parse_addresses_and_networks() -> None:
    proxies = TrustedProxies(["10.0.0.1", "192.168.0.0/16", "fd00::/8"])
    chain = ("198.51.100.9", "192.168.3.4")
    assert proxies.client_address("10.0.0.1", chain) == "198.51.100.9"
    assert proxies.client_address("10.0.0.2", chain) == "10.0.0.2"
    assert proxies.client_address("fd00::1", ("2001:db8::5",)) == "2001:db8::5"
    assert proxies.client_address("::ffff:10.0.0.1", ("198.51.100.9:5555",)) == "198.51.100.9"
    assert proxies.describe(("10.0.0.1", 4242), ("198.51.100.9",)) == ("198.51.100.9", "198.51.100.9 via 10.0.0.1:4242")
    assert proxies.describe(("10.0.0.9", 4242), ("198.51.100.9",)) == ("10.0.0.9", "10.0.0.9:4242")
    assert not TrustedProxies([])


async def test_the_host_check_covers_the_client_bundle(server: Server) -> None:
    for host, status in ((f"attacker.example:{server.port}", b"403"), (f"127.0.0.1:{server.port}", b"")):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(f"GET /ksps.js HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        status_line = await asyncio.wait_for(reader.readline(), units(2))
        writer.close()
        if status:
            assert status_line.split()[1] == status, status_line
        else:
            assert status_line.split()[1] != b"403", status_line
