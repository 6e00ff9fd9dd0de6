"""Issue 11 row 11: close codes answered and framing violations refused per RFC 6455 §5.2, §5.4, §7.4
(spec §13.1)."""

from __future__ import annotations

import struct

import pytest

from .transport_support import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_TEXT,
    bystander_running,
    close_code,
    frame,
    open_abuser,
    send_raw,
    serving,
)


def close_frame(code: int | None) -> bytes:
    return frame(b"" if code is None else struct.pack("!H", code), OP_CLOSE)


async def test_close_without_a_code_is_answered_with_1000_not_0() -> None:
    async with serving() as server:
        client = await open_abuser(server)
        await send_raw(client, close_frame(None))
        assert await close_code(client) == (1000, b"")


@pytest.mark.parametrize("code", [1000, 1001, 3000, 4000, 4999])
async def test_a_valid_close_code_is_echoed(code: int) -> None:
    async with serving() as server:
        client = await open_abuser(server)
        await send_raw(client, close_frame(code))
        assert (await close_code(client))[0] == code


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])
async def test_an_invalid_close_code_fails_the_connection_with_1002(code: int) -> None:
    async with serving() as server:
        client = await open_abuser(server)
        await send_raw(client, close_frame(code))
        assert (await close_code(client))[0] == 1002


VIOLATIONS = {
    "rsv1": frame(b'{"action":"ping"}', rsv=0b100),
    "rsv2": frame(b'{"action":"ping"}', rsv=0b010),
    "rsv3 on a ping": frame(b"", 0x9, rsv=0b001),
    "continuation with no start": frame(b'{"action":"ping"}', OP_CONT),
    "text inside a fragmented message": frame(b'{"action":', OP_TEXT, fin=False) + frame(b'"ping"}'),
    "binary inside a fragmented message": frame(b'{"action":', OP_TEXT, fin=False) + frame(b"x", OP_BINARY),
}


@pytest.mark.parametrize("name", sorted(VIOLATIONS))
async def test_framing_violation_closes_with_1002_and_bystanders_keep_going(name: str) -> None:
    async with serving() as server:
        async with bystander_running(server):
            offender = await open_abuser(server)
            await send_raw(offender, VIOLATIONS[name])
            code, reason = await close_code(offender)
            offender.close()
        assert code == 1002, (code, reason)
        assert reason.startswith(b"protocol error: ")


async def test_control_frames_between_fragments_are_allowed() -> None:
    # RFC 6455 §5.4: control frames may be injected in the middle of a fragmented message.
    async with serving() as server:
        client = await open_abuser(server)
        await send_raw(
            client, frame(b'{"action":', fin=False) + frame(b"hi", 0x9) + frame(b'"ping","from":"f"}', OP_CONT)
        )
        opcode, payload = await client.read_frame() or (None, b"")
        assert (opcode, payload) == (0xA, b"hi")
        assert await client.read_json() == {"action": "pong", "id": "f"}
