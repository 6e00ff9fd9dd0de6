"""wss:// with a throwaway certificate authority (spec §1.1)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

from .conftest import Connect, StartServer


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def test_wss_round_trip_with_cert_files(
    ca: trustme.CA, client_context: ssl.SSLContext, tmp_path: Path, connect: Connect, start_server: StartServer
) -> None:
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    server = await start_server(tls_cert=str(tmp_path / "server.pem"), tls_key=str(tmp_path / "server.pem"))
    assert server.url.startswith("wss://127.0.0.1:")
    subscriber = await connect("sub", url=server.url, ssl=client_context)
    publisher = await connect("pub", url=server.url, ssl=client_context)
    await subscriber.subscribe("secure")
    await publisher.publish("secure", {"ok": True})
    assert await subscriber.recv() == {
        "action": "publish",
        "topic": "secure",
        "data": {"data": {"ok": True}, "from": "pub"},
    }


async def test_wss_with_an_ssl_context_and_an_untrusting_client(
    ca: trustme.CA, client_context: ssl.SSLContext, connect: Connect, start_server: StartServer
) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = await start_server(ssl_context=context)
    client = await connect("c", url=server.url, ssl=client_context)
    await client.subscribe("t")
    with pytest.raises(ssl.SSLCertVerificationError):
        await connect("untrusting", url=server.url, ssl=ssl.create_default_context())


async def test_secure_relay_between_wss_servers(
    ca: trustme.CA,
    client_context: ssl.SSLContext,
    tmp_path: Path,
    connect: Connect,
    start_server: StartServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The relay verifies the target with the default trust store, which OpenSSL reads from SSL_CERT_FILE.
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    contexts = []
    for _ in range(2):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        contexts.append(context)
    target = await start_server(ssl_context=contexts[1], peer_secret="s")
    relaying = await start_server(ssl_context=contexts[0], peer_secret="s", peers=(f"127.0.0.1:{target.port}",))
    receiver = await connect("rx", url=target.url, ssl=client_context)
    await receiver.subscribe("news")
    sender = await connect("tx", url=relaying.url, ssl=client_context)
    address = f"127.0.0.1:{target.port}/ws/bus"
    await sender.send(
        {
            "action": "publish_to_server",
            "to": address,
            "data": {"topic": "news", "data": 1},
            "status": {"is_secure": True},
        }
    )
    assert await sender.recv() == {"action": "server_message_sent", "to": address}
    origin = f"tx---wss://127.0.0.1:{relaying.port}/ws/bus"
    assert await receiver.recv() == {"action": "publish", "topic": "news", "data": {"data": 1, "from": origin}}
