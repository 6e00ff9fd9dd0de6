"""The admin page and its JSON endpoints over real HTTP (docs/observability.md "Admin page", spec §1.5)."""

from __future__ import annotations

import json
from collections import deque
from typing import Any
from urllib.parse import urlencode

import pytest
from websockets.exceptions import InvalidStatus

from ksps import Server
from ksps.errors import ConfigError
from ksps.server.admin import SAMPLES, _rates
from ksps.server.server import core_of

from .conftest import Connect, StartServer
from .http_pages import http_get
from .wire import WireClient

TOKEN = "admin-token-for-tests-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


async def state(server: Server) -> dict[str, Any]:
    status, headers, body = await http_get(server.port, "/admin/api/state", headers=BEARER)
    assert status == 200, (status, body)
    assert headers["content-type"] == "application/json"
    result: dict[str, Any] = json.loads(body)
    return result


async def test_admin_is_404_when_no_token_is_configured(server: Server) -> None:
    for path in ("/admin", "/admin/api/state", "/admin/api/publish?topic=t&data=1"):
        status, _, _ = await http_get(server.port, path, headers=BEARER)
        assert status == 404, path


@pytest.mark.server_options(admin_token=TOKEN)
async def test_admin_data_needs_the_token(server: Server, connect: Connect) -> None:
    bystander = await connect("bystander")
    await bystander.subscribe("news")
    for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Authorization": TOKEN}):
        for path in ("/admin/api/state", "/admin/api/publish?topic=news&data=1"):
            status, answer, body = await http_get(server.port, path, headers=headers)
            assert status == 401, (path, headers, body)
            assert answer["www-authenticate"] == "Bearer"
            assert b"news" not in body and b"bystander" not in body
    assert core_of(server).refusals["admin"] == 6
    # Nothing was published by the refused requests; the bystander still works.
    await bystander.send({"action": "publish", "topic": "news", "data": "after"})
    assert (await bystander.expect("publish", topic="news"))["data"]["data"] == "after"
    # The page itself holds no data: it asks for the token. It loads nothing from elsewhere.
    status, answer, body = await http_get(server.port, "/admin")
    assert status == 200
    assert answer["content-type"].startswith("text/html")
    policy = answer["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'sha256-" in policy and "unsafe" not in policy
    assert b"/admin/api/state" in body and b"http" not in body.replace(b"http://www.w3.org/2000/svg", b"")
    status, _, _ = await http_get(server.port, "/admin/other", headers=BEARER)
    assert status == 404


@pytest.mark.server_options(admin_token=TOKEN)
async def test_admin_page_is_behind_the_host_check(server: Server) -> None:
    for path in ("/admin", "/admin/api/state"):
        status, _, _ = await http_get(server.port, path, host="rebound.example", headers=BEARER)
        assert status == 403, path


@pytest.mark.server_options(admin_token=TOKEN)
async def test_admin_state_after_real_traffic(server: Server, connect: Connect) -> None:
    watcher, publisher, other = await connect("watcher"), await connect("publisher"), await connect("other")
    await watcher.subscribe("news")
    await other.subscribe("news")
    await other.subscribe("sports")
    before = await state(server)
    for n in range(3):
        await publisher.publish("news", n)
        await watcher.expect("publish", topic="news")
        await other.expect("publish", topic="news")
    with pytest.raises(InvalidStatus):
        await WireClient.open(server.url, origin="http://evil.example")
    after = await state(server)

    assert after["node"] == server.id
    assert after["cluster"] is None
    assert after["connections"]["count"] == 3
    latest = after["connections"]["latest"]
    assert [row["client_id"] for row in latest] == ["other", "publisher", "watcher"]  # newest first
    assert all(row["address"].startswith("127.0.0.1") and row["age"] >= 0 for row in latest)
    assert after["topics"]["top"] == [{"topic": "news", "subscribers": 2}, {"topic": "sports", "subscribers": 1}]
    assert after["totals"]["published"] - before["totals"]["published"] == 3
    assert after["totals"]["delivered"] - before["totals"]["delivered"] == 6
    assert all(set(rate) == {"published", "delivered"} for rate in after["rates"])
    assert after["refusals"]["counts"]["origin"] == 1
    assert after["refusals"]["recent"][0]["reason"] == "origin"
    assert after["closes"]["slow_consumer"] == 0


@pytest.mark.server_options(admin_token=TOKEN)
async def test_admin_lists_are_bounded(server: Server, connect: Connect) -> None:
    client = await connect("many")
    for n in range(60):
        await client.send({"action": "subscribe", "topic": f"t{n}"})
    for n in range(60):
        await client.expect("subscribed", topic=f"t{n}")
    for _ in range(60):
        await http_get(server.port, "/nowhere")
    result = await state(server)
    assert result["topics"]["count"] == 60
    assert len(result["topics"]["top"]) == 50
    assert len(result["refusals"]["recent"]) == 50
    assert result["refusals"]["counts"]["not_found"] == 60


@pytest.mark.server_options(admin_token=TOKEN)
async def test_admin_publish_reaches_a_websocket_subscriber(server: Server, connect: Connect) -> None:
    watcher = await connect("watcher")
    await watcher.subscribe("news")
    query = urlencode({"topic": "news", "data": '{"hello": [1, 2]}'})
    status, _, body = await http_get(server.port, f"/admin/api/publish?{query}", headers=BEARER)
    assert status == 200, body
    frame = await watcher.expect("publish", topic="news")
    assert frame["data"] == {"data": {"hello": [1, 2]}, "from": server.id}
    # Text that is not JSON is published as a string; a missing topic is refused.
    status, _, _ = await http_get(server.port, "/admin/api/publish?topic=news&data=plain", headers=BEARER)
    assert status == 200
    assert (await watcher.expect("publish", topic="news"))["data"]["data"] == "plain"
    status, _, _ = await http_get(server.port, "/admin/api/publish?data=1", headers=BEARER)
    assert status == 400


@pytest.mark.server_options(admin_token=TOKEN)
async def test_admin_publish_refuses_oversized_input_and_the_bus_goes_on(server: Server, connect: Connect) -> None:
    watcher = await connect("watcher")
    await watcher.subscribe("news")
    for query in (
        {"topic": "n" * 300, "data": "1"},  # longer than max_topic_bytes
        {"topic": "news", "data": "x" * 5000},  # longer than the test publish allows
    ):
        status, _, body = await http_get(server.port, f"/admin/api/publish?{urlencode(query)}", headers=BEARER)
        assert status == 400, body
    status, _, _ = await http_get(server.port, "/admin/api/publish?topic=news&data=%FF%FE", headers=BEARER)
    assert status == 200  # undecodable bytes are replaced, not a crash
    assert (await watcher.expect("publish", topic="news"))["data"]["data"] == "\ufffd\ufffd"
    deep = "[" * 2000 + "]" * 2000  # deeper than the decoder recurses: text, like anything that is not JSON
    query = urlencode({"topic": "news", "data": deep})
    status, _, _ = await http_get(server.port, f"/admin/api/publish?{query}", headers=BEARER)
    assert status == 200
    assert (await watcher.expect("publish", topic="news"))["data"]["data"] == deep
    await watcher.send({"action": "publish", "topic": "news", "data": "still here"})
    assert (await watcher.expect("publish", topic="news"))["data"]["data"] == "still here"


def test_rates_are_differences_between_samples() -> None:
    samples = deque([(10.0, 100, 200), (11.0, 130, 290), (11.5, 130, 290)], maxlen=SAMPLES)
    assert _rates(samples) == [{"published": 30.0, "delivered": 90.0}, {"published": 0.0, "delivered": 0.0}]
    assert _rates(deque([(1.0, 5, 5)])) == []


async def test_admin_token_must_be_long_enough(start_server: StartServer) -> None:
    with pytest.raises(ConfigError, match="admin_token"):
        await start_server(admin_token="short")
