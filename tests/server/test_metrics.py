"""`/metrics`, `/healthz` and `/readyz` over HTTP from a real server (docs/observability.md, spec §1.5)."""

from __future__ import annotations

import asyncio
import socket

import pytest
from websockets.exceptions import InvalidStatus

from ksps import Server
from ksps.errors import ConfigError, ListenError
from ksps.server.server import core_of

from .conftest import Connect, OpenRaw, StartServer
from .http_pages import http_get, scrape, value
from .wire import WireClient, ms, units

_OP_PING = 0x9


@pytest.mark.server_options(metrics=True)
async def test_metrics_count_real_traffic(connect: Connect, open_raw: OpenRaw, server: Server) -> None:
    watcher, publisher = await connect("watcher"), await connect("publisher")
    other = await connect("other")
    await watcher.subscribe("news")
    await other.subscribe("news")
    before = await scrape(server.port)
    assert value(before, "ksps_connections") == 3
    assert value(before, "ksps_subscriptions", kind="ws") == 2
    assert value(before, "ksps_topics") == 1

    # A publication fanned out to two subscribers.
    await publisher.publish("news", "hello")
    await watcher.expect("publish", topic="news")
    await other.expect("publish", topic="news")
    # An acknowledged publication, answered.
    await publisher.send(
        {"action": "publish_with_ack", "topic": "news", "data": 1, "ack_id": "a1", "timeout": ms(units(60))}
    )
    for subscriber in (watcher, other):
        await subscriber.ack((await subscriber.expect("publish_ack", topic="news"))["ack_id"])
    await publisher.expect("ack_response", ack_id="a1")
    # A refused upgrade: a foreign browser origin.
    with pytest.raises(InvalidStatus):
        await WireClient.open(server.url, origin="http://evil.example")
    # A limit hit: more control frames a second than allowed closes the connection with 1008.
    abuser = await open_raw()
    for _ in range(int(server.config.max_control_frames_per_second) + 10):
        await abuser.send_frame(b"", opcode=_OP_PING)
    _, code, _ = await abuser.read_to_end()
    assert code == 1008

    after = await scrape(server.port)
    assert value(after, "ksps_publications_total", kind="publish") == 1
    assert value(after, "ksps_deliveries_total", kind="publish") == 2
    assert value(after, "ksps_publications_total", kind="publish_with_ack") == 1
    assert value(after, "ksps_deliveries_total", kind="publish_with_ack") == 2
    assert value(after, "ksps_acks_opened_total") == 1
    assert value(after, "ksps_acks_completed_total") == 1
    assert value(after, "ksps_acks_timed_out_total") == 0
    assert value(after, "ksps_refused_upgrades_total", reason="origin") == 1
    assert value(after, "ksps_limit_closes_total", reason="control-rate") == 1
    assert value(after, "ksps_registrations_total") == 3
    assert value(after, "ksps_received_bytes_total") > value(before, "ksps_received_bytes_total")
    assert value(after, "ksps_sent_bytes_total") > value(before, "ksps_sent_bytes_total")
    assert value(after, "ksps_send_queue_bytes") >= 0
    assert "ksps_event_loop_lag_seconds" in after
    assert "process_resident_memory_bytes" in after
    assert "ksps_redis_connected" not in after  # not clustered
    # The bystanders were served throughout.
    await publisher.publish("news", "still here")
    assert (await watcher.expect("publish", topic="news"))["data"]["data"] == "still here"


@pytest.mark.server_options(metrics=True, max_topics_per_connection=1)
async def test_broker_limit_refusals_are_counted(connect: Connect, server: Server) -> None:
    client = await connect("c")
    await client.subscribe("one")
    await client.send({"action": "subscribe", "topic": "two"})
    assert (await client.expect("error"))["code"] == "limit"
    families = await scrape(server.port)
    assert value(families, "ksps_limit_refusals_total", limit="max_topics_per_connection") == 1


@pytest.mark.server_options(metrics=True)
async def test_ack_timeouts_are_counted(connect: Connect, server: Server) -> None:
    subscriber, publisher = await connect("silent"), await connect("p")
    await subscriber.subscribe("jobs")
    await publisher.send({"action": "publish_with_ack", "topic": "jobs", "data": 1, "ack_id": "x", "timeout": 50})
    await publisher.expect("ack_response", ack_id="x", timeout=units(3))
    families = await scrape(server.port)
    assert value(families, "ksps_acks_opened_total") == 1
    assert value(families, "ksps_acks_timed_out_total") == 1
    assert value(families, "ksps_acks_completed_total") == 0


