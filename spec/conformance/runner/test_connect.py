"""Scenarios `connect.*` (scenarios.md, Connection)."""

from __future__ import annotations

from harness import UNIT, RunnerServer, eventually

from ksps.testing import free_port


async def test_connect_register(server, adapters, connect):
    a = await adapters("A")
    result = await connect(a, id="A")
    assert result["id"] == "A"
    await eventually(lambda: server.s.CountClients() == 1, what="one registered client")
    server.s.PublishToID("A", "hi")
    event = await a.event("direct")
    assert event["data"] == "hi" and event["from"] == server.server_id


async def test_connect_default_id(server, adapters, connect):
    a = await adapters("A")
    client_id = (await connect(a))["id"]
    assert isinstance(client_id, str) and client_id
    server.s.PublishToID(client_id, {"to": "default"})
    assert (await a.event("direct"))["data"] == {"to": "default"}


async def test_connect_refused(adapters):
    a = await adapters("A")
    reply = await a.reply(a.send("connect", address=f"127.0.0.1:{free_port()}", path="/ws/bus", autorestart=False))
    assert reply["ok"] is False and reply.get("error")


async def test_connect_autorestart_first_failure(adapters):
    late = RunnerServer()
    late.port = free_port()
    a = await adapters("A")
    await a.call("connect", address=late.address, path="/ws/bus", id="A", autorestart=True,
                 reconnect_initial_ms=50, reconnect_max_ms=250)
    await a.call("subscribe", topic="news")
    await late.start()
    try:
        await a.event("connected")
        late.s.Publish("news", "first")
        event = await a.event("message", topic="news")
        assert event["data"] == "first"
    finally:
        await late.stop()


async def test_connect_close(server, adapters, connect):
    a = await adapters("A")
    await connect(a, id="A")
    await eventually(lambda: server.s.CountClients() == 1, what="one registered client")
    await a.call("close")
    await eventually(lambda: server.s.CountClients() == 0, timeout=5 * UNIT, what="no client left")

