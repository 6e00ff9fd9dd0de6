"""Attacks on server-to-server (issue 10, reproductions #1 and #2) and the signed frame (spec §12.1, §12.2)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from ksps import Server

from .conftest import Connect, StartServer
from .peering import signed_frame
from .wire import WireClient, units

SECRET = "S3CRET-peer-value"
#: The frame of reproduction #1, as an attacker sends it.
FORGED = {
    "action": "server-to-server",
    "to": "127.0.0.1",
    "data": {"data": {"topic": "news", "data": "FAKE"}, "from": "alice"},
}


async def bystander(connect: Connect, server: Server) -> WireClient:
    client = await connect("bystander", url=server.url)
    await client.subscribe("news")
    return client


async def still_works(client: WireClient, connect: Connect, server: Server) -> None:
    """Nothing was delivered to `client` so far, and a real publication still is."""
    assert await client.sync() == []
    publisher = await connect("publisher", url=server.url)
    await publisher.publish("news", "real")
    assert await client.recv() == {"action": "publish", "topic": "news", "data": {"data": "real", "from": "publisher"}}


# -- reproduction #1: anyone on the host publishes under any name ----------------------------------------


@pytest.mark.parametrize("options", [{}, {"peer_secret": SECRET}], ids=["no-secret", "secret"])
async def test_repro1_forged_server_to_server_from_loopback_is_refused(
    connect: Connect, start_server: StartServer, options: dict[str, Any]
) -> None:
    server = await start_server(**options)
    watcher = await bystander(connect, server)
    attacker = await connect(url=server.url, register=False)  # never registered, on 127.0.0.1
    for frame in (FORGED, {**FORGED, "to": f"127.0.0.1:{server.port}"}, {**FORGED, "secret": SECRET}):
        await attacker.send(frame)
        await attacker.expect_error("server-to-server not allowed")
    await still_works(watcher, connect, server)


# -- the signed frame over the wire --------------------------------------------------------------------


@pytest.fixture
async def target(start_server: StartServer) -> Server:
    return await start_server(peer_secret=SECRET)


def frame_for(server: Server, **options: Any) -> str:
    return signed_frame(
        SECRET, to=f"127.0.0.1:{server.port}", data={"data": {"topic": "news", "data": 1}, "from": "peer"}, **options
    )


async def test_a_signed_frame_is_delivered_and_answered(connect: Connect, target: Server) -> None:
    watcher = await bystander(connect, target)
    peer = await connect(url=target.url, register=False)
    await peer.send(frame_for(target))
    await peer.expect("server_message_sent", to=f"127.0.0.1:{target.port}")
    assert await watcher.recv() == {"action": "publish", "topic": "news", "data": {"data": 1, "from": "peer"}}


@pytest.mark.parametrize(
    "bad",
    [
        {"sig": "0" * 64},
        {"sig": ""},
        {"ts": 1_000_000_000},  # signed, but 2001: outside the window
        {"ts": 4_000_000_000},
    ],
    ids=["wrong-sig", "no-sig", "expired", "future"],
)
async def test_bad_signatures_and_timestamps_are_refused(
    connect: Connect, target: Server, bad: dict[str, Any]
) -> None:
    watcher = await bystander(connect, target)
    peer = await connect(url=target.url, register=False)
    await peer.send(frame_for(target, **bad))
    await peer.expect_error("server-to-server not allowed")
    await still_works(watcher, connect, target)


async def test_a_frame_signed_with_another_secret_or_altered_data_is_refused(connect: Connect, target: Server) -> None:
    watcher = await bystander(connect, target)
    peer = await connect(url=target.url, register=False)
    await peer.send(signed_frame("not-the-secret", to=f"127.0.0.1:{target.port}", data={"data": 1}))
    await peer.expect_error("server-to-server not allowed")
    genuine = frame_for(target)
    await peer.send(genuine.replace('"data":1', '"data":2'))
    await peer.expect_error("server-to-server not allowed")
    await still_works(watcher, connect, target)


async def test_a_replayed_frame_is_refused(connect: Connect, target: Server) -> None:
    watcher = await bystander(connect, target)
    peer = await connect(url=target.url, register=False)
    frame = frame_for(target)
    await peer.send(frame)
    await peer.expect("server_message_sent")
    assert (await watcher.expect("publish"))["data"]["data"] == 1
    replayer = await connect(url=target.url, register=False)  # another connection, same captured bytes
    for sender in (peer, replayer):
        await sender.send(frame)
        await sender.expect_error("server-to-server not allowed")
    assert await watcher.sync() == []


# -- reproduction #2: the secret handed out, a port scanner, an fd amplifier -----------------------------


class AttackerServer:
    """A WebSocket server on 127.0.0.1 that records every message it is sent and answers nothing."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[str | bytes] = asyncio.Queue()

    async def handler(self, connection: ServerConnection) -> None:
        async for message in connection:
            self.received.put_nowait(message)


