"""Connection lifecycle of the Python client: first connection, reconnection, offline queue, close codes."""

from __future__ import annotations

import asyncio
import random
import ssl
from typing import Any

import pytest
import trustme

from ksps.client import Client, ReconnectPolicy
from ksps.errors import ClientClosed, ConnectionFailed, ConnectionReplaced, OfflineQueueFull

from .conftest import FAST_RETRY, UNIT, BlackholeProxy, Hooks, NewClient, RestartableServer, next_item, within


async def test_first_connection_failure_raises(server: RestartableServer) -> None:
    port = server.port
    await server.stop()
    with pytest.raises(ConnectionFailed, match=f"ws://127.0.0.1:{port}/ws/bus"):
        await within(Client.NewClient(Address=f"127.0.0.1:{port}"))


async def test_wrong_path_raises(server: RestartableServer) -> None:
    with pytest.raises(ConnectionFailed):
        await within(Client.NewClient(Address=server.address, Path="/nowhere"))


async def test_autorestart_keeps_trying_in_the_background(server: RestartableServer) -> None:
    await server.stop()
    hooks = Hooks()
    received: asyncio.Queue[Any] = asyncio.Queue()
    client = await within(Client.NewClient(Address=server.address, Autorestart=True, **FAST_RETRY,
                                           **hooks.options()))
    try:
        assert isinstance(await next_item(hooks.errors), ConnectionFailed)
        assert not client.is_connected()
        await client.Subscribe("news", lambda message, unsub: received.put_nowait(message["data"]))
        await server.start()
        await next_item(hooks.connects)
        server.s.Publish("news", "hello")
        assert await next_item(received) == "hello"
    finally:
        await client.Close()


async def test_server_restart_restores_everything(server: RestartableServer, new_client: NewClient) -> None:
    hooks = Hooks()
    received: asyncio.Queue[Any] = asyncio.Queue()
    a = await new_client(Id="A", **hooks.options())
    await next_item(hooks.connects)
    await a.Subscribe("before", lambda message, unsub: received.put_nowait(("before", message["data"])))
    await server.stop()
    assert await next_item(hooks.disconnects) == (1000, "server shutdown")
    await a.Subscribe("offline", lambda message, unsub: received.put_nowait(("offline", message["data"])))
    for n in range(3):
        await a.Publish("before", n)  # queued, sent after the subscriptions are restored
    await server.start()
    await next_item(hooks.connects)
    assert a.is_connected()
    assert [await next_item(received) for _ in range(3)] == [("before", 0), ("before", 1), ("before", 2)]
    server.s.Publish("offline", "made while offline")
    assert await next_item(received) == ("offline", "made while offline")


@pytest.mark.parametrize(
    ("policy", "kept"), [("drop_oldest", [3, 4]), ("drop_newest", [1, 2]), ("raise", [1, 2])]
)
async def test_offline_queue_overflow(
    server: RestartableServer, new_client: NewClient, policy: str, kept: list[int]
) -> None:
    hooks = Hooks()
    received: asyncio.Queue[Any] = asyncio.Queue()
    a = await new_client(Id="A", OfflineQueueSize=2, OfflineQueuePolicy=policy, **hooks.options())
    await next_item(hooks.connects)
    await a.Subscribe("q", lambda message, unsub: received.put_nowait(message["data"]))
    await a.Subscribe("marker", lambda message, unsub: received.put_nowait("marker"))
    await server.stop()
    await next_item(hooks.disconnects)
    for n in (1, 2, 3, 4):
        if policy == "raise" and n > 2:
            with pytest.raises(OfflineQueueFull):
                await a.Publish("q", n)
        else:
            await a.Publish("q", n)
    overflows = 0
    while overflows < 2:  # failed reconnection attempts are reported on the same hook
        error = await next_item(hooks.errors)
        assert isinstance(error, OfflineQueueFull | ConnectionFailed)
        overflows += isinstance(error, OfflineQueueFull)
    await server.start()
    await next_item(hooks.connects)
    await a.Publish("marker", None)
    assert [await next_item(received) for _ in range(3)] == [*kept, "marker"]


