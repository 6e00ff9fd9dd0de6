"""Issue 11 row 9: a TCP connection to a TLS port that never sends a ClientHello is dropped after the
handshake timeout, as on a plain port, not after asyncio's 60 s (spec §13.1)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time

import trustme

from tests.server.wire import WireClient, units

from .transport_support import serving


async def test_a_silent_tcp_connection_to_a_tls_port_is_dropped_at_the_handshake_timeout() -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    async with serving(ssl_context=context, handshake_timeout=units(0.5)) as server:
        loop = asyncio.get_running_loop()
        silent = []
        for _ in range(20):
            sock = socket.socket()
            sock.setblocking(False)
            await loop.sock_connect(sock, ("127.0.0.1", server.port))
            silent.append(sock)
        started = time.perf_counter()
        # A TLS client that does its handshake is served meanwhile.
        bystander = await WireClient.open(server.url, ssl=client_context)
        assert await bystander.register("tls-bystander") == "tls-bystander"
        for sock in silent:
            with contextlib.suppress(ConnectionResetError):  # dropped by the server: end of stream, or a reset
                assert await asyncio.wait_for(loop.sock_recv(sock, 1), units(3)) == b""
            sock.close()
        took = time.perf_counter() - started
        print(f"\nrow 9: 20 silent TLS connections dropped after {took:.2f} s (handshake_timeout {units(0.5)} s)")
        assert took < units(2)
        await bystander.close()
