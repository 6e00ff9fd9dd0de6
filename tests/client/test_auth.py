"""Credentials and refusals in the Python client (spec §10, §11), against a real server with a JWT secret:
Token/GetToken, AuthError on 4003/4004/401, in-place refresh, and error frames matched to their request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest

from ksps.client import Client, ServerErrorReply
from ksps.errors import AuthError
from ksps.testing import RestartableServer

from .conftest import FAST_RETRY, UNIT, Hooks, next_item, within

#: A made-up HS256 secret for these tests only.
SECRET = "client-test-secret-0123456789abcdef"
OTHER_SECRET = "another-secret-0123456789abcdef-0123"


def mint(sub: str, *, ttl: float = 3600.0, secret: str = SECRET, **claims: Any) -> str:
    """An HS256 token for `sub` that expires in `ttl` seconds, at most one second less (`exp` is an integer)."""
    return jwt.encode({"sub": sub, "exp": int(time.time() + ttl), **claims}, secret, algorithm="HS256")


@pytest.fixture
async def auth_server() -> AsyncIterator[RestartableServer]:
    """A server that requires tokens signed with SECRET, closing at `exp` exactly (no leeway)."""
    server = await RestartableServer(server_id="auth-server", jwt_secret=SECRET, jwt_leeway=0).start()
    yield server
    await server.stop()


class TokenList:
    """A GetToken callback (async) handing out tokens in order, then the last one again."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = tokens
        self.calls = 0
        self.called: asyncio.Queue[int] = asyncio.Queue()

    async def __call__(self) -> str:
        token = self.tokens[min(self.calls, len(self.tokens) - 1)]
        self.calls += 1
        self.called.put_nowait(self.calls)
        return token


async def test_token_registers_its_subject_as_the_id(auth_server: RestartableServer) -> None:
    direct: asyncio.Queue[Any] = asyncio.Queue()
    async with Client.NewClient(Address=auth_server.address, Token=mint("alice"), OnId=direct.put_nowait) as client:
        assert client.Id == "alice"
        auth_server.s.PublishToID("alice", "hi")
        assert (await next_item(direct))["data"] == "hi"


async def test_get_token_alone_registers_the_subject_of_its_first_token(auth_server: RestartableServer) -> None:
    tokens = TokenList(mint("carol"))
    async with Client.NewClient(Address=auth_server.address, GetToken=tokens) as client:
        assert client.Id == "carol"
        assert auth_server.s.CountClients() == 1


async def test_refused_token_raises_auth_error(auth_server: RestartableServer) -> None:
    with pytest.raises(AuthError) as refused:
        await within(Client.NewClient(Address=auth_server.address, Token=mint("alice", secret=OTHER_SECRET)))
    assert refused.value.code == 4003
    assert auth_server.s.CountClients() == 0


async def test_http_401_at_the_upgrade_is_an_auth_error(auth_server: RestartableServer) -> None:
    # A bad token in the query string is refused before the upgrade (spec §10).
    with pytest.raises(AuthError) as refused:
        await within(Client.NewClient(Address=auth_server.address, Path="/ws/bus?token=garbage"))
    assert refused.value.code == 401


async def test_expired_token_without_get_token_closes_for_good(auth_server: RestartableServer) -> None:
    hooks = Hooks()
    client = await Client.NewClient(
        Address=auth_server.address, Token=mint("alice", ttl=2 * UNIT), **FAST_RETRY, **hooks.options()
    )
    assert (await next_item(hooks.disconnects))[0] == 4004
    error = await next_item(hooks.errors)
    assert isinstance(error, AuthError) and error.code == 4004
    await next_item(hooks.closes)
    assert client.closed


async def test_get_token_is_asked_again_after_a_refusal(auth_server: RestartableServer) -> None:
    hooks = Hooks()
    tokens = TokenList(mint("alice", secret=OTHER_SECRET), mint("alice"))
    async with Client.NewClient(
        Address=auth_server.address, Id="alice", GetToken=tokens, Autorestart=True, **FAST_RETRY, **hooks.options()
    ):
        error = await next_item(hooks.errors)
        assert isinstance(error, AuthError) and error.code == 4003
        await next_item(hooks.connects)
        assert tokens.calls == 2


