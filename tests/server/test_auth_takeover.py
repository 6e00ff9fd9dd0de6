"""ID takeover and ack privacy (spec §10.6, §10.7): reproductions #3 and #4 of issue 10."""

from __future__ import annotations

from typing import Any

from ksps import Identity, Next, Reject, Server, UpgradeRequest

from .conftest import StartServer
from .tokens import SECRET, hs256
from .wire import WireClient, ms, units

AUTH: dict[str, Any] = {"jwt_secret": SECRET, "anonymous": "allow"}


def id_taken(client_id: str, **members: str) -> dict[str, str]:
    return {"action": "error", "error": f"id taken: {client_id}", "code": "id_taken", **members}


async def open_registered(server: Server, client_id: str | None = None, **options: Any) -> WireClient:
    client = await WireClient.open(server.url, **options)
    await client.register(client_id)
    return client


async def test_reproduction_3_an_authenticated_id_is_not_taken_by_a_ping(start_server: StartServer) -> None:
    server = await start_server(**AUTH)
    alice = await open_registered(server, additional_headers={"Authorization": f"Bearer {hs256('alice')}"})
    await alice.subscribe("alice-news")
    attacker = await open_registered(server, "attacker")
    await attacker.send({"action": "ping", "from": "alice", "rid": "x"})
    assert await attacker.recv() == id_taken("alice", rid="x")
    # Alice keeps her ID, her topics and her direct messages; the attacker gets none of them.
    await attacker.send({"action": "direct_message", "to": "alice", "data": "hi"})
    assert await alice.recv() == {"action": "direct_message", "from": "attacker", "data": "hi"}
    server.Publish("alice-news", 1)
    assert (await alice.expect("publish", topic="alice-news"))["data"]["data"] == 1
    assert await attacker.sync() == []
    assert await alice.sync() == []


async def test_reproduction_3_through_middleware(start_server: StartServer) -> None:
    # Every user passed the middleware, which does not bind IDs: one user still cannot take another's ID.
    server = await start_server()

    def logged_in(request: UpgradeRequest, call_next: Next) -> Reject | None:
        request.identity = Identity()
        return call_next(request)

    server.Use(logged_in)
    alice = await open_registered(server, "alice")
    mallory = await open_registered(server, "mallory")
    await mallory.send({"action": "ping", "from": "alice"})
    assert await mallory.recv() == id_taken("alice")
    assert await alice.sync() == []
    # The refused ping did not rename mallory either.
    assert await mallory.sync() == []


async def test_the_same_identity_replaces_its_connection(start_server: StartServer) -> None:
    server = await start_server(**AUTH, id_takeover="reject")
    old = await open_registered(server, additional_headers={"Authorization": f"Bearer {hs256('alice')}"})
    new = await WireClient.open(server.url)
    await new.send({"action": "ping", "token": hs256("alice")})
    await new.expect("pong", id="alice")
    assert await old.closed() == (4001, "replaced by a newer connection")


async def test_an_anonymous_ping_cannot_take_an_authenticated_id_even_with_replace(start_server: StartServer) -> None:
    server = await start_server(**AUTH)
    await open_registered(server, additional_headers={"Authorization": f"Bearer {hs256('alice')}"})
    other = await WireClient.open(server.url)
    await other.send({"action": "ping", "from": "alice"})
    assert await other.recv() == id_taken("alice")
    await other.send({"action": "subscribe", "topic": "t"})
    await other.expect_error("client not registered, send ping first")


async def test_id_takeover_reject_without_auth(start_server: StartServer) -> None:
    server = await start_server(id_takeover="reject")
    first = await open_registered(server, "alice")
    second = await WireClient.open(server.url)
    await second.send({"action": "ping", "from": "alice"})
    assert await second.recv() == id_taken("alice")
    assert await first.sync() == []
    assert server.CountClients() == 1


async def test_reproduction_4_acks_of_others_are_private(start_server: StartServer) -> None:
    server = await start_server()
    responder = await open_registered(server, "responder")
    await responder.subscribe("jobs")
    owner = await open_registered(server, "owner")
    snoop = await open_registered(server, "snoop")
    await owner.send({"action": "publish_with_ack", "topic": "jobs", "ack_id": "mine", "timeout": ms(units(10))})
    server_ack_id = (await responder.expect("publish_ack", topic="jobs"))["ack_id"]

    # The snoop guesses the server's ack ID: it sees nothing and cancels nothing.
    await snoop.send({"action": "get_ack_status", "ack_id": server_ack_id})
    assert await snoop.recv() == {"action": "ack_status", "ack_id": server_ack_id}
    await snoop.send({"action": "cancel_ack", "ack_id": server_ack_id})
    await snoop.expect("ack_cancelled", ack_id=server_ack_id)

    # The owner sees its own request, by either ID.
    await owner.send({"action": "get_ack_status", "ack_id": server_ack_id})
    assert await owner.recv() == {"action": "ack_status", "ack_id": server_ack_id, "status": {"responder": False}}
    await owner.send({"action": "get_ack_status", "ack_id": "mine"})
    assert (await owner.recv())["status"] == {"responder": False}
    await responder.ack(server_ack_id)
    response = await owner.expect("ack_response", ack_id="mine")
    assert response["responses"]["responder"]["success"] is True
