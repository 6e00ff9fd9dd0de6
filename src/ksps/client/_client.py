"""The public face of the Python client: ``await Client.connect(address=...)`` and the verbs.

snake_case is the API; the original KSPS PascalCase names (`NewClient`, `Subscribe`, `PublishWithAck`, ...)
come from the one table ``Client.KSPS_NAMES`` (see ``ksps._dialect``). Timeouts are seconds. This class only
checks arguments; the driver (`_driver`) runs the sans-I/O session core (`core`) that decides everything else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from types import TracebackType
from typing import Any, ClassVar

from ksps._dialect import KspsSpelling
from ksps.errors import ClientClosed, NotConnected
from ksps.protocol import actions as act
from ksps.protocol.history import HistoryPage, StreamPosition
from ksps.protocol.presence import PresenceInfo
from ksps.protocol.vocabulary import ClientDefaults

from ._acks import ClientAck
from ._driver import Driver
from ._options import ClientOptions
from ._subscriptions import Callback, Confirmation, Subscription, Unsubscriber
from .core import ServerErrorReply

__all__ = ["DEFAULT_ACK_TIMEOUT", "Client", "Connecting"]

#: Default ack timeout in seconds, as in the original Python client.
DEFAULT_ACK_TIMEOUT = ClientDefaults.ACK_TIMEOUT

_DIRECT = act.DIRECT_TOPIC_PREFIX


class Client(KspsSpelling):
    """A ksps client. Create it with ``await Client.connect(address="localhost:9313")``.

    It reconnects by itself with exponential backoff, restores every subscription (also those made while
    disconnected), and sends the publications queued meanwhile. ``async with`` closes it on exit.
    """

    KSPS_NAMES: ClassVar[dict[str, str]] = {
        "NewClient": "connect", "Id": "id", "ID": "id", "IsConnected": "is_connected",
        "Subscribe": "subscribe", "Unsubscribe": "unsubscribe", "Publish": "publish",
        "PublishToID": "publish_to_id", "PublishToId": "publish_to_id", "PublishToServer": "publish_to_server",
        "PublishWithAck": "publish_with_ack", "PublishToIDWithAck": "publish_to_id_with_ack",
        "PublishToIdWithAck": "publish_to_id_with_ack", "Close": "close", "WaitClosed": "wait_closed",
        "Presence": "presence", "History": "history", "Position": "position",
    }

    __slots__ = ("_driver", "_session")

    def __init__(self, options: ClientOptions) -> None:
        """Prefer :meth:`connect`, which also connects."""
        self._driver = Driver(options)
        self._session = self._driver.session

    # -- creation ----------------------------------------------------------------------------------------

    @classmethod
    def connect(cls, options: ClientOptions | None = None, /, **keywords: Any) -> Connecting:
        """Connect a new client; await the result, or use it with ``async with``.

        Give a :class:`ClientOptions`, or its fields as keywords: snake_case (`address`, `id`, `token`,
        `on_error`, ...) or the KSPS PascalCase spellings (`Address`, `Id`, `OnError`, ...). Raises
        :class:`~ksps.errors.ConnectionFailed` when the first connection fails and `autorestart` is off, and
        :class:`~ksps.errors.AuthError` when the server refuses the token (4003, HTTP 401).
        """
        if options is None:
            options = ClientOptions.from_kwargs(keywords)
        elif keywords:
            raise TypeError("give either a ClientOptions or keywords, not both")
        return Connecting(cls, options)

    # -- state -------------------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """This client's ID."""
        return self._session.client_id

    def is_connected(self) -> bool:
        """True while connected and restored; publications made otherwise are queued."""
        return self._session.ready

    @property
    def closed(self) -> bool:
        """True once closed for good (close, close code 4001, or a lost connection without reconnect)."""
        return self._session.closed

    # -- topics ------------------------------------------------------------------------------------------

    async def subscribe(
        self, topic: str, callback: Callback, *, join_leave: bool = False,
        since: StreamPosition | tuple[int, str] | None = None,
    ) -> Unsubscriber:
        """Call `callback(message, unsub)` for each publication on `topic`; returns the `unsub` handle.

        `message` is ``{"data": payload, "from": sender_id}``, plus ``"offset"`` on a topic with history. The
        callback may be sync or async; `unsub()` works from both. Subscribing again to a topic replaces its
        callback. When connected this waits for the server's confirmation; when not, the subscription is sent
        on the next connection. Raises :class:`~ksps.client.ServerErrorReply` (`code` "forbidden", `topic`)
        when the server refuses it (spec §10); the refused subscription is not kept. With `join_leave=True`
        the OnJoin/OnLeave hooks also hear the topic's members come and go, across reconnections (spec §15.3).

        With `since` (a :class:`~ksps.protocol.StreamPosition` or an ``(offset, epoch)`` tuple, e.g. one
        :meth:`position` gave before a page reload) the publications after that position are delivered first
        (spec §14.3); the OnSubscribed hook says whether nothing was missed. Reconnections recover by
        themselves on topics with history, `since` or not.
        """
        self._check_open()
        _check_topic(topic)
        position = _check_position(since)
        driver = self._driver
        subscription = Subscription(topic, callback, self._end_subscription)
        driver.registry.add(subscription)
        registered = self._session.registered
        waiter = driver.waiter()
        outputs = self._session.subscribe(topic, handle=waiter, now=driver.now(), join_leave=join_leave, since=position)
        driver.apply(outputs)
        if not registered:
            return subscription.unsub
        answer = await _wait(waiter, driver.options.connect_timeout)
        if isinstance(answer, Exception):
            driver.registry.remove(subscription)
            raise answer
        return subscription.unsub

    async def history(
        self, topic: str, *, since: StreamPosition | tuple[int, str] | None = None, limit: int | None = None,
        reverse: bool = False,
    ) -> HistoryPage:
        """The kept publications of `topic` (spec §14.4) and its stream position: a :class:`HistoryPage`.

        Without `since`: the oldest first (the newest first with `reverse=True`); with `since`: those after
        it, or before it with `reverse=True` (paging backwards); a `since` of another epoch gives none (compare
        the page's `epoch`). At most `limit` (0: only the position), and never more than the server's cap.
        Raises :class:`~ksps.client.ServerErrorReply` with `code` "no_history" (the topic keeps none) or
        "forbidden", :class:`~ksps.errors.NotConnected` while disconnected (nothing is queued).
        """
        self._check_open()
        _check_topic(topic)
        position = _check_position(since)
        if limit is not None and (type(limit) is not int or limit < 0):
            raise (TypeError if type(limit) is not int else ValueError)(f"limit must be an int >= 0, got {limit!r}")
        if type(reverse) is not bool:
            raise TypeError(f"reverse must be a bool, got {type(reverse).__name__}")
        driver = self._driver
        waiter = driver.waiter()
        outputs = self._session.history(
            topic, handle=waiter, now=driver.now(), since=position, limit=limit, reverse=reverse
        )
        driver.apply(outputs)
        answer = await _wait(waiter, driver.options.connect_timeout)
        if isinstance(answer, HistoryPage):
            return answer
        if isinstance(answer, Exception):
            raise answer
        if self.closed:
            raise ClientClosed(f"client {self.id!r} closed before the server answered history")
        raise TimeoutError(f"the server did not answer history within {driver.options.connect_timeout} s")

    def position(self, topic: str) -> StreamPosition | None:
        """The stream position this client has reached on the subscribed `topic` (spec §14.2), or None.

        Known for topics with history once subscribed: the epoch the server answered and the offset of the
        latest publication delivered since. Store it (e.g. across a page reload) and give it to
        :meth:`subscribe` as `since` to receive what was published in between.
        """
        _check_topic(topic)
        return self._session.position(topic)

    async def presence(self, topic: str) -> PresenceInfo:
        """Who subscribes to `topic` on every node: `count`, the smallest `ids` (at most 1,000), `truncated`.

        Needs the subscribe permission for `topic` (else :class:`~ksps.client.ServerErrorReply`, `code`
        "forbidden") and a connection (else :class:`~ksps.errors.NotConnected`; nothing is queued, the answer
        would be stale); see spec §15.2.
        """
        self._check_open()
        _check_topic(topic)
        driver = self._driver
        waiter = driver.waiter()
        driver.apply(self._session.presence(topic, handle=waiter, now=driver.now()))
        answer = await _wait(waiter, driver.options.connect_timeout)
        if isinstance(answer, PresenceInfo):
            return answer
        if isinstance(answer, Exception):
            raise answer
        if self.closed:
            raise ClientClosed(f"client {self.id!r} closed before the server answered presence")
        raise TimeoutError(f"the server did not answer presence within {driver.options.connect_timeout} s")

    async def unsubscribe(self, topic: str) -> None:
        """Stop receiving `topic`; waits for the server's confirmation when connected."""
        _check_topic(topic)
        self._driver.registry.remove_topic(topic)
        await self._unsubscribe_on_server(topic)

    def _end_subscription(self, subscription: Subscription) -> Confirmation:
        if not self._driver.registry.remove(subscription) or self.closed:
            return Confirmation(None)
        return Confirmation(lambda: self._unsubscribe_on_server(subscription.topic))

    async def _unsubscribe_on_server(self, topic: str) -> None:
        driver = self._driver
        if self.closed:
            return
        waiter = driver.waiter()
        driver.apply(self._session.unsubscribe(topic, handle=waiter, now=driver.now()))
        answer = await _wait(waiter, driver.options.connect_timeout)
        if isinstance(answer, ServerErrorReply):
            raise answer

    # -- publications ------------------------------------------------------------------------------------

    async def publish(self, topic: str, data: Any) -> None:
        """Publish `data` (anything JSON can carry) to every subscriber of `topic`, this client included.

        A refusal by the server (spec §10) reaches the OnError hook as a ServerErrorReply naming the `topic`.
        """
        if type(topic) is not str or not topic or topic.startswith(_DIRECT):
            _check_topic(topic)
        session = self._session
        if session.ready:
            # The hot path: when ready the session would only return Send(frame); send it directly, waiting
            # only while the socket's write buffer is full.
            link = self._driver.link
            if link is not None:
                link.send(session.encoder.publish(topic, data))
                if link.paused:
                    await link.writable()
                return
        self._check_open()
        driver = self._driver
        driver.publication(session.publish(topic, data, driver.now()))

    async def publish_to_id(self, target_id: str, data: Any) -> None:
        """Send `data` to one client by ID, or to the server's OnID handler with the server's ID (spec §5)."""
        _check_target(target_id)
        self._check_open()
        driver = self._driver
        driver.publication(self._session.publish_to_id(target_id, data, driver.now()))
        await self._writable()

    async def publish_to_server(self, address: str, data: Any, secure: bool = False) -> None:
        """Ask the server to relay `data` to the server at `address` (`host:port/path`, spec §8).

        When `data` is ``{"topic": T, "data": D}`` the other server publishes D on T; its OnServerData
        handlers receive `data` in any case. A relay failure arrives at the OnError hook.
        """
        if type(address) is not str or not address:
            raise (TypeError if type(address) is not str else ValueError)("address must be a non-empty str")
        self._check_open()
        driver = self._driver
        driver.publication(self._session.publish_to_server(address, data, secure, driver.now()))
        await self._writable()

    async def publish_with_ack(self, topic: str, data: Any, timeout: float = DEFAULT_ACK_TIMEOUT) -> ClientAck:
        """Publish and collect each subscriber's acknowledgement for up to `timeout` seconds (spec §6)."""
        _check_topic(topic)
        handle = self._new_ack(timeout)
        driver = self._driver
        ms = round(timeout * 1000)
        driver.publication(self._session.publish_with_ack(topic, data, timeout=ms, handle=handle, now=driver.now()))
        await self._writable()
        return handle

    async def publish_to_id_with_ack(
        self, target_id: str, data: Any, timeout: float = DEFAULT_ACK_TIMEOUT
    ) -> ClientAck:
        """Send `data` to one client (its OnId handler) and collect its acknowledgement (spec §6.4)."""
        _check_target(target_id)
        handle = self._new_ack(timeout)
        driver = self._driver
        ms = round(timeout * 1000)
        outputs = self._session.publish_to_id_with_ack(target_id, data, timeout=ms, handle=handle, now=driver.now())
        driver.publication(outputs)
        await self._writable()
        return handle

    def _new_ack(self, timeout: float) -> ClientAck:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise TypeError(f"timeout must be a number of seconds, got {type(timeout).__name__}")
        if timeout < 0:
            raise ValueError("timeout must be >= 0 seconds")
        self._check_open()
        return ClientAck(self._session.next_ack_id, timeout, self, self._driver.loop)

    async def _writable(self) -> None:
        link = self._driver.link
        if link is not None and link.paused:
            await link.writable()

    # AckOwner, for ClientAck.
    def cancel_ack(self, handle: ClientAck) -> None:
        """End `handle`'s request now (`cancel_ack` to the server when it had it)."""
        self._driver.apply(self._session.cancel(handle, self._driver.now()))

    def fetch_ack_status(self, handle: ClientAck) -> None:
        """Ask the server for `handle`'s status (`get_ack_status`)."""
        if self.closed:
            handle._on_refused(NotConnected("the client is closed"))
            return
        self._driver.apply(self._session.fetch_status(handle, self._driver.now()))

    # -- closing -----------------------------------------------------------------------------------------

    async def close(self) -> None:
        """Close for good; pending waits return at once. OnClose follows, OnDisconnect does not. Idempotent."""
        await self._driver.close()

    async def wait_closed(self) -> None:
        """Wait until the client is closed (by close, or by the server replacing it)."""
        await self._driver.closed_event.wait()

    def _check_open(self) -> None:
        if self._session.closed:
            raise ClientClosed(f"client {self.id!r} is closed; create a new one with Client.connect")

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "connected" if self.is_connected() else "disconnected"
        return f"<ksps Client {self.id!r} {state} {self._driver.options.url()}>"