async def test_token_refreshed_in_place_before_it_expires(auth_server: RestartableServer) -> None:
    hooks = Hooks()
    received: asyncio.Queue[Any] = asyncio.Queue()
    tokens = TokenList(mint("alice", ttl=2 * UNIT), mint("alice"))
    async with Client.NewClient(
        Address=auth_server.address, Id="alice", GetToken=tokens, **FAST_RETRY, **hooks.options()
    ) as client:
        await client.Subscribe("news", lambda message, unsub: received.put_nowait(message["data"]))
        assert await next_item(tokens.called) == 1
        assert await next_item(tokens.called) == 2  # the refresh, before exp
        # Past the first token's exp: the connection is still the same one.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(hooks.disconnects.get(), 2 * UNIT)
        auth_server.s.Publish("news", "still here")
        assert await next_item(received) == "still here"


async def test_expired_token_with_get_token_reconnects_and_keeps_subscriptions(
    auth_server: RestartableServer,
) -> None:
    hooks = Hooks()
    received: asyncio.Queue[Any] = asyncio.Queue()
    short = mint("alice", ttl=2 * UNIT)
    tokens = TokenList(short, short, mint("alice"))  # no newer token before exp: 4004, then a fresh one
    async with Client.NewClient(
        Address=auth_server.address, Id="alice", GetToken=tokens, **FAST_RETRY, **hooks.options()
    ) as client:
        await client.Subscribe("news", lambda message, unsub: received.put_nowait(message["data"]))
        await next_item(hooks.connects)
        assert (await next_item(hooks.disconnects))[0] == 4004
        await next_item(hooks.connects)
        assert tokens.calls == 3
        auth_server.s.Publish("news", "after refresh")
        assert await next_item(received) == "after refresh"


async def test_refused_subscribe_raises_with_its_code_and_is_not_kept(auth_server: RestartableServer) -> None:
    received: asyncio.Queue[Any] = asyncio.Queue()
    async with Client.NewClient(Address=auth_server.address, Token=mint("alice", subscribe=["public.*"])) as client:
        with pytest.raises(ServerErrorReply) as refused:
            await client.Subscribe("private", lambda message, unsub: received.put_nowait(message))
        assert (refused.value.code, refused.value.topic) == ("forbidden", "private")
        assert refused.value.rid != ""
        await client.Subscribe("public.1", lambda message, unsub: received.put_nowait(message["data"]))
        auth_server.s.Publish("private", "secret")
        auth_server.s.Publish("public.1", "marker")
        assert await next_item(received) == "marker"


async def test_refused_publish_reaches_on_error_with_its_topic(auth_server: RestartableServer) -> None:
    hooks = Hooks()
    received: asyncio.Queue[Any] = asyncio.Queue()
    async with Client.NewClient(
        Address=auth_server.address, Token=mint("alice", publish=["chat.*"]), **hooks.options()
    ) as client:
        await client.Subscribe("chat.1", lambda message, unsub: received.put_nowait(message["data"]))
        await client.Publish("news", "not allowed")
        await client.Publish("chat.1", "allowed")
        error = await next_item(hooks.errors)
        assert isinstance(error, ServerErrorReply)
        assert (error.code, error.topic) == ("forbidden", "news")
        assert await next_item(received) == "allowed"  # the connection goes on


async def test_refused_publish_with_ack_fails_its_wait(auth_server: RestartableServer) -> None:
    hooks = Hooks()
    async with Client.NewClient(
        Address=auth_server.address, Token=mint("alice", publish=["chat.*"]), **hooks.options()
    ) as client:
        ack = await client.PublishWithAck("news", "not allowed", 2.0)
        with pytest.raises(ServerErrorReply) as refused:
            await within(ack.Wait())
        assert (refused.value.code, refused.value.ack_id) == ("forbidden", ack.id)
        with pytest.raises(ServerErrorReply):
            await within(ack.WaitAny())
        assert hooks.errors.empty()  # matched to its request, not reported as unmatched
