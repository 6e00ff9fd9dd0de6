"""Permissions per action over the wire (spec §10.4): claims, middleware identities, the Authorize hook."""

from __future__ import annotations

from typing import Any

from ksps import Identity, Next, Reject, Server, UpgradeRequest

from .conftest import StartServer
from .tokens import SECRET, hs256
from .wire import Frame, WireClient

AUTH: dict[str, Any] = {"jwt_secret": SECRET, "anonymous": "allow"}


async def with_token(server: Server, sub: str, **claims: Any) -> WireClient:
    client = await WireClient.open(server.url, additional_headers={"Authorization": f"Bearer {hs256(sub, **claims)}"})
    await client.register()
    return client


async def anonymous(server: Server, client_id: str) -> WireClient:
    client = await WireClient.open(server.url)
    await client.register(client_id)
    return client


def forbidden(text: str, **members: str) -> Frame:
    return {"action": "error", "error": f"forbidden: {text}", "code": "forbidden", **members}


async def test_topic_patterns_per_action(start_server: StartServer) -> None:
    server = await start_server(**AUTH)
    alice = await with_token(server, "alice", subscribe=["news.*"], publish=["chat/*"], direct=["bob"])
    bob = await anonymous(server, "bob")
    carol = await anonymous(server, "carol")
    await bob.subscribe("chat/room")
    await bob.subscribe("news.x")

    await alice.subscribe("news.sport")
    await alice.send({"action": "subscribe", "topic": "weather", "rid": "s1"})
    assert await alice.recv() == forbidden("subscribe to weather", topic="weather", rid="s1")

    await alice.publish("chat/room", "hello")
    assert (await bob.expect("publish", topic="chat/room"))["data"] == {"data": "hello", "from": "alice"}
    await alice.send({"action": "publish", "topic": "news.x", "data": "fake"})
    assert await alice.recv() == forbidden("publish to news.x", topic="news.x")

    await alice.send({"action": "direct_message", "to": "bob", "data": 1})
    assert await bob.recv() == {"action": "direct_message", "from": "alice", "data": 1}
    await alice.send({"action": "direct_message", "to": "carol", "data": 2})
    assert await alice.recv() == forbidden("direct_message to carol", to="carol")

    # The bystanders got exactly the allowed frames: nothing from the refused ones.
    assert await bob.sync() == []
    assert await carol.sync() == []


async def test_ack_and_relay_capabilities(start_server: StartServer) -> None:
    server = await start_server(**AUTH)
    alice = await with_token(server, "alice", ack=False, relay=False)
    await alice.send({"action": "publish_with_ack", "topic": "t", "ack_id": "a1", "rid": "1"})
    assert await alice.recv() == forbidden("publish_with_ack to t", topic="t", ack_id="a1", rid="1")
    await alice.send({"action": "publish_to_id_with_ack", "to": "bob", "ack_id": "a2"})
    assert await alice.recv() == forbidden("publish_to_id_with_ack to bob", to="bob", ack_id="a2")
    await alice.send({"action": "publish_to_server", "to": "127.0.0.1:1", "data": 1})
    assert await alice.recv() == forbidden("publish_to_server to 127.0.0.1:1", to="127.0.0.1:1")
    # Answering acks stays allowed: an `ack` for an unknown request is silently ignored (spec §6.6).
    await alice.send({"action": "ack", "ack_id": "nope", "data": {"ack_id": "nope", "success": True}})
    assert await alice.sync() == []


async def test_default_permissions_deny(start_server: StartServer) -> None:
    server = await start_server(**AUTH, default_permissions="deny")
    reader = await with_token(server, "reader", subscribe=["*"])
    guest = await anonymous(server, "guest")
    await reader.subscribe("anything")
    await reader.send({"action": "publish", "topic": "anything", "data": 1})
    assert await reader.recv() == forbidden("publish to anything", topic="anything")
    await guest.send({"action": "subscribe", "topic": "anything"})
    assert await guest.recv() == forbidden("subscribe to anything", topic="anything")


async def test_middleware_identity(start_server: StartServer) -> None:
    server = await start_server()

    def authenticate(request: UpgradeRequest, call_next: Next) -> Reject | None:
        user = request.headers.get("X-User")
        if user is None:
            return Reject(401, "who are you?")
        request.identity = Identity(id=user, publish=[f"users/{user}/*"])
        return call_next(request)

    server.Use(authenticate)
    alice = await WireClient.open(server.url, additional_headers={"X-User": "alice"})
    assert await alice.register() == "alice"
    await alice.publish("users/alice/status", "online")
    await alice.send({"action": "publish", "topic": "users/bob/status", "data": "hacked"})
    assert await alice.recv() == forbidden("publish to users/bob/status", topic="users/bob/status")
    await alice.send({"action": "ping", "from": "bob"})
    assert await alice.closed() == (4003, "unauthorized: ID not allowed for this identity")


