"""Issue 11 row 1: a client that sends PINGs and never reads cannot make the server pile up output
(spec §13.1: PONGs go through the send queue, a peer whose writes back up is not read, control-frame rate)."""

from __future__ import annotations

from ksps import Server
from ksps.server.server import core_of
from tests.server.wire import units

from .transport_support import (
    OP_PING,
    bystander_running,
    close_code,
    frame,
    open_abuser,
    push,
    rss_bytes,
    serving,
)

MiB = 1024 * 1024
#: 500 PINGs of 125 bytes per send: the largest control frames, so the flood is cheap to produce here.
PINGS = frame(b"p" * 125, OP_PING) * 500


def output_waiting(server: Server) -> int:
    """The most bytes any connection of `server` has waiting in its transport."""
    return max((c._raw.get_write_buffer_size() for c in core_of(server).connections if c._raw is not None), default=0)


async def test_ping_flood_closes_with_1008_while_a_bystander_is_served() -> None:
    async with serving() as server:
        rss_before = rss_bytes()
        async with bystander_running(server) as bystander:
            abuser = await open_abuser(server)
            await push(abuser, PINGS, limit=32 * MiB, stall=units(0.5))
            code, reason = await close_code(abuser)
            abuser.close()
        grown = rss_bytes() - rss_before
        print(f"\nrow 1: PING flood closed 1008; RSS +{grown / MiB:.1f} MiB; bystander {bystander.worst * 1000:.1f} ms")
        assert (code, reason) == (1008, b"control frame rate exceeded")
        assert grown < 16 * MiB
        assert bystander.worst < units(0.5), bystander.round_trips


async def test_ping_flood_without_reading_stops_being_read_instead_of_buffering_pongs() -> None:
    # The rate limits off: only the pause on a backed-up write side bounds the output.
    async with serving(max_control_frames_per_second=0, max_frames_per_second=0) as server:
        rss_before = rss_bytes()
        async with bystander_running(server) as bystander:
            abuser = await open_abuser(server)
            sent, stalled = await push(abuser, PINGS, limit=64 * MiB, stall=units(0.5))
            assert stalled, f"the server read all {sent} bytes of PINGs from a client that reads nothing"
            waiting = output_waiting(server)
            grown = rss_bytes() - rss_before
            abuser.close()
        print(
            f"\nrow 1 (rate limits off): {sent / MiB:.1f} MiB of PINGs taken, then not read; {waiting} bytes of PONGs"
            f" waiting; RSS +{grown / MiB:.1f} MiB; bystander worst {bystander.worst * 1000:.1f} ms"
        )
        # The asyncio high-water mark (64 KiB) plus what one read answered.
        assert waiting < 1 * MiB, f"{waiting} bytes of PONGs waiting after {sent} bytes of PINGs"
        assert grown < 16 * MiB, f"RSS grew {grown} bytes"
        assert bystander.worst < units(0.5), bystander.round_trips
