"""Server to server over real sockets: relays, address forms, authentication, origins (spec §8, §9.9, §9.10)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import pytest

from ksps import Server, ServerError

from .conftest import Connect, StartServer
from .wire import Inbox, WireClient, units


async def start_on_an_80_port(start_server: StartServer, **options: Any) -> Server:
    """A server on a port like 8080, which the original corrupted by stripping `:80` (spec §9.10)."""
    for port in (8093, 8097, 8089, 8086, 8083, 8080):
        with contextlib.suppress(ServerError):
            return await start_server(port=port, **options)
    return await start_server(**options)  # all taken: still a useful test, if a weaker one


def dead_port() -> socket.socket:
    """A bound socket that does not listen: connections to its port are refused while it lives."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


async def relay(sender: WireClient, address: str, data: Any) -> dict[str, Any]:
    await sender.send({"action": "publish_to_server", "to": address, "data": data, "status": {"is_secure": False}})
    return await sender.recv(timeout=units(6))


async def test_client_relay_reaches_the_other_servers_subscribers_and_on_server_data(
    connect: Connect, server: Server, start_server: StartServer
) -> None:
    other = await start_on_an_80_port(start_server)
    on_server_data = Inbox()
    other.OnServerData(on_server_data)
    receiver = await connect("rx", url=other.url)
    await receiver.subscribe("news")
    sender = await connect("tx")
    address = f"127.0.0.1:{other.port}/ws/bus"

    assert await relay(sender, address, {"topic": "news", "data": {"n": 1}}) == {
        "action": "server_message_sent",
        "to": address,
    }
    origin = f"tx---ws://127.0.0.1:{server.port}/ws/bus"
    assert await receiver.recv() == {"action": "publish", "topic": "news", "data": {"data": {"n": 1}, "from": origin}}
    assert await on_server_data.get() == {"data": {"topic": "news", "data": {"n": 1}}, "from": origin}


async def test_relayed_data_without_topic_only_reaches_on_server_data(
    connect: Connect, start_server: StartServer
) -> None:
    other = await start_server()
    first, second = Inbox(), Inbox()
    other.OnServerData(first)
    other.OnServerData(second)  # handlers add up
    receiver = await connect("rx", url=other.url)
    await receiver.subscribe("news")
    sender = await connect("tx")
    assert (await relay(sender, f"127.0.0.1:{other.port}", "plain text"))["action"] == "server_message_sent"
    assert (await first.get())["data"] == "plain text"
    assert (await second.get())["data"] == "plain text"
    assert await receiver.sync() == []


@pytest.mark.parametrize(
    ("target_path", "form"),
    [
        ("/ws/bus", "127.0.0.1:{port}"),
        ("/bus2", "127.0.0.1:{port}/bus2"),
        ("/bus2", "localhost:{port}/bus2::127.0.0.1:{port}"),
        ("/bus2", "localhost:{port}::127.0.0.1:{port}/bus2"),
    ],
)
async def test_address_forms(connect: Connect, start_server: StartServer, target_path: str, form: str) -> None:
    other = await start_server(path=target_path)
    receiver = await connect("rx", url=other.url)
    await receiver.subscribe("news")
    sender = await connect("tx")
    address = form.format(port=other.port)
    assert await relay(sender, address, {"topic": "news", "data": form}) == {
        "action": "server_message_sent",
        "to": address,
    }
    assert (await receiver.expect("publish"))["data"]["data"] == form


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        # No path: the default /ws/bus does not exist on the target.
        ("127.0.0.1:{port}", ""),
        # The target does not know itself as `localhost`, and no internal name says otherwise.
        ("localhost:{port}/bus2", "target refused: unknown action: server-to-server"),
    ],
)
async def test_address_forms_that_cannot_work_are_reported(
    connect: Connect, start_server: StartServer, form: str, reason: str
) -> None:
    other = await start_server(path="/bus2")
    sender = await connect("tx")
    reply = await relay(sender, form.format(port=other.port), {"topic": "news", "data": 1})
    assert reply["action"] == "error"
    assert reply["error"].startswith("failed to relay to server: " + reason), reply


async def test_relay_to_a_dead_port_is_an_error(connect: Connect) -> None:
    sender = await connect("tx")
    with dead_port() as sock:
        reply = await relay(sender, f"127.0.0.1:{sock.getsockname()[1]}/ws/bus", 1)
    assert reply["action"] == "error"
    assert reply["error"].startswith("failed to relay to server: ")
    assert len(reply["error"]) > len("failed to relay to server: ")
    assert await sender.sync() == []


async def test_missing_address_is_an_error(connect: Connect) -> None:
    sender = await connect("tx")
    await sender.send({"action": "publish_to_server", "data": 1})
    await sender.expect_error("missing target server address")


