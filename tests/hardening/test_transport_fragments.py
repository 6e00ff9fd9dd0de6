"""Issue 11 row 2: an unfinished fragmented message is bounded in bytes and in fragments (empty ones count),
and fragments and control frames count toward the rate limits (spec §13.1)."""

from __future__ import annotations

from tests.server.wire import units

from .transport_support import (
    OP_CONT,
    OP_PING,
    bystander_running,
    close_code,
    frame,
    open_abuser,
    push,
    rss_bytes,
    send_raw,
    serving,
)

MiB = 1024 * 1024


async def test_endless_empty_continuations_close_with_1009() -> None:
    async with serving() as server:
        rss_before = rss_bytes()
        async with bystander_running(server) as bystander:
            abuser = await open_abuser(server)
            await send_raw(abuser, frame(b'{"action":"ping"', fin=False))
            # 5,000 empty fragments: no bytes at all, so only their number can stop them.
            await push(abuser, frame(b"", OP_CONT, fin=False) * 1000, limit=5 * 6000, stall=units(0.5))
            code, reason = await close_code(abuser)
            abuser.close()
        grown = rss_bytes() - rss_before
        print(f"\nrow 2: fragments: {code}; RSS +{grown / MiB:.1f} MiB; bystander {bystander.worst * 1000:.1f} ms")
        assert (code, reason) == (1009, b"message too big")
        assert grown < 16 * MiB
        assert bystander.worst < units(0.5), bystander.round_trips


async def test_two_byte_fragments_close_with_1009_at_the_fragment_limit() -> None:
    async with serving(max_message_fragments=100) as server:
        abuser = await open_abuser(server)
        await send_raw(abuser, frame(b"{}", fin=False) + frame(b"  ", OP_CONT, fin=False) * 99)
        await send_raw(abuser, frame(b"  ", OP_CONT, fin=False))  # the 101st
        assert await close_code(abuser) == (1009, b"message too big")


async def test_a_message_of_exactly_the_fragment_limit_is_accepted() -> None:
    async with serving(max_message_fragments=4) as server:
        client = await open_abuser(server)
        pieces = [b'{"action":', b'"ping",', b'"from":', b'"f"}']
        data = frame(pieces[0], fin=False) + b"".join(
            frame(p, OP_CONT, fin=i == len(pieces) - 1) for i, p in enumerate(pieces[1:], 1)
        )
        await send_raw(client, data)
        assert await client.read_json() == {"action": "pong", "id": "f"}


async def test_fragments_count_toward_the_frame_rate() -> None:
    # (No bystander here: at 100 frames/s it would be cut off too.)
    async with serving(max_frames_per_second=100, frame_burst=100) as server:
        abuser = await open_abuser(server)
        await send_raw(abuser, frame(b"{", fin=False) + frame(b" ", OP_CONT, fin=False) * 300)
        assert await close_code(abuser) == (1008, b"rate limit exceeded")


async def test_control_frames_count_toward_the_frame_rate() -> None:
    async with serving(max_frames_per_second=100, frame_burst=100, max_control_frames_per_second=0) as server:
        abuser = await open_abuser(server)
        await send_raw(abuser, frame(b"", OP_PING) * 300)
        assert await close_code(abuser) == (1008, b"rate limit exceeded")


async def test_control_frames_over_their_own_rate_close_with_1008() -> None:
    async with serving(max_control_frames_per_second=10) as server:
        abuser = await open_abuser(server)
        await send_raw(abuser, frame(b"", OP_PING) * 11)
        assert await close_code(abuser) == (1008, b"control frame rate exceeded")
