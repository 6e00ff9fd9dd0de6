"""Scenario `server.publish_to_server` (scenarios.md, Server to server)."""

from __future__ import annotations

from harness import RunnerServer, next_item


async def test_server_publish_to_server(server, adapters, connect):
    # Relays are signed with a shared secret and go only to configured peers (spec §12): the second server
    # shares the secret, and the test server restarts with it and the second server among its peers.
    second = await RunnerServer(peer_secret="conformance-peer-secret").start()
    server.options.update(peer_secret="conformance-peer-secret", peers=(second.address,))
    await server.stop()
    await server.start()
    try:
        a, c = await adapters("A"), await adapters("C")
        await connect(a, id="A")
        await c.call("connect", address=second.address, path="/ws/bus", id="C")
        await c.event("connected")
        await c.call("subscribe", topic="relayed")
        payload = {"topic": "relayed", "data": {"v": 1}}
        await a.call("publish_to_server", addr=f"{second.address}/ws/bus", data=payload)
        event = await c.event("message", topic="relayed")
        assert event["data"] == {"v": 1}
        assert event["from"].startswith("A---")
        assert (await next_item(second.server_data))["data"] == payload
    finally:
        await second.stop()