class Connecting:
    """What :meth:`Client.connect` returns: await it for the client, or ``async with`` it."""

    __slots__ = ("_client", "_cls", "_options")

    def __init__(self, cls: type[Client], options: ClientOptions) -> None:
        self._cls = cls
        self._options = options
        self._client: Client | None = None

    def __await__(self) -> Generator[Any, None, Client]:
        return self._connect().__await__()

    async def _connect(self) -> Client:
        # Only GetToken and no ID: the ID is the first token's `sub` (spec §10), known once it is fetched.
        client = self._cls(await self._options.with_id())
        self._client = client
        await client._driver.start()
        return client

    async def __aenter__(self) -> Client:
        return await self._connect()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.close()


async def _wait(waiter: Any, seconds: float) -> Any:
    """The reply of an intent, or None after `seconds` (or when the client closed meanwhile)."""
    try:
        async with asyncio.timeout(seconds):
            return await waiter
    except TimeoutError:
        return None


def _check_topic(topic: object) -> None:
    if type(topic) is not str:
        raise TypeError(f"topic must be a str, got {type(topic).__name__}: {topic!r}")
    if not topic:
        raise ValueError("topic must not be empty")
    if topic.startswith(_DIRECT):
        raise ValueError(f"topics starting with {_DIRECT!r} are reserved (spec §4.4)")


def _check_target(target_id: object) -> None:
    if type(target_id) is not str:
        raise TypeError(f"target ID must be a str, got {type(target_id).__name__}: {target_id!r}")
    if not target_id:
        raise ValueError("target ID must not be empty")


def _check_position(since: object) -> StreamPosition | None:
    """`since` as a StreamPosition: None, or an `(offset, epoch)` pair with an int offset >= 0 and a str epoch."""
    if since is None:
        return None
    if not isinstance(since, tuple) or len(since) != 2:
        raise TypeError(f"since must be a StreamPosition or an (offset, epoch) tuple, got {since!r}")
    offset, epoch = since
    if type(offset) is not int or type(epoch) is not str:
        raise TypeError(f"since must be (offset: int, epoch: str), got {since!r}")
    if offset < 0:
        raise ValueError(f"since offset must be >= 0, got {offset}")
    return since if type(since) is StreamPosition else StreamPosition(offset, epoch)
