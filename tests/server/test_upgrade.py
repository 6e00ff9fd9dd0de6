"""The HTTP upgrade: middleware, the upgrade hook, the origin check, routing (spec §1.5)."""

from __future__ import annotations

import asyncio

import pytest
from websockets.exceptions import InvalidStatus

from ksps import Next, Reject, Server, UpgradeRequest

from .conftest import StartServer
from .wire import WireClient, units


async def refused_status(url: str, **options: object) -> int:
    with pytest.raises(InvalidStatus) as refused:
        await WireClient.open(url, **options)
    return refused.value.response.status_code


async def accepted(url: str, **options: object) -> None:
    client = await WireClient.open(url, **options)
    try:
        assert await client.register() is not None
    finally:
        await client.close()


async def test_upgrade_hook_false_gives_403(server: Server) -> None:
    server.OnUpgradeWS(lambda request: request.query.get("let-in") == ["yes"])
    assert await refused_status(server.url) == 403
    assert await refused_status(server.url + "?let-in=no") == 403
    await accepted(server.url + "?let-in=yes")


async def test_middleware_can_answer_401(server: Server) -> None:
    def require_token(request: UpgradeRequest, call_next: Next) -> Reject | None:
        if request.headers.get("Authorization") != "Bearer good":
            return Reject(401, "missing token", {"WWW-Authenticate": "Bearer"})
        return call_next(request)

    server.Use(require_token)
    with pytest.raises(InvalidStatus) as refused:
        await WireClient.open(server.url)
    assert refused.value.response.status_code == 401
    assert refused.value.response.headers["WWW-Authenticate"] == "Bearer"
    assert await refused_status(server.url, additional_headers={"Authorization": "Bearer bad"}) == 401
    await accepted(server.url, additional_headers={"Authorization": "Bearer good"})


async def test_middleware_runs_in_order_before_the_hook(server: Server) -> None:
    calls: list[str] = []

    def first(request: UpgradeRequest, call_next: Next) -> Reject | None:
        calls.append("first")
        return call_next(request)

    def second(request: UpgradeRequest, call_next: Next) -> Reject | None:
        calls.append("second")
        return Reject(418) if "teapot" in request.query else call_next(request)

    def hook(request: UpgradeRequest) -> bool:
        calls.append("hook")
        return True

    server.Use(first)
    server.Use(second)
    server.OnUpgradeWS(hook)
    await accepted(server.url)
    assert calls == ["first", "second", "hook"]
    calls.clear()
    assert await refused_status(server.url + "?teapot") == 418
    assert calls == ["first", "second"]


async def test_hooks_see_path_query_and_headers(server: Server) -> None:
    seen: list[UpgradeRequest] = []
    server.OnUpgradeWS(lambda request: seen.append(request) is None)
    await accepted(server.url + "?token=abc&tag=1&tag=2&flag", additional_headers={"X-Trace": "t1"})
    [request] = seen
    assert request.path == "/ws/bus"
    # A bare `flag` is kept, as Go's `r.URL.Query()` keeps it for the original's hooks.
    assert request.query == {"token": ["abc"], "tag": ["1", "2"], "flag": [""]}
    assert request.headers["x-trace"] == "t1"


async def test_wrong_path_gives_404(server: Server) -> None:
    base = server.url.removesuffix("/ws/bus")
    assert await refused_status(base + "/ws/other") == 404
    assert await refused_status(base + "/") == 404
    assert await refused_status(base + "/ws/bus/extra") == 404


async def test_custom_path(start_server: StartServer) -> None:
    server = await start_server(path="/custom/bus")
    assert server.url.endswith("/custom/bus")
    await accepted(server.url)
    assert await refused_status(server.url.replace("/custom/bus", "/ws/bus")) == 404


async def test_cross_origin_is_refused_same_origin_accepted(server: Server) -> None:
    assert await refused_status(server.url, origin="http://evil.example") == 403
    assert await refused_status(server.url, origin=f"http://127.0.0.1:{server.port + 1}") == 403
    await accepted(server.url, origin=f"http://127.0.0.1:{server.port}")
    await accepted(server.url, origin=f"https://127.0.0.1:{server.port}")
    await accepted(server.url)  # no Origin: not a browser


async def test_allowed_origins(start_server: StartServer) -> None:
    server = await start_server(allowed_origins=("https://app.example",))
    await accepted(server.url, origin="https://app.example")
    assert await refused_status(server.url, origin="https://other.example") == 403
    anyone = await start_server(allowed_origins=("*",))
    await accepted(anyone.url, origin="https://other.example")


async def test_malformed_upgrade_gives_400(server: Server) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(f"GET /ws/bus HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n\r\n".encode())
        status_line = await asyncio.wait_for(reader.readline(), units(2))
        assert status_line.split()[1] == b"400", status_line
    finally:
        writer.close()
