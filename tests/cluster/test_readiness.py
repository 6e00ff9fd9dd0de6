"""`/readyz` follows the node's Redis link; `/metrics` shows it (docs/observability.md)."""

from __future__ import annotations

import asyncio

from ..server.http_pages import http_get, scrape, value
from .conftest import StartNode
from .processes import MAX_BACKOFF, RedisProcess
from .wire import unique, units


async def readiness(port: int, expected: int, timeout: float) -> bytes:
    """Poll `/readyz` until it answers `expected`; its body."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        status, _, body = await http_get(port, "/readyz")
        if status == expected:
            return body
        assert loop.time() < deadline, f"/readyz still {status} {body!r}, expected {expected}"
        await asyncio.sleep(0.05)  # polling a condition, not waiting for time to pass


async def test_readyz_follows_the_redis_link(own_redis: RedisProcess, start_node: StartNode) -> None:
    node = await start_node(unique("ready"), redis=own_redis, metrics=True)
    await readiness(node.port, 200, units(2))
    families = await scrape(node.port)
    assert value(families, "ksps_redis_connected") == 1
    # The round trip is sampled once a second, off the scrape.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + units(5)
    while "ksps_redis_round_trip_seconds" not in families:
        assert loop.time() < deadline, "no Redis round trip measured"
        await asyncio.sleep(0.05)  # polling a condition, not waiting for time to pass
        families = await scrape(node.port)
    assert 0 < value(families, "ksps_redis_round_trip_seconds") < units(1)

    own_redis.kill()
    assert await readiness(node.port, 503, units(5)) == b"not ready: not joined to redis\n"
    assert (await http_get(node.port, "/healthz"))[0] == 200  # the process still serves its own clients
    assert value(await scrape(node.port), "ksps_redis_connected") == 0

    own_redis.start()  # same port
    await readiness(node.port, 200, MAX_BACKOFF + units(5))
    assert value(await scrape(node.port), "ksps_redis_connected") == 1
