"""PUBLISH to Redis without waiting for each batch's replies (spec/cluster.md, issue 15).

redis-py's pipeline sends a batch and waits for all its replies before the next batch can go: a cross-node
round trip (a publication with acknowledgement out, its `Expect` and `Result` back) queued behind the Redis
round trip of the batch before it, and every reply woke the node up once more. Here the writer hands each batch
to the socket at once, and the replies are read by a task of their own, in order, by those who need them (the
number of nodes that heard a publication with acknowledgement). A PUBLISH whose count nobody needs is preceded
by `CLIENT REPLY SKIP`: Redis sends no reply for it, so most cross-node traffic costs no reply and no wake-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

__all__ = ["PublishPipe", "Receivers"]

log = logging.getLogger("ksps.cluster")

#: Called with the number of subscribers of the channel that got the message (0: nobody, or Redis failed).
Receivers = Callable[[int], None]

#: `CLIENT REPLY SKIP`, packed: the next command gets no reply.
_SKIP_REPLY = b"*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$4\r\nSKIP\r\n"


def _packed_publish(channel: str, payload: bytes) -> bytes:
    """`PUBLISH channel payload` in RESP: redis-py's `pack_command` costs several times more in Python."""
    name = channel.encode()
    return b"*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(name), name, len(payload), payload)


class PublishPipe:
    """One dedicated Redis connection for PUBLISH, its replies read apart from the writes."""

    __slots__ = ("_connection", "_reader", "_redis", "_reply_wake", "_waiting")

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._connection: Any = None
        self._reader: asyncio.Task[None] | None = None
        #: Per reply still to come, in order: who wants the count.
        self._waiting: deque[list[Receivers]] = deque()
        self._reply_wake = asyncio.Event()

    async def publish(self, groups: Sequence[tuple[str, bytes, list[Receivers]]]) -> None:
        """PUBLISH each `(channel, payload, receivers)`; each receiver later gets that channel's count.

        Returns once the commands are handed to the socket, not when Redis answered. Raises RedisError or
        OSError when the connection fails; then everyone still waiting for a count gets 0.
        """
        commands: list[bytes] = []
        expecting: list[list[Receivers]] = []
        for channel, payload, receivers in groups:
            if receivers:
                expecting.append(receivers)
            else:
                commands.append(_SKIP_REPLY)
            commands.append(_packed_publish(channel, payload))
        self._waiting.extend(expecting)  # before the write: replies are paired with requests in order
        try:
            connection = await self._connect()
            # Straight to the stream: redis-py's `send_packed_command` wraps every write in `asyncio.wait_for`,
            # a Task per batch that writes only on the next loop iteration. The write timeout is kept for
            # when it matters: only a backed-up socket waits (`_writer` is redis-py 8.1's, pinned).
            writer = connection._writer
            writer.write(b"".join(commands))
            if writer.transport.get_write_buffer_size():
                await asyncio.wait_for(writer.drain(), connection.socket_timeout)
        except (RedisError, OSError):
            await self.reset()
            raise
        if expecting:
            self._reply_wake.set()

    async def _connect(self) -> Any:
        if self._connection is None:
            pool: Any = self._redis.connection_pool  # untyped in redis-py
            self._connection = await pool.get_connection()
            self._reader = asyncio.get_running_loop().create_task(
                self._read_replies(self._connection), name="ksps-redis-replies"
            )
        return self._connection

    async def _read_replies(self, connection: Any) -> None:
        waiting = self._waiting
        try:
            while True:
                while not waiting:
                    self._reply_wake.clear()
                    await self._reply_wake.wait()
                count = await connection.read_response()
                for receivers in waiting.popleft():
                    receivers(int(count))
        except (RedisError, OSError, ValueError) as exc:
            log.error("redis PUBLISH replies failed (%s); the next write reconnects", exc)
            self._fail_waiting()
            if self._connection is connection:
                self._connection = self._reader = None
                await self._give_back(connection)

    def _fail_waiting(self) -> None:
        waiting, self._waiting = self._waiting, deque()
        for receivers in waiting:
            for receiver in receivers:
                receiver(0)  # nobody known to have heard: the request completes with the answers it has

    async def reset(self) -> None:
        """Drop the connection (after a failure or at shutdown); those waiting for a count get 0."""
        connection, reader = self._connection, self._reader
        self._connection = self._reader = None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await reader
        self._fail_waiting()
        if connection is not None:
            await self._give_back(connection)

    async def _give_back(self, connection: Any) -> None:
        """Close a connection that failed or is done with, and return it to redis-py's pool."""
        with contextlib.suppress(RedisError, OSError):
            await connection.disconnect()
            pool: Any = self._redis.connection_pool
            await pool.release(connection)