async def test_metrics_are_off_unless_enabled(start_server: StartServer) -> None:
    server = await start_server(metrics=False)
    status, _, _ = await http_get(server.port, "/metrics")
    assert status == 404


@pytest.mark.server_options(metrics=True)
async def test_metrics_are_behind_the_host_check_probes_are_not(server: Server) -> None:
    # A rebinding page could read /metrics through the victim's browser; probes say nothing and come from
    # agents that use the bare IP as Host.
    assert (await http_get(server.port, "/metrics", host="rebound.example"))[0] == 403
    for path in ("/healthz", "/readyz"):
        status, _, body = await http_get(server.port, path, host="10.1.2.3")
        assert status == 200, (path, body)


async def test_health_and_readiness(start_server: StartServer) -> None:
    server = await start_server(metrics=False)
    status, headers, body = await http_get(server.port, "/healthz")
    assert (status, body) == (200, b"ok\n")
    assert headers["cache-control"] == "no-cache"
    status, _, body = await http_get(server.port, "/readyz")
    assert (status, body) == (200, b"ready\n")


@pytest.mark.server_options(metrics=True, max_connections=1)
async def test_a_full_server_still_answers_its_probes(connect: Connect, server: Server) -> None:
    await connect("the-only-one")
    with pytest.raises(InvalidStatus) as refused:
        await WireClient.open(server.url)
    assert refused.value.response.status_code == 503
    assert (await http_get(server.port, "/healthz"))[0] == 200
    assert (await http_get(server.port, "/readyz"))[0] == 200
    assert value(await scrape(server.port), "ksps_refused_upgrades_total", reason="max_connections") == 1


async def test_the_websocket_path_wins_over_a_probe(start_server: StartServer) -> None:
    server = await start_server(path="/healthz")
    client = await WireClient.open(server.url)
    try:
        assert await client.register("c") == "c"
    finally:
        await client.close()


async def test_metrics_address_serves_metrics_and_probes_apart(start_server: StartServer) -> None:
    server = await start_server(metrics=False, metrics_address="127.0.0.1:0")
    port = server.metrics_port
    assert port != server.port
    families = await scrape(port)
    assert value(families, "ksps_connections") == 0
    assert (await http_get(port, "/healthz"))[0] == 200
    assert (await http_get(port, "/readyz"))[0] == 200
    assert (await http_get(port, "/nothing"))[0] == 404
    # Not on the bus port: the metrics have their own address.
    assert (await http_get(server.port, "/metrics"))[0] == 404


async def test_a_bad_or_busy_metrics_address_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="metrics_address: must be host:port"):
        Server(address="127.0.0.1:0", metrics_address="nowhere")  # checked before anything starts
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = f"127.0.0.1:{busy.getsockname()[1]}"
        server = Server(address="127.0.0.1:0", metrics_address=taken)
        with pytest.raises(ListenError, match=f"cannot listen on {taken}"):
            await server.start()
    assert not core_of(server).listening


async def test_probes_say_stopping_during_a_graceful_stop(start_server: StartServer) -> None:
    server = await start_server(metrics_address="127.0.0.1:0", shutdown_grace=units(5))
    port = server.metrics_port
    # A server callback still running holds the graceful stop (for up to its grace period).
    release = asyncio.Event()
    running = asyncio.Event()

    async def busy(message: object, unsub: object) -> None:
        running.set()
        await release.wait()

    server.Subscribe("work", busy)
    server.Publish("work", 1)
    await asyncio.wait_for(running.wait(), units(2))
    stopping = asyncio.create_task(server.stop())
    try:
        status, _, body = await http_get(port, "/healthz")
        assert (status, body) == (503, b"stopping\n")
        assert (await http_get(port, "/readyz"))[0] == 503
        assert not stopping.done()
    finally:
        release.set()
        await stopping


# --- history
@pytest.mark.server_options(metrics=True, history_size=2)
async def test_history_size_is_a_gauge(connect: Connect, server: Server) -> None:
    publisher = await connect("publisher")
    for n in range(3):
        await publisher.publish(f"t{n % 2}", "x" * 10)
    metrics = await scrape(server.port)
    assert value(metrics, "ksps_history_topics") == 2
    assert value(metrics, "ksps_history_publications") == 3
    assert value(metrics, "ksps_history_bytes") > 30