@pytest.fixture
async def attacker() -> AsyncIterator[tuple[AttackerServer, str]]:
    recorder = AttackerServer()
    async with serve(recorder.handler, "127.0.0.1", 0) as ws_server:
        port = ws_server.sockets[0].getsockname()[1]
        yield recorder, f"127.0.0.1:{port}"


async def relay(client: WireClient, address: str) -> dict[str, Any]:
    await client.send({"action": "publish_to_server", "to": address, "data": {"topic": "x", "data": 1}})
    return await client.recv(timeout=units(8))


async def test_repro2_publish_to_server_to_an_unconfigured_address_is_refused(
    connect: Connect, start_server: StartServer, attacker: tuple[AttackerServer, str]
) -> None:
    recorder, address = attacker
    server = await start_server(peer_secret=SECRET)
    client = await connect("c", url=server.url)
    assert await relay(client, f"{address}/ws/bus") == {
        "action": "error",
        "error": "failed to relay to server: address not allowed",
    }
    assert await client.sync() == []
    assert recorder.received.empty()


async def test_repro2_the_secret_never_leaves_the_server(
    connect: Connect, start_server: StartServer, attacker: tuple[AttackerServer, str]
) -> None:
    recorder, address = attacker
    server = await start_server(peer_secret=SECRET, relay_any_address=True, relay_timeout=units(1))
    client = await connect("c", url=server.url)
    await client.send({"action": "publish_to_server", "to": address, "data": {"topic": "x", "data": 1}})
    received = await asyncio.wait_for(recorder.received.get(), units(3))
    text = received.decode() if isinstance(received, bytes) else received
    assert '"sig":' in text and '"nonce":' in text, text
    assert SECRET not in text and '"secret"' not in text, text
    assert (await client.recv(timeout=units(3)))["error"] == "failed to relay to server: not delivered"


