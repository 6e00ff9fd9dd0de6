"""The node's own reader of its Redis subscription (cluster/subscription.py): RESP pushes split anywhere,
malformed bytes, error replies, and a real Redis subscription with payloads larger than one read."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from ksps.cluster.subscription import SubscriptionProtocol, subscribe

from .processes import RedisProcess
from .wire import unique

#: Three pushes as Redis sends them: a subscribe confirmation, a message, a pattern message (RESP2 arrays).
CONFIRM = b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
MESSAGE = b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n"
PMESSAGE = b"*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$6\r\n\x00\r\nbin\r\n"
#: The same message as a RESP3 push (what redis-py's default HELLO 3 makes Redis send).
PUSH = b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$4\r\npush\r\n"


@pytest.fixture
async def linked() -> AsyncIterator[tuple[SubscriptionProtocol, list[bytes], socket.socket]]:
    """A protocol on one end of a real socket pair (the other end plays Redis), started, and what it delivered."""
    ours, theirs = socket.socketpair()
    delivered: list[bytes] = []
    protocol = SubscriptionProtocol(delivered.append, [b"ch"])
    loop = asyncio.get_running_loop()
    await loop.create_connection(lambda: protocol, sock=ours)
    protocol.start()
    theirs.setblocking(False)
    yield protocol, delivered, theirs
    protocol.close()
    theirs.close()


async def test_pushes_split_at_every_byte_are_read_whole(
    linked: tuple[SubscriptionProtocol, list[bytes], socket.socket],
) -> None:
    protocol, delivered, _ = linked
    stream = CONFIRM + MESSAGE + PMESSAGE + PUSH
    for cut in range(1, len(stream)):  # every split into two reads
        protocol.data_received(stream[:cut])
        protocol.data_received(stream[cut:])
    for byte in stream:  # and one byte per read
        protocol.data_received(bytes([byte]))
    assert delivered == [b"hello", b"\x00\r\nbin", b"push"] * len(stream)
    assert protocol.subscribed.done() and not protocol.closed.done()


async def test_many_pushes_in_one_read_are_delivered_in_order(
    linked: tuple[SubscriptionProtocol, list[bytes], socket.socket],
) -> None:
    protocol, delivered, _ = linked
    payloads = [f"m{n}".encode() for n in range(100)]
    pushes = (b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$%d\r\n%s\r\n" % (len(p), p) for p in payloads)
    protocol.data_received(b"".join(pushes))
    assert delivered == payloads


async def test_other_replies_of_a_subscribed_connection_are_ignored(
    linked: tuple[SubscriptionProtocol, list[bytes], socket.socket],
) -> None:
    protocol, delivered, _ = linked
    protocol.data_received(b"*3\r\n$11\r\nunsubscribe\r\n$2\r\nxx\r\n:0\r\n*2\r\n$4\r\npong\r\n$0\r\n\r\n+OK\r\n:5\r\n")
    protocol.data_received(b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n:7\r\n")  # not a payload: skipped
    protocol.data_received(MESSAGE)
    assert delivered == [b"hello"] and not protocol.closed.done()


@pytest.mark.parametrize(
    "garbage",
    [b"?what\r\n", b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$x\r\n", b"-ERR wrong number of arguments\r\n"],
    ids=["unknown type byte", "bad length", "error reply"],
)
async def test_malformed_input_or_an_error_closes_the_connection(
    linked: tuple[SubscriptionProtocol, list[bytes], socket.socket], garbage: bytes
) -> None:
    protocol, delivered, theirs = linked
    loop = asyncio.get_running_loop()
    await loop.sock_sendall(theirs, MESSAGE + garbage + MESSAGE)
    reason = await asyncio.wait_for(protocol.closed, 5)
    assert isinstance(reason, ConnectionError)
    assert delivered == [b"hello"]  # what came before is delivered; nothing after the bad bytes
    assert await asyncio.wait_for(loop.sock_recv(theirs, 10), 5) == b""  # and the socket is closed


async def test_a_failing_handler_does_not_end_the_subscription() -> None:
    ours, theirs = socket.socketpair()
    seen: list[bytes] = []

    def handler(payload: bytes) -> None:
        seen.append(payload)
        if len(seen) == 1:
            raise RuntimeError("a bug in one handler")

    protocol = SubscriptionProtocol(handler, [])
    await asyncio.get_running_loop().create_connection(lambda: protocol, sock=ours)
    protocol.start()
    protocol.data_received(MESSAGE + MESSAGE)
    assert seen == [b"hello", b"hello"] and not protocol.closed.done()
    protocol.close()
    theirs.close()


async def test_payloads_are_held_until_started() -> None:
    ours, theirs = socket.socketpair()
    delivered: list[bytes] = []
    protocol = SubscriptionProtocol(delivered.append, [b"ch"])
    await asyncio.get_running_loop().create_connection(lambda: protocol, sock=ours)
    protocol.data_received(CONFIRM + MESSAGE + PUSH)
    assert delivered == [] and protocol.subscribed.done()
    protocol.start()
    protocol.data_received(MESSAGE)
    assert delivered == [b"hello", b"push", b"hello"]
    protocol.close()
    theirs.close()


async def test_a_peer_that_closes_completes_closed(
    linked: tuple[SubscriptionProtocol, list[bytes], socket.socket],
) -> None:
    protocol, _, theirs = linked
    theirs.close()
    assert isinstance(await asyncio.wait_for(protocol.closed, 5), ConnectionError)


async def test_a_real_subscription_reads_large_payloads_and_ends_when_killed(own_redis: RedisProcess) -> None:
    client = aioredis.Redis.from_url(own_redis.url())
    channels = [unique("a"), unique("b")]
    received: list[bytes] = []
    arrived = asyncio.Event()

    def on_message(payload: bytes) -> None:
        received.append(payload)
        if len(received) == 3:
            arrived.set()

    subscription = await subscribe(client, channels, on_message, timeout=5)
    subscription.start()
    large = bytes(range(256)) * 4096  # 1 MiB: many reads
    assert await client.publish(channels[0], b"small") == 1
    assert await client.publish(channels[1], large) == 1
    assert await client.publish(channels[0], b"\r\n$3\r\n") == 1
    await asyncio.wait_for(arrived.wait(), 10)
    assert received == [b"small", large, b"\r\n$3\r\n"]

    # Killed by Redis (it survives): the subscription ends and stays ended (no silent reconnect).
    assert await client.client_kill_filter(_type="pubsub") == 1
    assert isinstance(await asyncio.wait_for(subscription.closed, 5), ConnectionError)
    assert await client.publish(channels[0], b"lost") == 0
    await client.aclose()


async def test_subscribing_to_a_redis_that_is_gone_fails(own_redis: RedisProcess) -> None:
    url = own_redis.url()
    own_redis.kill()
    client = aioredis.Redis.from_url(url, socket_connect_timeout=2.0)
    with pytest.raises((OSError, aioredis.ConnectionError)):
        await subscribe(client, ["x"], lambda _: None, timeout=5)
    await client.aclose()
