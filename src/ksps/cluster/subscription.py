"""The node's Redis subscription, read by a protocol of our own (spec/cluster.md §7, issue 15).

redis-py's `PubSub.listen()` costs, per message, a chain of coroutines, a timeout object and a wake-up of the
reading task one loop iteration after the bytes arrived. Here the bytes go from the transport's
`data_received` through `hiredis.Reader` straight to the node's dispatch, in the same loop iteration, however
many messages one read holds.

redis-py still opens the connection (URL, TLS, unix sockets, AUTH, the client's name: as configured), with no
retry; then this protocol takes the transport over and subscribes. A dropped connection is never re-established
here: `closed` completes, and the node goes through its rejoin (spec/cluster.md §7, §11).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any, cast

import hiredis
import redis.asyncio as aioredis

__all__ = ["SubscriptionProtocol", "subscribe"]

log = logging.getLogger("ksps.cluster")

#: Called with the payload of every `message` (or `pmessage`) pushed on the subscription.
OnMessage = Callable[[bytes], None]


class SubscriptionProtocol(asyncio.Protocol):
    """Reads RESP2 push replies of a subscribed connection: `message`/`pmessage` payloads to `on_message`.

    `subscribe` confirmations are counted (`subscribed` completes once every channel asked for is confirmed);
    other replies of a subscribed connection (`unsubscribe`, `pong`, ...) are ignored. An error reply or bytes
    that are not RESP close the connection: `closed` then completes with the reason.

    Payloads are held, in order, until `start()`: the node finishes its (re)join before it reads the first
    message of a new subscription (a gap fill must hold deliveries first, spec/cluster.md §11).
    """

    __slots__ = ("_held", "_on_message", "_parser", "_pending", "_transport", "closed", "streams", "subscribed")

    def __init__(self, on_message: OnMessage, channels: Iterable[bytes]) -> None:
        loop = asyncio.get_running_loop()
        self._on_message = on_message
        self._parser = hiredis.Reader()
        self._pending = set(channels)
        self._held: list[bytes] | None = []
        self._transport: asyncio.Transport | None = None
        #: What must live as long as the connection (the streams redis-py opened it with), kept from the GC.
        self.streams: object = None
        #: Completes (with None) when every channel asked for is confirmed subscribed.
        self.subscribed: asyncio.Future[None] = loop.create_future()
        #: Completes with the reason the connection ended (an OSError, never raised by the future itself).
        self.closed: asyncio.Future[OSError] = loop.create_future()
        if not self._pending:
            self.subscribed.set_result(None)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport, but have its methods.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        parser.feed(data)
        while True:
            try:
                reply = parser.gets()
            except hiredis.ProtocolError as exc:
                self._fail(ConnectionError(f"unreadable reply on the redis subscription: {exc}"))
                return
            if reply is False:
                return
            if isinstance(reply, list) and reply:  # RESP2 arrays and RESP3 pushes (a list subclass) alike
                kind = reply[0]
                if kind == b"message" and len(reply) == 3:
                    self._deliver(reply[2])
                    continue
                if kind == b"pmessage" and len(reply) == 4:
                    self._deliver(reply[3])
                    continue
                if kind == b"subscribe" and len(reply) == 3:
                    self._confirmed(reply[1])
                    continue
            elif isinstance(reply, hiredis.ReplyError):
                self._fail(ConnectionError(f"redis refused the subscription: {reply}"))
                return
            # Anything else a subscribed connection may see (`unsubscribe`, `pong`) says nothing to this node.

    def _deliver(self, payload: Any) -> None:
        if type(payload) is not bytes:
            return  # not a payload this node sent
        if self._held is not None:
            self._held.append(payload)
            return
        try:
            self._on_message(payload)
        except Exception:  # one message's handler must not end the subscription
            log.exception("a cluster message could not be handled")

    def start(self) -> None:
        """Deliver the payloads held so far, then every payload as it is read."""
        held, self._held = self._held, None
        for payload in held or ():
            if self.closed.done():
                return  # closed by a handler: the rest belongs to a subscription that is over
            self._deliver(payload)

    def _confirmed(self, channel: Any) -> None:
        self._pending.discard(channel)
        if not self._pending and not self.subscribed.done():
            self.subscribed.set_result(None)

    def _fail(self, reason: OSError) -> None:
        if not self.closed.done():
            self.closed.set_result(reason)
        if not self.subscribed.done():
            self.subscribed.set_exception(reason)
            self.subscribed.exception()  # retrieved: nobody may be awaiting it any more
        if self._transport is not None:
            self._transport.abort()  # no more bytes from a stream out of step

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is None:
            exc = ConnectionError("redis closed the subscription")
        elif not isinstance(exc, OSError):
            exc = ConnectionError(f"the redis subscription failed: {exc!r}")
        self._fail(exc)

    def eof_received(self) -> bool | None:
        return None  # close the transport: connection_lost follows

    def close(self) -> None:
        """Close the connection (at shutdown, or to make the node rejoin)."""
        if self._transport is not None:
            self._transport.close()
        if not self.closed.done():
            self.closed.set_result(ConnectionError("subscription closed"))


async def subscribe(
    client: aioredis.Redis, channels: list[str], on_message: OnMessage, *, timeout: float
) -> SubscriptionProtocol:
    """Open a connection as `client` is configured, subscribe it to `channels`, and read it with our protocol.

    Raises OSError (ConnectionError, TimeoutError) or RedisError when the connection or the subscription fails;
    the connection is closed then.
    """
    pool: Any = client.connection_pool  # untyped in redis-py
    connection: Any = pool.make_connection()
    await connection.connect()  # redis-py's handshake: TLS, AUTH, HELLO/CLIENT SETNAME as the URL says
    # `_writer` is redis-py 8.1's StreamWriter (pinned, as in cluster/pipe.py); nothing was sent on it yet that
    # awaits an answer, so no byte is left in redis-py's reader when the protocol changes hands.
    transport: asyncio.Transport = connection._writer.transport
    protocol = SubscriptionProtocol(on_message, [channel.encode() for channel in channels])
    transport.set_protocol(protocol)
    protocol.connection_made(transport)
    # The transport is ours now: redis-py's connection forgets it, or its `__del__` would close it under us;
    # its streams live as long as the protocol (a StreamWriter's `__del__` closes its transport too).
    protocol.streams = (connection._reader, connection._writer)
    connection._reader = connection._writer = None
    transport.writelines(connection.pack_command("SUBSCRIBE", *channels))
    try:
        await asyncio.wait_for(asyncio.shield(protocol.subscribed), timeout)
    except BaseException:
        protocol.close()
        raise
    return protocol
