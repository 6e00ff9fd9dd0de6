"""ksps.asgi under real ASGI servers: one broker with the in-process Server and its own listener; the limits.

The whole protocol is covered by the conformance suite with `--server asgi`; these tests cover what is
particular to the ASGI way in: the ASGI servers, sharing the broker, the Starlette route, the upgrade checks,
the limits it applies to whole messages, the lifespan.
"""

from __future__ import annotations

import asyncio

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from websockets.exceptions import InvalidStatus

from ksps import Server
from ksps.asgi import ASGIApp, websocket_route
from ksps.asgi._app import NOT_IN_CLUSTER
from ksps.server.server import core_of

from ..server.wire import RawSocket, WireClient, units
from .conftest import under_hypercorn, under_uvicorn


def ws_url(port: int, path: str = "/ws/bus") -> str:
    return f"ws://127.0.0.1:{port}{path}"


async def test_asgi_clients_the_listener_and_the_server_api_share_one_broker() -> None:
    server = Server(address="127.0.0.1:0")
    app = ASGIApp(server, listen=True)  # the lifespan starts the server's own picows listener too
    async with under_uvicorn(app, lifespan="on") as port:
        native = await WireClient.open(server.url)
        await native.register("native")
        await native.subscribe("news")
        mounted = await WireClient.open(ws_url(port))
        await mounted.register("mounted")
        await mounted.subscribe("alerts")
        await mounted.publish("news", {"via": "asgi"})
        assert await native.expect("publish", topic="news") == {
            "action": "publish", "topic": "news", "data": {"data": {"via": "asgi"}, "from": "mounted"}
        }
        server.publish("alerts", 1)
        assert (await mounted.expect("publish", topic="alerts"))["data"] == {"data": 1, "from": server.id}
        assert server.count_clients() == 2 and app.connections == 1
        await app.close()  # (uvicorn's own shutdown closes with 1012 before the lifespan shutdown runs)
        assert await mounted.closed() == (1000, "server shutdown")
        assert server.ready and (await native.sync()) == []  # the listener's client was not touched
        await native.close()
    assert not server.ready  # the lifespan shutdown stopped the listener it started


async def test_hypercorn_serves_the_bus_and_acks_reach_the_server_api() -> None:
    server = Server()
    async with under_hypercorn(ASGIApp(server)) as port:
        worker = await WireClient.open(ws_url(port))
        await worker.register("worker")
        await worker.subscribe("jobs")
        ack = server.publish_with_ack("jobs", {"n": 1}, timeout=units(5))
        delivery = await worker.expect("publish_ack", topic="jobs")
        await worker.ack(delivery["ack_id"])
        responses = await ack.wait()
        assert list(responses) == ["worker"] and ack.is_complete()
        await worker.close()


async def test_a_starlette_route_serves_the_bus_next_to_the_apps_own_pages() -> None:
    server = Server()
    inbox: asyncio.Queue[object] = asyncio.Queue()
    server.subscribe("from-page", lambda message, unsub: inbox.put_nowait(message["data"]))
    page = Route("/hello", lambda request: PlainTextResponse("hello"))
    app = Starlette(routes=[page, websocket_route(server, "/bus")])
    async with under_uvicorn(app) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), units(5))
        writer.close()
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"hello")
        client = await WireClient.open(ws_url(port, "/bus"))
        await client.register()
        await client.publish("from-page", "hi")
        assert await asyncio.wait_for(inbox.get(), units(5)) == "hi"
        await client.close()


async def test_an_oversized_message_closes_with_1009_and_a_bystander_keeps_receiving() -> None:
    server = Server(max_message_size=1024)
    async with under_uvicorn(ASGIApp(server)) as port:
        bystander = await WireClient.open(ws_url(port))
        await bystander.register("bystander")
        await bystander.subscribe("t")
        abuser = await WireClient.open(ws_url(port))
        await abuser.register("abuser")
        await abuser.send({"action": "publish", "topic": "t", "data": "x" * 2048})
        assert await abuser.closed() == (1009, "message too big")
        server.publish("t", "still here")
        assert (await bystander.expect("publish", topic="t"))["data"]["data"] == "still here"
        await bystander.close()


async def test_a_message_flood_closes_with_1008() -> None:
    server = Server(max_frames_per_second=5, frame_burst=5)
    async with under_uvicorn(ASGIApp(server)) as port:
        abuser = await WireClient.open(ws_url(port))
        for _ in range(40):
            await abuser.send({"action": "ping"})
        code, reason = await abuser.closed()
        assert (code, reason) == (1008, "rate limit exceeded")


