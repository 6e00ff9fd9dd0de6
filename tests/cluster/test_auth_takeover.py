"""ID takeover across nodes follows the identity rule (spec §10.6, spec/cluster.md §5): reproduction #3 of issue 10."""

from __future__ import annotations

from typing import Any

from ksps import Server

from ..server.tokens import SECRET, hs256
from .conftest import StartNode, sees
from .wire import WireClient, unique

AUTH: dict[str, Any] = {"jwt_secret": SECRET, "anonymous": "allow"}


async def two_nodes(start_node: StartNode, **options: Any) -> tuple[Server, Server]:
    prefix = unique("auth")
    first, second = await start_node(prefix, **options), await start_node(prefix, **options)
    await sees(first, second)
    await sees(second, first)
    return first, second


async def open_client(server: Server, frame: dict[str, Any]) -> WireClient:
    client = await WireClient.open(server.url)
    await client.send(frame)
    await client.expect("pong")
    return client


async def test_an_authenticated_id_is_not_taken_from_another_node(start_node: StartNode) -> None:
    first, second = await two_nodes(start_node, **AUTH)
    alice_id = unique("alice")
    alice = await open_client(first, {"action": "ping", "token": hs256(alice_id)})
    alice.id = alice_id
    attacker = await open_client(second, {"action": "ping", "from": alice_id})
    # The attacker's node learns from alice's node that the ID is held, and closes the attacker.
    assert await attacker.closed() == (4003, "unauthorized: ID held by another identity")
    assert await alice.sync() == []
    first.PublishToID(alice_id, "still yours")
    assert await alice.recv() == {"action": "direct_message", "from": first.ID, "data": "still yours"}


async def test_the_same_identity_takes_its_id_over_from_another_node(start_node: StartNode) -> None:
    first, second = await two_nodes(start_node, **AUTH)
    alice_id = unique("alice")
    old = await open_client(first, {"action": "ping", "token": hs256(alice_id)})
    new = await open_client(second, {"action": "ping", "token": hs256(alice_id)})
    assert await old.closed() == (4001, "replaced by a newer connection")
    new.id = alice_id
    assert await new.sync() == []


async def test_id_takeover_reject_across_nodes(start_node: StartNode) -> None:
    first, second = await two_nodes(start_node, id_takeover="reject")
    client_id = unique("bob")
    holder = await open_client(first, {"action": "ping", "from": client_id})
    holder.id = client_id
    newcomer = await open_client(second, {"action": "ping", "from": client_id})
    assert (await newcomer.closed())[0] == 4003
    assert await holder.sync() == []
