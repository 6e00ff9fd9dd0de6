"""The public face of the Python client: `Client.NewClient(...)` and the KSPS verbs.

Every verb has its KSPS PascalCase name and a snake_case alias (`Publish` / `publish`, ...). Timeouts are
seconds. The work is done by the session (connection lifecycle), the subscription registry, the callback
dispatcher and the ack handles; this class only checks arguments and encodes frames.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ksps.protocol import actions as act

from ._acks import ClientAck
from ._options import ClientOptions
from ._presence import PresenceInfo, ask_presence
from ._session import Session
from ._subscriptions import Callback, Subscription, Unsubscriber

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._options import ClientKwargs, ClientOptionKwargs

__all__ = ["Client", "Connecting"]

#: Default ack timeout in seconds, as in the original Python client.
DEFAULT_ACK_TIMEOUT = 30.0


class Client:
    """A ksps client. Create it with ``await Client.NewClient(Address="localhost:9313")``.

    It reconnects by itself with exponential backoff, restores every subscription (also those made while
    disconnected), and sends the publications queued meanwhile. ``async with`` closes it on exit.
    """

    def __init__(self, options: ClientOptions) -> None:
        """Prefer :meth:`NewClient`, which also connects."""
        self._session = Session(options)
        self._channel = self._session.channel
        self._encoder = self._session.encoder

    # -- creation ----------------------------------------------------------------------------------------

    @classmethod
    def NewClient(cls, **options: Unpack[ClientKwargs]) -> Connecting:
        """Connect a new client; await the result, or use it with ``async with``.

        Keywords are the fields of :class:`ClientOptions` in KSPS spelling (`Address`, `Path`, `Secure`,
        `Id`, `Autorestart`, `OnId`, `OnClose`, `OnConnect`, `OnDisconnect`, `OnError`, reconnect,
        offline-queue and keepalive settings, `Token`/`GetToken`); snake_case spellings are accepted too. Raises
        :class:`~ksps.errors.ConnectionFailed` when the first connection fails and `Autorestart` is off, and
        :class:`~ksps.errors.AuthError` when the server refuses the token (4003, HTTP 401).
        """
        return Connecting(cls, ClientOptions.from_kwargs(dict(options)))

    @classmethod
    def new_client(cls, **options: Unpack[ClientOptionKwargs]) -> Connecting:
        """:meth:`NewClient` with snake_case keywords."""
        return Connecting(cls, ClientOptions.from_kwargs(dict(options)))

    @classmethod
    def from_options(cls, options: ClientOptions) -> Connecting:
        """:meth:`NewClient` from a ready :class:`ClientOptions`."""
        return Connecting(cls, options)

    # -- state -------------------------------------------------------------------------------------------

    @property
    def Id(self) -> str:
        """This client's ID."""
        return self._session.client_id

    id = Id

    @property
    def connected(self) -> bool:
        """True while connected and restored; publications made otherwise are queued."""
        return self._session.ready

    @property
    def closed(self) -> bool:
        """True once closed for good (Close, close code 4001, or a lost connection without Reconnect)."""
        return self._session.closed

    # -- topics ------------------------------------------------------------------------------------------

    async def Subscribe(self, topic: str, callback: Callback, *, join_leave: bool = False) -> Unsubscriber:
        """Call `callback(message, unsub)` for each publication on `topic`; returns the `unsub` handle.

        `message` is ``{"data": payload, "from": sender_id}``. The callback may be sync or async; `unsub()`
        works from both. Subscribing again to a topic replaces its callback. When connected this waits for
        the server's confirmation; when not, the subscription is sent on the next connection. Raises
        :class:`~ksps.client.ServerErrorReply` (`code` "forbidden", `topic`) when the server refuses it
        (spec §10); the refused subscription is not kept. With `join_leave=True` the OnJoin/OnLeave hooks also
        hear the topic's members come and go (spec §15.3).
        """
        self._channel.check_open()
        _check_topic(topic)
        subscription = Subscription(topic, callback, self._session.unsubscribe, join_leave=join_leave)
        await self._session.subscribe(subscription)
        return subscription.unsub

    async def Presence(self, topic: str) -> PresenceInfo:
        """The members of `topic` on every node: `count`, the smallest `ids` (at most 1,000), `truncated`.

        Needs the subscribe permission for `topic` (else ServerErrorReply, `code` "forbidden") and a
        connection (else :class:`~ksps.errors.NotConnected`); see spec §15.
        """
        _check_topic(topic)
        return await ask_presence(self._session, topic)

    async def Unsubscribe(self, topic: str) -> None:
        """Stop receiving `topic`; waits for the server's confirmation when connected."""
        await self._session.unsubscribe_topic(topic)

    async def Publish(self, topic: str, data: Any) -> None:
        """Publish `data` (anything JSON can carry) to every subscriber of `topic`, this client included.

        A refusal by the server (spec §10) reaches the OnError hook as a ServerErrorReply naming the `topic`.
        """
        if not topic or topic.startswith(act.DIRECT_TOPIC_PREFIX):
            _check_topic(topic)
        frame = self._encoder.publish(topic, data)
        # The hot path, inlined: straight to the ready connection, waiting only when its buffer is full.
        link = self._channel.ready_link
        if link is None:
            self._channel.send_or_queue(frame)
            return
        link.send(frame)
        if link.paused:
            await link.writable()

    async def PublishToID(self, target_id: str, data: Any) -> None:
        """Send `data` to one client by ID, or to the server's OnID handler with the server's ID."""
        _check_target(target_id)
        self._channel.send_or_queue(self._encoder.direct(target_id, data))
        await self._channel.writable()

    async def PublishToServer(self, address: str, data: Any, secure: bool = False) -> None:
        """Ask the server to relay `data` to the server at `address` (`host:port/path`, spec §8).

        When `data` is ``{"topic": T, "data": D}`` the other server publishes D on T; its OnServerData
        handlers receive `data` in any case. A relay failure arrives at the OnError hook.
        """
        if not address:
            raise ValueError("address must not be empty")
        self._channel.send_or_queue(self._encoder.publish_to_server(address, data, secure))
        await self._channel.writable()

    # -- acknowledgements --------------------------------------------------------------------------------

    async def PublishWithAck(
        self, topic: str, data: Any, timeout: float = DEFAULT_ACK_TIMEOUT
    ) -> ClientAck:
        """Publish and collect each subscriber's acknowledgement for up to `timeout` seconds."""
        _check_topic(topic)
        return await self._with_ack(
            lambda ack_id, ms: self._encoder.publish_with_ack(topic, data, ack_id, ms), timeout
        )

    async def PublishToIDWithAck(
        self, target_id: str, data: Any, timeout: float = DEFAULT_ACK_TIMEOUT
    ) -> ClientAck:
        """Send `data` to one client (its OnId handler) and collect its acknowledgement."""
        _check_target(target_id)
        return await self._with_ack(
            lambda ack_id, ms: self._encoder.publish_to_id_with_ack(target_id, data, ack_id, ms), timeout
        )

    async def _with_ack(self, encode: Callable[[str, int], bytes], seconds: float) -> ClientAck:
        if seconds < 0:
            raise ValueError("timeout must be >= 0 seconds")
        session = self._session
        self._channel.check_open()
        ack_id = session.acks.new_id()
        frame = encode(ack_id, round(seconds * 1000))
        handle = ClientAck(ack_id, seconds, session)
        session.acks.add(handle)
        try:
            self._channel.send_or_queue(frame, handle)
        except BaseException:
            handle._finish()
            raise
        await self._channel.writable()
        return handle

    # -- closing -----------------------------------------------------------------------------------------

    async def Close(self) -> None:
        """Close the connection for good; pending waits return at once. Safe to call twice."""
        await self._session.close()

    async def wait_closed(self) -> None:
        """Wait until the client is closed (by Close, or by the server replacing it)."""
        await self._session.wait_closed()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.Close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "connected" if self.connected else "disconnected"
        return f"<ksps Client {self.Id!r} {state} {self._session.options.url()}>"

    subscribe = Subscribe
    unsubscribe = Unsubscribe
    presence = Presence
    publish = Publish
    publish_to_id = PublishToID
    publish_to_server = PublishToServer
    publish_with_ack = PublishWithAck
    publish_to_id_with_ack = PublishToIDWithAck
    close = Close
    Stop = Shutdown = Close


class Connecting:
    """What :meth:`Client.NewClient` returns: await it for the client, or ``async with`` it."""

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
        await client._session.start()
        return client

    async def __aenter__(self) -> Client:
        return await self._connect()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.Close()


def _check_topic(topic: str) -> None:
    if not topic:
        raise ValueError("topic must not be empty")
    if topic.startswith(act.DIRECT_TOPIC_PREFIX):
        raise ValueError(f"topics starting with {act.DIRECT_TOPIC_PREFIX!r} are reserved (spec §4.4)")


def _check_target(target_id: str) -> None:
    if not target_id:
        raise ValueError("target ID must not be empty")