async def test_replaced_connection_does_not_reconnect(new_client: NewClient) -> None:
    hooks = Hooks()
    first = await new_client(Id="X", Autorestart=True, **hooks.options())
    await next_item(hooks.connects)
    second = await new_client(Id="X")
    code, reason = await next_item(hooks.disconnects)
    assert (code, reason) == (4001, "replaced by a newer connection")
    await next_item(hooks.closes)
    assert first.closed and second.is_connected()
    assert isinstance(await next_item(hooks.errors), ConnectionReplaced)
    with pytest.raises(ClientClosed):
        await first.Publish("t", "x")


async def test_no_reconnect_option_closes_on_loss(server: RestartableServer, new_client: NewClient) -> None:
    hooks = Hooks()
    a = await new_client(Id="A", Reconnect=False, **hooks.options())
    await server.stop()
    await next_item(hooks.disconnects)
    await next_item(hooks.closes)
    assert a.closed


async def test_close_while_reconnecting(server: RestartableServer, new_client: NewClient) -> None:
    hooks = Hooks()
    a = await new_client(Id="A", **hooks.options())
    await server.stop()
    await next_item(hooks.disconnects)
    await within(a.Close(), 1 * UNIT)
    await next_item(hooks.closes)
    await a.Close()  # idempotent
    assert hooks.closes.empty()


async def test_keepalive_detects_a_half_open_connection(
    server: RestartableServer, proxy: BlackholeProxy, new_client: NewClient
) -> None:
    hooks = Hooks()
    received: asyncio.Queue[Any] = asyncio.Queue()
    a = await new_client(Id="A", Address=proxy.address, KeepaliveInterval=0.2 * UNIT,
                         KeepaliveTimeout=0.2 * UNIT, **hooks.options())
    await next_item(hooks.connects)  # the first connection
    await a.Subscribe("t", lambda message, unsub: received.put_nowait(message["data"]))
    proxy.freeze()  # the peer vanishes: no FIN, no RST, just silence
    await next_item(hooks.disconnects, 3 * UNIT)
    await next_item(hooks.connects)  # a new connection through the proxy
    server.s.Publish("t", "after")
    assert await next_item(received) == "after"


def test_backoff_is_exponential_with_full_jitter() -> None:
    policy = ReconnectPolicy(500, 2.0, 4000, random.Random(7).random)
    bounds = []
    for _ in range(6):
        bound = policy.bound()
        bounds.append(bound)
        assert 0 <= policy.next_delay() <= bound
    assert bounds == [500, 1000, 2000, 4000, 4000, 4000]
    policy.reset()
    assert policy.bound() == 500
    delays = {ReconnectPolicy(1000, 2, 1000, random.Random().random).next_delay() for _ in range(20)}
    assert len(delays) > 1  # jittered, not fixed


async def test_secure_connection_with_a_private_ca() -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    server = await RestartableServer(ssl_context=server_context).start()
    received: asyncio.Queue[Any] = asyncio.Queue()
    try:
        async with Client.NewClient(Address=server.address, Secure=True, SslContext=client_context) as client:
            await client.Subscribe("tls", lambda message, unsub: received.put_nowait(message["data"]))
            await client.Publish("tls", "over wss")
            assert await next_item(received) == "over wss"
        with pytest.raises(ConnectionFailed):  # the system's CAs do not trust the private one
            await within(Client.NewClient(Address=server.address, Secure=True))
    finally:
        await server.stop()


async def test_refused_registration_fails_fast(server: RestartableServer) -> None:
    with pytest.raises(ConnectionFailed, match="id too long"):
        await within(Client.NewClient(Address=server.address, Id="x" * 300), 2 * UNIT)