async def test_repro2_failures_look_the_same_whatever_is_at_the_address(
    connect: Connect, start_server: StartServer
) -> None:
    writers: list[asyncio.StreamWriter] = []

    async def http_200(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        writers.append(writer)

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    web = await asyncio.start_server(http_200, "127.0.0.1", 0)
    quiet = await asyncio.start_server(silent, "127.0.0.1", 0)
    closed_port = await asyncio.start_server(silent, "127.0.0.1", 0)
    dead = closed_port.sockets[0].getsockname()[1]
    closed_port.close()
    await closed_port.wait_closed()
    try:
        server = await start_server(peer_secret=SECRET, relay_any_address=True, relay_timeout=units(0.5))
        client = await connect("c", url=server.url)
        replies = [
            await relay(client, f"127.0.0.1:{port}")
            for port in (dead, web.sockets[0].getsockname()[1], quiet.sockets[0].getsockname()[1])
        ]
    finally:
        for writer in writers:
            writer.close()
        web.close()
        quiet.close()
    assert replies == [{"action": "error", "error": "failed to relay to server: not delivered"}] * 3


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_repro2_relays_in_flight_are_capped_per_client(connect: Connect, start_server: StartServer) -> None:
    writers: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    blackhole = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    address = f"127.0.0.1:{blackhole.sockets[0].getsockname()[1]}"
    server = await start_server(peer_secret=SECRET, peers=(address,), relay_timeout=units(30))
    watcher = await bystander(connect, server)
    client = await connect("c", url=server.url)
    before = open_fds()
    requests = 250
    for _ in range(requests):
        await client.send({"action": "publish_to_server", "to": address, "data": 1})
    refusals = [await client.recv() for _ in range(requests - 8)]
    assert refusals == [
        {
            "action": "error",
            "error": "too many relays in flight (max 8 per connection)",
            "code": "limit",
            "to": address,
        }
    ] * (requests - 8)
    # Each relay in flight holds a socket (and the blackhole, in this process, its end): 8, not 250.
    assert open_fds() - before <= 2 * 8 + 4
    await still_works(watcher, connect, server)
    for writer in writers:
        writer.close()
    blackhole.close()
    for _ in range(8):
        assert (await client.recv(timeout=units(5)))["error"] == "failed to relay to server: not delivered"
    # Once they ended, the client may relay again.
    await client.send({"action": "publish_to_server", "to": "127.0.0.1:1", "data": 1})
    await client.expect_error("failed to relay to server: address not allowed")


async def test_relays_in_flight_are_capped_for_the_server(connect: Connect, start_server: StartServer) -> None:
    writers: list[asyncio.StreamWriter] = []
    accepted = asyncio.Semaphore(0)

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        accepted.release()

    blackhole = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    address = f"127.0.0.1:{blackhole.sockets[0].getsockname()[1]}"
    server = await start_server(
        peer_secret=SECRET, peers=(address,), max_relays=5, max_relays_per_client=3, relay_timeout=units(30)
    )
    first, second = await connect("a", url=server.url), await connect("b", url=server.url)
    for client in (first, second, second):
        for _ in range(2):
            await client.send({"action": "publish_to_server", "to": address, "data": 1})
    assert await second.recv() == {
        "action": "error",
        "error": "too many relays in flight (max 3 per connection)",
        "code": "limit",
        "to": address,
    }
    await first.send({"action": "publish_to_server", "to": address, "data": 1})
    assert await first.recv() == {
        "action": "error",
        "error": "too many relays in flight (max 5 for the server)",
        "code": "limit",
        "to": address,
    }
    for _ in range(5):
        await asyncio.wait_for(accepted.acquire(), units(3))
    for writer in writers:
        writer.close()
    blackhole.close()


# -- configuration mistakes are clear in the log, not in the client's answer ------------------------------


@pytest.mark.parametrize(("relaying_secret", "target_secret"), [(SECRET, ""), (SECRET, "other"), ("", SECRET)])
async def test_a_secret_mismatch_fails_the_relay_and_says_why_in_the_log(
    connect: Connect,
    start_server: StartServer,
    caplog: pytest.LogCaptureFixture,
    relaying_secret: str,
    target_secret: str,
) -> None:
    target = await start_server(peer_secret=target_secret)
    watcher = await bystander(connect, target)
    relaying = await start_server(peer_secret=relaying_secret, peers=(f"127.0.0.1:{target.port}",))
    client = await connect("c", url=relaying.url)
    assert await relay(client, f"127.0.0.1:{target.port}") == {
        "action": "error",
        "error": "failed to relay to server: not delivered",
    }
    reason = "no peer secret configured" if not relaying_secret else "target refused: server-to-server not allowed"
    assert any(reason in record.getMessage() for record in caplog.records), caplog.text
    assert await watcher.sync() == []


async def test_server_api_publish_to_server_without_a_secret_raises(start_server: StartServer) -> None:
    target = await start_server(peer_secret=SECRET)
    server = await start_server()
    with pytest.raises(RuntimeError, match="no peer secret configured"):
        await asyncio.wait_for(server.PublishToServer(f"127.0.0.1:{target.port}", 1), units(5))
