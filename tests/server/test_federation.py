"""Server to server over real sockets: relays, address forms, origins (spec §8, §9.10).

Relays need a peer secret on both servers and the target among the relaying server's `peers` (spec §12);
the attacks on that are in test_peers*.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from typing import Any

import pytest

from ksps import ConnectionFailed, ListenError, Server

from . import tokens
from .conftest import Connect, StartServer
from .peering import signed_frame
from .wire import Inbox, WireClient, units


async def start_on_an_80_port(start_server: StartServer, **options: Any) -> Server:
    """A server on a free port 80NN, which the original corrupted by stripping `:80` (spec §9.10).

    The port is drawn at random among 8000-8099 (the machine is shared: no fixed port), trying a few."""
    for port in random.sample(range(8000, 8100), 12):
        with contextlib.suppress(ListenError):
            return await start_server(port=port, **options)
    return await start_server(**options)  # all taken: still a useful test, if a weaker one


def dead_port() -> socket.socket:
    """A bound socket that does not listen: connections to its port are refused while it lives."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


SECRET = "test-peer-secret"


async def relaying_to(start_server: StartServer, *targets: Server, names: tuple[str, ...] = ()) -> Server:
    """A server that may relay to `targets` (by 127.0.0.1:port and localhost:port) and to `names`."""
    peers = [f"{host}:{t.port}" for t in targets for host in ("127.0.0.1", "localhost")]
    return await start_server(peer_secret=SECRET, peers=(*peers, *names))


async def relay(sender: WireClient, address: str, data: Any) -> dict[str, Any]:
    await sender.send({"action": "publish_to_server", "to": address, "data": data, "status": {"is_secure": False}})
    return await sender.recv(timeout=units(6))


async def test_client_relay_reaches_the_other_servers_subscribers_and_on_server_data(
    connect: Connect, start_server: StartServer
) -> None:
    other = await start_on_an_80_port(start_server, peer_secret=SECRET)
    server = await relaying_to(start_server, other)
    on_server_data = Inbox()
    other.OnServerData(on_server_data)
    receiver = await connect("rx", url=other.url)
    await receiver.subscribe("news")
    sender = await connect("tx", url=server.url)
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
    other = await start_server(peer_secret=SECRET)
    server = await relaying_to(start_server, other)
    first, second = Inbox(), Inbox()
    other.OnServerData(first)
    other.OnServerData(second)  # handlers add up
    receiver = await connect("rx", url=other.url)
    await receiver.subscribe("news")
    sender = await connect("tx", url=server.url)
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
    other = await start_server(path=target_path, peer_secret=SECRET)
    server = await relaying_to(start_server, other)
    receiver = await connect("rx", url=other.url)
    await receiver.subscribe("news")
    sender = await connect("tx", url=server.url)
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
        ("127.0.0.1:{port}", "404"),
        # The target does not know itself as `localhost`, and no internal name says otherwise.
        ("localhost:{port}/bus2", "target refused: unknown action: server-to-server"),
    ],
)
async def test_address_forms_that_cannot_work_are_reported(
    connect: Connect, start_server: StartServer, form: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    other = await start_server(path="/bus2", peer_secret=SECRET)
    server = await relaying_to(start_server, other)
    sender = await connect("tx", url=server.url)
    reply = await relay(sender, form.format(port=other.port), {"topic": "news", "data": 1})
    # The client learns only that it failed (spec §12.2); the reason is in the server log.
    assert reply == {"action": "error", "error": "failed to relay to server: not delivered"}
    assert any("relay to" in r.getMessage() and reason in r.getMessage() for r in caplog.records), caplog.text


async def test_relay_to_a_dead_port_is_an_error(connect: Connect, start_server: StartServer) -> None:
    with dead_port() as sock:
        port = sock.getsockname()[1]
        server = await start_server(peer_secret=SECRET, peers=(f"127.0.0.1:{port}",))
        sender = await connect("tx", url=server.url)
        reply = await relay(sender, f"127.0.0.1:{port}/ws/bus", 1)
    assert reply == {"action": "error", "error": "failed to relay to server: not delivered"}
    assert await sender.sync() == []


async def test_missing_address_is_an_error(connect: Connect) -> None:
    sender = await connect("tx")
    await sender.send({"action": "publish_to_server", "data": 1})
    await sender.expect_error("missing target server address")


async def test_a_pending_relay_does_not_block_the_requester(connect: Connect, start_server: StartServer) -> None:
    accepted = asyncio.Event()
    writers: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        accepted.set()

    blackhole = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = blackhole.sockets[0].getsockname()[1]
    server = await start_server(peer_secret=SECRET, peers=(f"127.0.0.1:{port}",))
    sender = await connect("tx", url=server.url)
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


async def test_server_api_publish_to_server(connect: Connect, start_server: StartServer) -> None:
    other = await start_server(peer_secret=SECRET)
    server = await start_server(peer_secret=SECRET)  # server code is trusted: no `peers` needed
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


@pytest.mark.server_options(peer_secret=SECRET)
async def test_server_api_publish_to_server_failure_raises(server: Server) -> None:
    with dead_port() as sock, pytest.raises(ConnectionFailed, match="failed to relay to server"):
        await asyncio.wait_for(server.PublishToServer(f"127.0.0.1:{sock.getsockname()[1]}", 1), units(5))
    with pytest.raises(ValueError):
        await server.PublishToServer("::127.0.0.1:1", 1)


async def test_public_addresses_are_recognised(connect: Connect, start_server: StartServer) -> None:
    target = await start_server(public_addresses=("bus.example.com:443",), peer_secret=SECRET)
    receiver = await connect("rx", url=target.url)
    await receiver.subscribe("news")
    peer = await connect(url=target.url, register=False)
    for name in ("bus.example.com:443", "bus.example.com"):
        await peer.send(signed_frame(SECRET, to=name, data={"data": {"topic": "news", "data": name}}))
        await peer.expect("server_message_sent", to=name)
        assert (await receiver.expect("publish"))["data"]["data"] == name


async def test_relays_work_between_servers_that_refuse_anonymous_clients(
    connect: Connect, start_server: StartServer
) -> None:
    # With a JWT key, anonymous connections are refused (spec §10.3); a relay never registers (spec §8.2), it
    # proves itself with the peer secret, so servers that require tokens still peer with each other.
    auth = {"jwt_secret": tokens.SECRET, "anonymous": "deny"}
    other = await start_server(peer_secret=SECRET, **auth)
    server = await start_server(peer_secret=SECRET, peers=(f"127.0.0.1:{other.port}",), **auth)
    receiver = await connect(register=False, url=other.url)
    await receiver.send({"action": "ping", "token": tokens.hs256("rx")})
    await receiver.expect("pong")
    await receiver.subscribe("news")
    sender = await connect(register=False, url=server.url)
    await sender.send({"action": "ping", "token": tokens.hs256("tx")})
    await sender.expect("pong")
    address = f"127.0.0.1:{other.port}"

    assert (await relay(sender, address, {"topic": "news", "data": 1}))["action"] == "server_message_sent"
    delivery = await receiver.expect("publish")
    assert delivery["data"] == {"data": 1, "from": f"tx---ws://127.0.0.1:{server.port}/ws/bus"}
