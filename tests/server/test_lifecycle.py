"""Starting and stopping: `async with`, idempotent stop, graceful shutdown, no leftovers (spec §7.2)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from ksps import ListenError, Server

from .conftest import StartServer
from .wire import WireClient, ms, units


async def test_async_with_serves_then_stops() -> None:
    async with Server(address="127.0.0.1:0") as server:
        client = await WireClient.open(server.url)
        assert await client.register("c") == "c"
        await client.close()
        url = server.url
    with pytest.raises(OSError):
        await WireClient.open(url, open_timeout=units(2))


async def test_stop_twice_and_concurrently_is_harmless() -> None:
    server = Server(address="127.0.0.1:0")
    await server.stop()  # never started
    await server.start()
    await asyncio.wait_for(asyncio.gather(server.stop(), server.stop()), units(5))
    await server.stop()


async def test_listening_on_a_busy_port_raises_server_error(start_server: StartServer) -> None:
    first = await start_server()
    with pytest.raises(ListenError, match="cannot listen"):
        await Server(address=f"127.0.0.1:{first.port}").start()


async def test_graceful_stop_closes_clients_with_1000_and_resolves_pending_acks() -> None:
    server = Server(address="127.0.0.1:0")
    await server.start()
    silent, publisher, idle = [await WireClient.open(server.url) for _ in range(3)]
    await silent.register("silent")
    await publisher.register("pub")
    await idle.register("idle")
    await silent.subscribe("jobs")
    await publisher.send(
        {"action": "publish_with_ack", "topic": "jobs", "data": 1, "ack_id": "c1", "timeout": ms(units(60))}
    )
    await silent.expect("publish_ack")
    server_ack = server.PublishWithAck("jobs", 2, timeout=units(60))
    waiting = asyncio.create_task(server_ack.Wait())
    await silent.expect("publish_ack")

    await asyncio.wait_for(server.stop(), units(5))

    # The pending client request is answered before the close frame (spec §6.2: exactly one ack_response).
    assert await publisher.recv() == {"action": "ack_response", "ack_id": "c1"}
    for client in (silent, publisher, idle):
        assert await client.closed() == (1000, "server shutdown")
    assert await asyncio.wait_for(waiting, units(1)) == {}


async def test_no_task_is_left_running_after_stop() -> None:
    before = asyncio.all_tasks()
    target = Server(address="127.0.0.1:0", peer_secret="s")
    await target.start()
    server = Server(
        address="127.0.0.1:0", shutdown_grace=units(0.2), peer_secret="s", peers=(f"127.0.0.1:{target.port}",)
    )
    await server.start()
    release = asyncio.Event()

    async def stuck(message: Any, unsub: Any) -> None:
        await release.wait()

    server.Subscribe("stuck", stuck)
    server.Subscribe("stuck", stuck)
    client = await WireClient.open(server.url)
    await client.register("c")
    await client.send({"action": "publish", "topic": "stuck", "data": 1})
    await client.expect("published")
    ack = server.PublishWithAck("stuck", 2, timeout=units(60))
    await client.send({"action": "publish_to_server", "to": f"127.0.0.1:{target.port}/ws/bus", "data": 1})
    await client.expect("server_message_sent")
    await client.close()

    await asyncio.wait_for(server.stop(), units(5))
    await target.stop()

    leftover = asyncio.all_tasks() - before - {asyncio.current_task()}
    assert not leftover, leftover
    # Stopping ended the pending request before cancelling the callbacks that owed it an answer.
    assert await asyncio.wait_for(ack.Wait(), units(1)) == {}


async def test_clients_cannot_reconnect_after_stop(start_server: StartServer) -> None:
    server = await start_server()
    url = server.url
    client = await WireClient.open(url)
    await client.register("c")
    await server.stop()
    with pytest.raises(ConnectionClosed):
        await client.recv()
    assert client.ws.close_code == 1000
    with pytest.raises(OSError):
        await WireClient.open(url, open_timeout=units(2))


async def test_keepalive_timeout_longer_than_the_interval_is_refused_at_start() -> None:
    """picows would otherwise drop every connection during its handshake, without a word."""
    with pytest.raises(ListenError, match="keepalive_timeout"):  # a ConfigError, from Server(...) itself
        Server(address="127.0.0.1:0", keepalive_interval=1.0, keepalive_timeout=5.0)
    # Keepalive off: any timeout is fine.
    async with Server(address="127.0.0.1:0", keepalive_interval=0, keepalive_timeout=30.0) as quiet:
        client = await WireClient.open(quiet.url)
        assert await client.register("c") == "c"
        await client.close()