async def test_a_connection_that_never_registers_is_closed_with_4005() -> None:
    server = Server(register_timeout=units(0.5))
    async with under_uvicorn(ASGIApp(server)) as port:
        idle = await WireClient.open(ws_url(port))
        assert await idle.closed(units(5)) == (4005, "registration timeout")


async def test_the_origin_check_and_the_upgrade_hook_apply_to_the_mount() -> None:
    server = Server(allowed_origins=("https://app.example",))
    server.on_upgrade_ws(lambda request: request.query.get("deny") != ["1"])
    async with under_uvicorn(ASGIApp(server)) as port:
        with pytest.raises(InvalidStatus) as refused:
            await WireClient.open(ws_url(port), origin="https://evil.example")
        assert refused.value.response.status_code == 403
        with pytest.raises(InvalidStatus) as hooked:
            await WireClient.open(ws_url(port) + "?deny=1")
        assert hooked.value.response.status_code == 403
        allowed = await WireClient.open(ws_url(port), origin="https://app.example")
        assert await allowed.register("ok") == "ok"
        await allowed.close()


async def test_upgrades_after_close_are_refused_with_503_so_clients_wait_for_the_next_server() -> None:
    # Uvicorn keeps accepting while it shuts down: a client that reconnected in that window was accepted, then
    # cut with 1012, and missed what the restarted server published (seen in the conformance run).
    app = ASGIApp(Server())
    async with under_uvicorn(app) as port:
        client = await WireClient.open(ws_url(port))
        assert await client.register("before") == "before"
        await app.close()
        with pytest.raises(InvalidStatus) as refused:
            await WireClient.open(ws_url(port))
        assert refused.value.response.status_code == 503


async def test_other_paths_are_not_the_bus() -> None:
    async with under_uvicorn(ASGIApp(Server())) as port:
        with pytest.raises(InvalidStatus) as refused:
            await WireClient.open(ws_url(port, "/elsewhere"))
        assert refused.value.response.status_code in (403, 404)


async def test_a_subscriber_that_stops_reading_is_cut_at_max_send_queue_and_the_others_get_everything() -> None:
    server = Server(max_send_queue=256 * 1024)
    async with under_uvicorn(ASGIApp(server)) as port:
        slow = await RawSocket.open("127.0.0.1", port, "/ws/bus", receive_buffer=4096)
        await slow.send_json({"action": "ping", "from": "slow"})
        assert await slow.read_json() == {"action": "pong", "id": "slow"}
        await slow.send_json({"action": "subscribe", "topic": "firehose"})
        assert await slow.read_json() == {"action": "subscribed", "topic": "firehose"}
        # From now on `slow` reads nothing: uvicorn stops writing to it, and its ksps send queue grows.
        fast = await WireClient.open(ws_url(port))
        await fast.register("fast")
        await fast.subscribe("firehose")
        pad = "p" * 8000
        sent = 0
        broker = core_of(server).broker
        while broker.slow_consumers_closed == 0 and sent < 4096:
            server.publish("firehose", {"n": sent, "pad": pad})
            sent += 1
            frame = await fast.expect("publish", topic="firehose", timeout=units(5))  # paced by a reader
            assert frame["data"]["data"]["n"] == sent - 1
        assert broker.slow_consumers_closed == 1, f"still not closed after {sent} messages"
        assert server.count_subscribers("firehose")["ws"] == 1  # the broker forgot `slow` at once
        server.publish("firehose", {"n": "end"})
        assert (await fast.expect("publish", topic="firehose"))["data"]["data"] == {"n": "end"}
        slow.close()
        await fast.close()


async def test_a_cluster_server_that_was_never_started_refuses_instead_of_serving_alone() -> None:
    # Found by the conformance runner: mounted without listen=True, a server with redis_url never joined its
    # cluster, so its clients silently had no backplane and their history lived in memory (a restart changed
    # every epoch). Nothing here reaches Redis: the refusal comes before any connection to it.
    unstarted = ASGIApp(Server(redis_url="redis://127.0.0.1:1/0"))
    async with under_uvicorn(unstarted) as port:  # no lifespan: each upgrade is refused with the reason logged
        with pytest.raises(InvalidStatus) as refused:
            await WireClient.open(ws_url(port))
        assert refused.value.response.status_code == 503
    sent: list[dict[str, object]] = []
    startup = iter([{"type": "lifespan.startup"}])

    async def receive() -> dict[str, object]:
        return next(startup)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await unstarted({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    assert sent == [{"type": "lifespan.startup.failed", "message": NOT_IN_CLUSTER}]
    async with under_uvicorn(ASGIApp(Server())) as port:  # without redis_url nothing changes
        client = await WireClient.open(ws_url(port))
        assert await client.register("alone") == "alone"
        await client.close()
