"""Bursts of frames: the link writes the frames that follow each other in one go, masked by ksps itself
(src/ksps/client/_frames.py); the server must read every one of them, in order, whatever its length."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from ksps.client._frames import masked_text_frames
from ksps.client._transport import FLUSH_SIZE, QUEUE_LIMIT

from .conftest import NewClient, next_item

#: Payload lengths around each boundary of the frame header (7-bit, 16-bit lengths) and of the queue.
SIZES = [0, 1, 3, 4, 5, 100, 125, 126, 127, 1000, QUEUE_LIMIT - 200, QUEUE_LIMIT + 10, 70_000, 7, 8]


def _unmask(buffer: bytes) -> list[bytes]:
    """The payloads of masked client text frames, parsed as RFC 6455 §5.2 says (independently of ksps)."""
    payloads = []
    at = 0
    while at < len(buffer):
        assert buffer[at] == 0x81  # FIN, text
        length = buffer[at + 1] & 0x7F
        assert buffer[at + 1] & 0x80  # masked
        at += 2
        if length == 126:
            (length,) = struct.unpack_from(">H", buffer, at)
            at += 2
        elif length == 127:
            (length,) = struct.unpack_from(">Q", buffer, at)
            at += 8
        key = buffer[at : at + 4]
        at += 4
        payloads.append(bytes(byte ^ key[i % 4] for i, byte in enumerate(buffer[at : at + length])))
        at += length
    return payloads


def test_frames_unmask_to_their_payloads() -> None:
    payloads = [bytes(range(256)) * (size // 256) + bytes(range(size % 256)) for size in SIZES]
    assert _unmask(masked_text_frames(payloads)) == payloads
    assert masked_text_frames([]) == b""


def test_each_frame_gets_its_own_key() -> None:
    frames = masked_text_frames([b"same payload"] * 50)
    keys = {frames[i * 18 + 2 : i * 18 + 6] for i in range(50)}  # 2 header bytes, 4 key bytes, 12 payload
    assert len(keys) > 40


async def test_a_burst_arrives_complete_and_in_order(new_client: NewClient) -> None:
    received: asyncio.Queue[Any] = asyncio.Queue()
    a = await new_client(Id="A")
    b = await new_client(Id="B")
    await a.Subscribe("burst", lambda message, unsub: received.put_nowait(message["data"]))
    # Publish awaits only while the socket's write buffer is full: these go out in one loop turn, queued,
    # with the big ones sent by picows in between (and more than FLUSH_SIZE in all).
    sent = [{"n": n, "pad": "x" * SIZES[n % len(SIZES)]} for n in range(3 * len(SIZES))]
    assert sum(len(item["pad"]) for item in sent) > FLUSH_SIZE
    for item in sent:
        await b.Publish("burst", item)
    assert [await next_item(received) for _ in sent] == sent


async def test_close_sends_every_publication_before_it(new_client: NewClient) -> None:
    # Before: the socket was closed right after the CLOSE frame, with the server's `published` receipts still
    # unread in it; the kernel then reset the connection and the server lost the publications it had not read
    # yet (82 of 200 arrived).
    received: asyncio.Queue[Any] = asyncio.Queue()
    a = await new_client(Id="A")
    b = await new_client(Id="B")
    await a.Subscribe("closing", lambda message, unsub: received.put_nowait(message["data"]))
    for n in range(2000):
        await b.Publish("closing", n)
    await b.Close()
    assert [await next_item(received) for _ in range(2000)] == list(range(2000))


async def test_acks_of_a_burst_all_arrive(new_client: NewClient) -> None:
    a = await new_client(Id="A")
    b = await new_client(Id="B")
    await a.Subscribe("acked", lambda message, unsub: None)
    handles = [await b.PublishWithAck("acked", n, 5) for n in range(300)]
    answers = await asyncio.gather(*(handle.Wait() for handle in handles))
    assert all(set(answer) == {"A"} and answer["A"]["success"] for answer in answers)
