"""Issue 11 row 5: subscribers that stop reading cannot hold more than the server-wide output budget; they
are closed with 4002, largest backlog first, and the readers that keep up get everything (spec §13.1)."""

from __future__ import annotations

import asyncio

from ksps import Server
from ksps.server.server import core_of
from tests.server.wire import RawSocket, WireClient, units

from .transport_support import bystander_running, close_code, open_abuser, rss_bytes, serving

MiB = 1024 * 1024
BUDGET = 4 * MiB
MESSAGES = 200
PAYLOAD = "x" * (64 * 1024)


def output_waiting(server: Server) -> int:
    """Bytes all connections of `server` have waiting in their transports."""
    return sum(c._raw.get_write_buffer_size() for c in core_of(server).connections if c._raw is not None)


async def stalled_subscriber(server: Server, name: str) -> RawSocket:
    raw = await open_abuser(server)
    await raw.send_json({"action": "ping", "from": name})
    assert (await raw.read_json())["action"] == "pong"
    await raw.send_json({"action": "subscribe", "topic": "busy"})
    assert (await raw.read_json())["action"] == "subscribed"
    return raw  # and from now on, it reads nothing


async def test_stalled_subscribers_are_cut_at_the_server_budget_and_readers_keep_up() -> None:
    async with serving(max_output_buffer=BUDGET) as server:
        rss_before = rss_bytes()
        async with bystander_running(server) as bystander:
            stalled = [await stalled_subscriber(server, f"stalled-{i}") for i in range(10)]
            reader, publisher = await WireClient.open(server.url), await WireClient.open(server.url)
            await reader.register("reader")
            await publisher.register("publisher")
            await reader.subscribe("busy")

            async def read_all() -> list[int]:
                frames = [await reader.expect("publish", timeout=units(5)) for _ in range(MESSAGES)]
                return [f["data"]["data"]["n"] for f in frames]

            received = asyncio.create_task(read_all())
            peak, peak_rss = 0, 0
            for n in range(MESSAGES):
                await publisher.send({"action": "publish", "topic": "busy", "data": {"n": n, "pad": PAYLOAD}})
                await publisher.expect("published", topic="busy")
                peak, peak_rss = max(peak, output_waiting(server)), max(peak_rss, rss_bytes() - rss_before)
            assert await asyncio.wait_for(received, units(5)) == list(range(MESSAGES))
        codes = [(await close_code(raw, units(5)))[0] for raw in stalled]
        for raw in stalled:
            raw.close()
        rss_after = rss_bytes() - rss_before
        print(
            f"\nrow 5: 10 stalled of 12 subscribers, {MESSAGES} x 64 KiB: peak waiting {peak / MiB:.1f} MiB "
            f"(budget {BUDGET / MiB:.0f} MiB), close codes {codes}, peak RSS +{peak_rss / MiB:.1f} MiB, "
            f"after +{rss_after / MiB:.1f} MiB; "
            f"bystander {bystander.worst * 1000:.1f} ms"
        )
        # Each was closed with 4002; those still over the budget afterwards were dropped (spec §13.1).
        assert set(codes) <= {4002, None} and 4002 in codes, codes
        # The budget, plus what one flush can add before it is enforced (one message).
        assert peak <= BUDGET + 128 * 1024, f"{peak} bytes waiting"
        assert core_of(server).broker.slow_consumers_closed == 10
        assert output_waiting(server) == 0
        # This process also holds the test clients (12.5 MiB went through the reader); without the budget: +81 MiB.
        assert peak_rss < 24 * MiB
        assert rss_after < 24 * MiB
        assert bystander.worst < units(0.5), bystander.round_trips
        await reader.close()
        await publisher.close()
