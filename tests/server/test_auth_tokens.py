"""Tokens over the wire (spec §10.2-§10.5): sources, refusals, ID binding, expiry, refresh, deadlines."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from ksps import Identity, ListenError, Next, Reject, Server, UpgradeRequest

from .conftest import StartServer
from .tokens import SECRET, KeyPair, forged_hs256, hs256
from .wire import WireClient, units

AUTH: dict[str, Any] = {"jwt_secret": SECRET, "jwt_leeway": 0.0}


async def open_client(server: Server, url_suffix: str = "", **options: Any) -> WireClient:
    return await WireClient.open(server.url + url_suffix, **options)


async def refused(server: Server, url_suffix: str = "", **options: Any) -> tuple[int, bytes]:
    with pytest.raises(InvalidStatus) as info:
        await open_client(server, url_suffix, **options)
    return info.value.response.status_code, info.value.response.body


# -- token sources -------------------------------------------------------------------------------------------


async def test_token_in_ping_registers_its_sub(start_server: StartServer) -> None:
    server = await start_server(**AUTH)
    client = await open_client(server)
    await client.send({"action": "ping", "token": hs256("alice")})
    assert await client.recv() == {"action": "pong", "id": "alice"}
    assert server.CountClients() == 1


async def test_token_in_authorization_header(start_server: StartServer) -> None:
    server = await start_server(**AUTH)
    client = await open_client(server, additional_headers={"Authorization": f"Bearer {hs256('alice')}"})
    assert await client.register() == "alice"


async def test_token_in_query_parameter(start_server: StartServer) -> None:
    server = await start_server(**AUTH)
    client = await open_client(server, f"?token={hs256('alice')}")
    assert await client.register("alice") == "alice"


@pytest.mark.parametrize("kind", ["rsa", "ec"])
async def test_public_key_file(start_server: StartServer, tmp_path: Path, kind: str) -> None:
    keys = KeyPair(kind)
    server = await start_server(jwt_public_key=keys.write_pem(tmp_path / "key.pem"))
    client = await open_client(server)
    await client.send({"action": "ping", "token": keys.token("alice")})
    assert await client.recv() == {"action": "pong", "id": "alice"}
    # A token signed with the public key as an HMAC secret must not pass (algorithm confusion).
    forged = forged_hs256("x", (tmp_path / "key.pem").read_bytes())
    status, _ = await refused(server, additional_headers={"Authorization": f"Bearer {forged}"})
    assert status == 401


async def test_jwks_file_picks_the_key_by_kid(start_server: StartServer, tmp_path: Path) -> None:
    keys = KeyPair("ec")
    server = await start_server(jwt_jwks=keys.write_jwks(tmp_path / "jwks.json", kid="k1"))
    client = await open_client(server)
    await client.send({"action": "ping", "token": keys.token("alice", kid="k1")})
    assert await client.recv() == {"action": "pong", "id": "alice"}
    other = KeyPair("ec")
    status, _ = await refused(server, additional_headers={"Authorization": f"Bearer {other.token('a', kid='k1')}"})
    assert status == 401


# -- refusals ------------------------------------------------------------------------------------------------

BAD_TOKENS = {
    "wrong signature": lambda: hs256("alice", secret="another-secret-0123456789abcdef-01"),
    "expired": lambda: hs256("alice", expires_in=-60),
    "wrong audience": lambda: hs256("alice", aud="someone-else"),
    "not a JWT": lambda: "not-a-token",
    "no exp": lambda: __import__("jwt").encode({"sub": "alice"}, SECRET, algorithm="HS256"),
}


@pytest.mark.parametrize("name", sorted(BAD_TOKENS))
async def test_bad_token_on_the_upgrade_gives_401(start_server: StartServer, name: str) -> None:
    server = await start_server(**AUTH, jwt_audience="ksps")
    token = BAD_TOKENS[name]()
    status, body = await refused(server, additional_headers={"Authorization": f"Bearer {token}"})
    assert status == 401
    assert body.startswith(b"invalid token: "), body
    status, body = await refused(server, f"?token={token}")
    assert (status, body[:15]) == (401, b"invalid token: ")


@pytest.mark.parametrize("name", sorted(BAD_TOKENS))
async def test_bad_token_in_ping_closes_with_4003(start_server: StartServer, name: str) -> None:
    server = await start_server(**AUTH, jwt_audience="ksps", anonymous="allow")
    bystander = await open_client(server)
    await bystander.register("bob")
    client = await open_client(server)
    await client.send({"action": "ping", "token": BAD_TOKENS[name]()})
    code, reason = await client.closed()
    assert code == 4003
    assert reason is not None and reason.startswith("unauthorized: invalid token: "), reason
    assert await bystander.sync() == []
    assert server.CountClients() == 1


async def test_right_audience_and_issuer_are_accepted(start_server: StartServer) -> None:
    server = await start_server(**AUTH, jwt_audience="ksps", jwt_issuer="https://idp.example")
    client = await open_client(server)
    await client.send({"action": "ping", "token": hs256("alice", aud="ksps", iss="https://idp.example")})
    assert await client.recv() == {"action": "pong", "id": "alice"}
    wrong_issuer = await open_client(server)
    await wrong_issuer.send({"action": "ping", "token": hs256("eve", aud="ksps", iss="https://evil.example")})
    assert (await wrong_issuer.closed())[0] == 4003


# -- anonymous connections and the registration deadline --------------------------------------------------


async def test_anonymous_is_denied_by_default_with_a_jwt_key(start_server: StartServer) -> None:
    server = await start_server(**AUTH)
    client = await open_client(server)
    await client.send({"action": "ping", "from": "alice"})
    assert await client.closed() == (4003, "unauthorized: token required")
    assert server.CountClients() == 0


async def test_anonymous_deny_without_jwt(start_server: StartServer) -> None:
    server = await start_server(anonymous="deny")
    client = await open_client(server)
    await client.send({"action": "ping"})
    assert await client.closed() == (4003, "unauthorized: token required")


async def test_registration_timeout_closes_with_4005(start_server: StartServer) -> None:
    server = await start_server(register_timeout=units(0.5))
    registered = await open_client(server)
    await registered.register("bob")
    idle = await open_client(server)
    assert await idle.closed(units(5)) == (4005, "registration timeout")
    # The deadline of the connection that registered passed first, and it is still here.
    assert await registered.sync() == []
    assert server.CountClients() == 1


# -- the token binds the ID ----------------------------------------------------------------------------------


async def test_token_binds_the_id(start_server: StartServer) -> None:
    server = await start_server(**AUTH)
    client = await open_client(server)
    await client.send({"action": "ping", "from": "alice", "token": hs256("alice"), "rid": "1"})
    assert await client.recv() == {"action": "pong", "id": "alice", "rid": "1"}
    header = {"Authorization": f"Bearer {hs256('mallory')}"}
    impostor = await open_client(server, additional_headers=header)
    await impostor.send({"action": "ping", "from": "alice"})
    assert await impostor.closed() == (4003, "unauthorized: ID not allowed for this identity")
    await client.send({"action": "ping", "from": "alice"})
    assert await client.recv() == {"action": "pong", "id": "alice"}


async def test_a_token_cannot_rename_the_connection(start_server: StartServer) -> None:
    server = await start_server(**AUTH)
    client = await open_client(server, additional_headers={"Authorization": f"Bearer {hs256('alice')}"})
    assert await client.register() == "alice"
    await client.send({"action": "ping", "token": hs256("bob")})
    assert await client.closed() == (4003, "unauthorized: a refreshed token must have the same sub")


# -- expiry and refresh --------------------------------------------------------------------------------------


async def test_expiry_closes_with_4004(start_server: StartServer) -> None:
    server = await start_server(**AUTH)
    client = await open_client(server)
    await client.send({"action": "ping", "token": hs256("alice", expires_in=units(1))})
    await client.expect("pong", id="alice")
    assert await client.closed(units(5)) == (4004, "token expired")
    assert server.CountClients() == 0


async def test_refresh_in_place_extends_the_connection(start_server: StartServer) -> None:
    server = await start_server(**AUTH)
    client = await open_client(server)
    await client.send({"action": "ping", "token": hs256("alice", expires_in=units(1))})
    await client.expect("pong", id="alice")
    await client.subscribe("news")
    await client.send({"action": "ping", "from": "alice", "token": hs256("alice", expires_in=60), "rid": "r"})
    assert await client.recv() == {"action": "pong", "id": "alice", "rid": "r"}
    # A witness whose token expires after the first one did: once it is closed, the first would have been.
    witness = await open_client(server)
    await witness.send({"action": "ping", "token": hs256("witness", expires_in=units(1.5))})
    await witness.expect("pong", id="witness")
    assert (await witness.closed(units(5)))[0] == 4004
    client.id = "alice"
    assert await client.sync() == []
    publisher = await open_client(server, additional_headers={"Authorization": f"Bearer {hs256('bob')}"})
    await publisher.register()
    await publisher.publish("news", 1)
    assert (await client.expect("publish", topic="news"))["data"] == {"data": 1, "from": "bob"}


async def test_ping_token_is_ignored_without_a_key(start_server: StartServer) -> None:
    # Auth off: a client configured with a token still works, anonymously (spec §10.3).
    server = await start_server()
    client = await open_client(server)
    await client.send({"action": "ping", "from": "alice", "token": "anything"})
    assert await client.recv() == {"action": "pong", "id": "alice"}


async def test_middleware_identity_already_expired_closes_at_once(start_server: StartServer) -> None:
    server = await start_server()

    def stale(request: UpgradeRequest, call_next: Next) -> Reject | None:
        request.identity = Identity(id="alice", expires_at=time.time() - 1)
        return call_next(request)

    server.Use(stale)
    client = await open_client(server)
    assert await client.closed() == (4004, "token expired")


async def test_bad_settings_are_clear_errors() -> None:
    with pytest.raises(ListenError, match="anonymous: must be one of allow, deny"):
        Server(anonymous="maybe")  # type: ignore[arg-type]
    with pytest.raises(ListenError, match=r"jwt_public_key: cannot read /nonexistent/key\.pem"):
        Server(jwt_public_key="/nonexistent/key.pem")