async def test_authorize_hook(start_server: StartServer) -> None:
    server = await start_server(**AUTH)
    calls: list[tuple[str, Identity | None, str]] = []

    def authorize(action: str, identity: Identity | None, target: str) -> bool:
        calls.append((action, identity, target))
        if target == "boom":
            raise RuntimeError("hook failed")
        return not target.startswith("secret")

    server.Authorize(authorize)
    guest = await anonymous(server, "guest")
    alice = await with_token(server, "alice", publish=["secret.*", "open"])
    await guest.publish("open", 1)
    await guest.send({"action": "publish", "topic": "secret.plans", "data": 1})
    assert await guest.recv() == forbidden("publish to secret.plans", topic="secret.plans")
    await alice.send({"action": "subscribe", "topic": "boom"})
    assert await alice.recv() == forbidden("subscribe to boom", topic="boom")
    # The claims refuse first: the hook is not asked about what the token does not allow.
    await alice.send({"action": "publish", "topic": "other", "data": 1})
    assert await alice.recv() == forbidden("publish to other", topic="other")
    assert [(a, i.id if i else None, t) for a, i, t in calls] == [
        ("publish", None, "open"),
        ("publish", None, "secret.plans"),
        ("subscribe", "alice", "boom"),
    ]
    # The in-process API is trusted: no hook call.
    server.Publish("secret.x", 1)
    server.authorize(None)
    await guest.publish("secret.plans", 2)
    assert len(calls) == 3


async def test_rid_is_echoed_on_replies_and_errors(start_server: StartServer) -> None:
    server = await start_server()
    client = await WireClient.open(server.url)
    await client.send({"action": "subscribe", "topic": "t", "rid": "0"})
    assert await client.recv() == {"action": "error", "error": "client not registered, send ping first", "rid": "0"}
    await client.send({"action": "ping", "from": "me", "rid": "1"})
    assert await client.recv() == {"action": "pong", "id": "me", "rid": "1"}
    client.id = "me"
    expected = {
        "2": ({"action": "subscribe", "topic": "t"}, {"action": "subscribed", "topic": "t"}),
        "3": ({"action": "publish", "topic": "u", "data": 1}, {"action": "published", "topic": "u"}),
        "4": ({"action": "unsubscribe", "topic": "t"}, {"action": "unsubscribed", "topic": "t"}),
        "5": ({"action": "get_ack_status", "ack_id": "x"}, {"action": "ack_status", "ack_id": "x"}),
        "6": ({"action": "cancel_ack", "ack_id": "x"}, {"action": "ack_cancelled", "ack_id": "x"}),
        "7": ({"action": "subscribe"}, {"action": "error", "error": "missing or invalid topic"}),
        "8": ({"action": "direct_message"}, {"action": "error", "error": "missing target ID"}),
        "9": ({"action": "nope"}, {"action": "error", "error": "unknown action: nope"}),
        # The limit checks answer a request too: a client matches the refusal of its Subscribe by rid.
        "10": ({"action": "subscribe", "topic": "y" * 300},
               {"action": "error", "error": "topic too long (max 256 bytes)"}),
        "11": ({"action": "ping", "from": "i" * 300}, {"action": "error", "error": "id too long (max 256 bytes)"}),
    }
    for rid, (frame, reply) in expected.items():
        await client.send({**frame, "rid": rid})
        assert await client.recv() == {**reply, "rid": rid}
    # Without rid, the original frames, byte for byte (spec §11.1).
    await client.send({"action": "publish", "topic": "u", "data": 1})
    assert await client.ws.recv() == '{"action":"published","topic":"u"}'
    await client.send({"action": "subscribe"})
    assert await client.ws.recv() == '{"action":"error","error":"missing or invalid topic"}'
    await client.send({"action": "ping", "rid": "r" * 300})
    await client.expect_error("rid too long (max 256 bytes)")
    await client.send({"action": "subscribe", "topic": "y" * 300, "rid": "r" * 300})  # a too-long rid never goes back
    assert await client.recv() == {"action": "error", "error": "topic too long (max 256 bytes)"}