async def test_a_pending_relay_does_not_block_the_requester(connect: Connect) -> None:
    accepted = asyncio.Event()
    writers: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        accepted.set()

    blackhole = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = blackhole.sockets[0].getsockname()[1]
    sender = await connect("tx")
    await sender.send({"action": "publish_to_server", "to": f"127.0.0.1:{port}", "data": 1})
    await asyncio.wait_for(accepted.wait(), units(2))
    await sender.subscribe("meanwhile")  # answered while the relay is stuck in its handshake
    await sender.send({"action": "direct_message", "to": "tx", "data": "me"})
    assert (await sender.expect("direct_message"))["data"] == "me"
    for writer in writers:
        writer.close()
    blackhole.close()
    reply = await sender.recv(timeout=units(6))
    assert reply["action"] == "error" and reply["error"].startswith("failed to relay to server: "), reply


async def test_server_api_publish_to_server(server: Server, connect: Connect, start_server: StartServer) -> None:
    other = await start_server()
    on_server_data = Inbox()
    other.OnServerData(on_server_data)
    receiver = await connect("rx", url=other.url)
    await receiver.subscribe("news")
    await asyncio.wait_for(
        server.PublishToServer(f"127.0.0.1:{other.port}/ws/bus", {"topic": "news", "data": 5}), units(5)
    )
    origin = f"ws://127.0.0.1:{server.port}/ws/bus"
    assert await receiver.recv() == {"action": "publish", "topic": "news", "data": {"data": 5, "from": origin}}
    assert (await on_server_data.get())["from"] == origin


async def test_server_api_publish_to_server_failure_raises(server: Server) -> None:
    with dead_port() as sock, pytest.raises(ServerError, match="failed to relay to server"):
        await asyncio.wait_for(server.PublishToServer(f"127.0.0.1:{sock.getsockname()[1]}", 1), units(5))
    with pytest.raises(ServerError):
        await server.PublishToServer("::127.0.0.1:1", 1)


# -- authentication (spec §8.3) --------------------------------------------------------------------------


@pytest.mark.parametrize("sender_secret", ["", "wrong"])
async def test_peer_secret_refuses_a_wrong_or_missing_secret(
    connect: Connect, start_server: StartServer, sender_secret: str
) -> None:
    target = await start_server(peer_secret="s3cret")
    relaying = await start_server(peer_secret=sender_secret)
    receiver = await connect("rx", url=target.url)
    await receiver.subscribe("news")
    sender = await connect("tx", url=relaying.url)
    reply = await relay(sender, f"127.0.0.1:{target.port}/ws/bus", {"topic": "news", "data": 1})
    assert reply == {
        "action": "error",
        "error": "failed to relay to server: target refused: server-to-server not allowed",
    }
    assert await receiver.sync() == []


async def test_peer_secret_accepts_the_right_secret(connect: Connect, start_server: StartServer) -> None:
    target = await start_server(peer_secret="s3cret")
    relaying = await start_server(peer_secret="s3cret")
    receiver = await connect("rx", url=target.url)
    await receiver.subscribe("news")
    sender = await connect("tx", url=relaying.url)
    reply = await relay(sender, f"127.0.0.1:{target.port}/ws/bus", {"topic": "news", "data": 1})
    assert reply["action"] == "server_message_sent"
    assert (await receiver.expect("publish"))["data"]["data"] == 1


async def test_raw_server_to_server_frames(connect: Connect, start_server: StartServer) -> None:
    target = await start_server(peer_secret="s3cret")
    receiver = await connect("rx", url=target.url)
    await receiver.subscribe("news")
    peer = await connect(url=target.url, register=False)  # server-to-server needs no ping (spec §3.2)
    frame = {
        "action": "server-to-server",
        "to": f"127.0.0.1:{target.port}",
        "data": {"data": {"topic": "news", "data": "injected"}, "from": "ws://elsewhere/ws/bus"},
    }
    await peer.send(frame)
    await peer.expect_error("server-to-server not allowed")
    await peer.send({**frame, "secret": "nope"})
    await peer.expect_error("server-to-server not allowed")
    await peer.send({**frame, "secret": "s3cret", "to": "somebody-else:1"})
    await peer.expect_error("unknown action: server-to-server")
    assert await receiver.sync() == []
    await peer.send({**frame, "secret": "s3cret"})
    assert await receiver.recv() == {
        "action": "publish",
        "topic": "news",
        "data": {"data": "injected", "from": "ws://elsewhere/ws/bus"},
    }


async def test_loopback_peers_need_no_secret_when_none_is_set(connect: Connect, server: Server) -> None:
    receiver = await connect("rx")
    await receiver.subscribe("news")
    peer = await connect(register=False)
    await peer.send(
        {
            "action": "server-to-server",
            "id": "127.0.0.1",
            "data": {"data": {"topic": "news", "data": 2}, "from": "ws://peer/ws/bus"},
        }
    )
    assert (await receiver.expect("publish"))["data"] == {"data": 2, "from": "ws://peer/ws/bus"}


async def test_public_addresses_are_recognised(connect: Connect, start_server: StartServer) -> None:
    target = await start_server(public_addresses=("bus.example.com:443",))
    receiver = await connect("rx", url=target.url)
    await receiver.subscribe("news")
    peer = await connect(url=target.url, register=False)
    for name in ("bus.example.com:443", "bus.example.com"):
        await peer.send({"action": "server-to-server", "to": name, "data": {"data": {"topic": "news", "data": name}}})
        assert (await receiver.expect("publish"))["data"]["data"] == name
