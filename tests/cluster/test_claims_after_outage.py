"""Client IDs claimed while Redis was away are re-announced on rejoin (issue 11, row 10; spec/cluster.md §5, §7).

Two nodes lose Redis; the same client ID registers on both meanwhile. Once Redis is back, the usual rule
settles it: the newer claim keeps the ID, the older connection is closed with 4001, and direct messages
reach the one holder only.
"""

from __future__ import annotations

from .conftest import Connect, Spawn, StartNode, redis_outage, redis_rejoin, wait_ready
from .processes import RedisProcess
from .wire import WireClient, eventually, unique, units

REPLACED = (4001, "replaced by a newer connection")


async def only_holder(sender: WireClient, holder: WireClient, client_id: str) -> None:
    """Direct messages to `client_id` reach `holder`, however long the nodes take to settle."""
    token = unique("direct")

    async def delivered() -> bool:
        await sender.direct(client_id, token)
        try:
            frame = await holder.recv(units(0.5))
        except TimeoutError:
            return False
        assert frame == {"action": "direct_message", "from": sender.id, "data": token}, frame
        return True

    for _ in range(10):
        if await delivered():
            return
    raise AssertionError(f"direct messages to {client_id} never reached its holder")


async def test_an_id_claimed_on_two_nodes_during_an_outage_is_settled_when_redis_is_back(
    own_redis: RedisProcess, spawn: Spawn, start_node: StartNode, connect: Connect
) -> None:
    prefix = unique("claims")
    a, b = spawn(own_redis, prefix, unique("a")), spawn(own_redis, prefix, unique("b"))
    await wait_ready(a, b)
    await redis_outage(own_redis, a, b)
    client_id = unique("dup")
    older = await connect(a.url, client_id)
    newer = await connect(b.url, client_id)  # a later claim: it keeps the ID

    await redis_rejoin(own_redis, a, b)
    assert await older.closed(units(5)) == REPLACED
    sender = await connect(a.url, unique("sender"))
    await only_holder(sender, newer, client_id)
    observer = await start_node(prefix, redis=own_redis)
    await eventually(observer.CountClients, 2, timeout=units(5), what="CountClients")


async def test_a_claim_made_during_an_outage_replaces_the_holder_from_before_it(
    own_redis: RedisProcess, spawn: Spawn, connect: Connect
) -> None:
    prefix = unique("claims")
    a, b = spawn(own_redis, prefix, unique("a")), spawn(own_redis, prefix, unique("b"))
    await wait_ready(a, b)
    client_id = unique("dup")
    older = await connect(a.url, client_id)  # announced to b before the outage
    await redis_outage(own_redis, a, b)
    newer = await connect(b.url, client_id)

    await redis_rejoin(own_redis, a, b)
    assert await older.closed(units(5)) == REPLACED
    sender = await connect(a.url, unique("sender"))
    await only_holder(sender, newer, client_id)
