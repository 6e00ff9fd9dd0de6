"""The connection lifecycle of one client: connect, register, restore, reconnect, close.

States: connecting (a link is being opened and registered), ready (registered, subscriptions restored,
offline queue flushed), disconnected (waiting for the next attempt), closed (for good).

Publications made when not ready go to the offline queue and are sent, in order, right after the next
connection restored every subscription. Subscriptions are recorded whatever the state, so those made while
disconnected are restored too.

Credentials (spec §10): every registration `ping` carries the token (from GetToken when set). A refused
credential (close 4003, HTTP 401) or an expired one (4004) raises/reports AuthError; with GetToken the
session asks for a new token and reconnects (at once after 4004, with backoff otherwise), without it the
client closes for good, as after 4001.
"""

from __future__ import annotations

import asyncio

from picows import WSError, WSHandshakeError

from ksps.errors import AuthError, ConnectionFailed, ConnectionReplaced
from ksps.protocol import CloseCodes
from ksps.protocol import actions as act

from ._acks import AckTable
from ._backoff import ReconnectPolicy
from ._channel import Channel
from ._codec import FrameEncoder
from ._dispatch import CallbackDispatcher
from ._hooks import Hooks, log
from ._offline import OfflineQueue
from ._options import ClientOptions
from ._refresh import TokenRefresher
from ._replies import ReplyWaiters, wait_reply
from ._router import FrameRouter, ServerErrorReply
from ._subscriptions import Confirmation, Subscription, SubscriptionRegistry
from ._tokens import CLOSE_TOKEN_EXPIRED, HTTP_UNAUTHORIZED, TokenSource, auth_refusal
from ._transport import Link, open_link

__all__ = ["Session"]

#: Seconds GetStatus waits for `ack_status`, as in the original clients.
STATUS_TIMEOUT = 2.0
#: Seconds Close waits for the closing handshake before dropping the socket.
CLOSE_TIMEOUT = 2.0


class Session:
    """Everything one client holds; the :class:`~ksps.client.Client` facade calls into it."""

    def __init__(self, options: ClientOptions) -> None:
        self.options = options
        self.client_id = options.id
        self.encoder = FrameEncoder(options.id)
        self.hooks = Hooks(options)
        self.registry = SubscriptionRegistry()
        self.acks = AckTable(options.id)
        self.replies = ReplyWaiters()
        self.offline = OfflineQueue(options.offline_queue_size, options.offline_queue_policy)
        self.policy = ReconnectPolicy(
            options.reconnect_initial_delay, options.reconnect_factor, options.reconnect_max_delay
        )
        self.dispatcher = CallbackDispatcher(
            self._send_ack, self.hooks.error, options.max_pending_deliveries, self._pressure
        )
        direct = None
        if options.on_id is not None:
            on_id = options.on_id
            direct = Subscription("", lambda message, _unsub: on_id(message), _no_unsubscribe)
        self.router = FrameRouter(
            self.registry, self.dispatcher, self.acks, self.replies, self.hooks, direct,
            lambda: self.channel.registered,
        )
        self.channel = Channel(self.offline, self.replies, self.hooks, options.id)
        self.tokens = TokenSource(options.token, options.get_token)
        self.refresher = TokenRefresher(
            self.tokens, self.channel, self.encoder, self.replies, self.hooks, reply_timeout=options.connect_timeout
        )
        self._reconnector: asyncio.Task[None] | None = None
        self._closed_event = asyncio.Event()

    # -- state -------------------------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """True while connected, registered and restored."""
        return self.channel.ready_link is not None

    @property
    def closed(self) -> bool:
        """True once closed for good."""
        return self.channel.closed

    # -- connecting --------------------------------------------------------------------------------------

    async def start(self) -> None:
        """First connection. Raises ConnectionFailed (or AuthError) unless `autorestart` keeps trying in the
        background; an AuthError without GetToken is raised even then (the same token would be refused)."""
        try:
            await self._connect_once()
        except (ConnectionFailed, AuthError) as exc:
            if not self.options.autorestart or (isinstance(exc, AuthError) and not self.tokens.refreshable):
                self.channel.closed = True
                self._closed_event.set()
                raise
            self.hooks.error(exc)
            self._start_reconnecting()

    async def _connect_once(self) -> None:
        url = self.options.url()
        try:
            token = await self.tokens.fetch()
        except Exception as exc:  # the user's GetToken: this attempt fails, the next one asks again
            raise ConnectionFailed(f"GetToken failed: {exc}") from exc
        link = Link(self._on_message, self._on_link_closed)
        self.channel.attach(link)
        try:
            async with asyncio.timeout(self.options.connect_timeout):
                await self._register(link, url, token)
        except (OSError, WSError, TimeoutError) as exc:
            self._drop_link(link)
            if isinstance(exc, WSHandshakeError) and exc.response is not None \
                    and exc.response.status == HTTP_UNAUTHORIZED:
                raise AuthError(f"the server refused the token: HTTP 401 from {url}", code=HTTP_UNAUTHORIZED) from exc
            refused = auth_refusal(link.close_code, link.close_reason)
            if refused is not None:
                raise refused from exc
            raise ConnectionFailed(f"cannot connect to {url}: {exc or type(exc).__name__}") from exc
        except BaseException:
            self._drop_link(link)
            raise
        self.channel.make_ready(link)
        self.policy.reset()
        self.refresher.schedule()
        log.debug("ksps client %s connected to %s", self.client_id, url)
        self.hooks.connected()

    async def _register(self, link: Link, url: str, token: str) -> None:
        """Open the link, register with `token` (spec §3.1, §10) and restore the subscriptions."""
        options = self.options
        await open_link(
            link, url, options.keepalive_interval, options.keepalive_timeout, options.connect_timeout,
            options.ssl_context,
        )
        if link.closed or not link.opened:
            raise ConnectionError("connection closed during the WebSocket handshake")
        rid = self.replies.new_rid()
        pong = self.replies.expect(act.PONG, "", rid)
        link.send(self.encoder.ping(token, rid))
        answer = await pong
        if answer is None:
            raise ConnectionError("connection closed before the server answered ping")
        if isinstance(answer, ServerErrorReply):
            # E.g. `code: "id_taken"` (spec §10); a refused credential is a close 4003 instead.
            raise ConnectionError(f"the server refused the registration: {answer}") from answer
        self.channel.registered = True
        await self._restore_subscriptions(link)

    async def _restore_subscriptions(self, link: Link) -> None:
        """Subscribe again to every recorded topic and wait for the confirmations (spec §4.1).

        A subscription the server now refuses (spec §10) is dropped and reported to OnError.
        """
        waiters = []
        for topic in self.registry.topics():
            rid = self.replies.new_rid()
            waiters.append((topic, self.replies.expect(act.SUBSCRIBED, topic, rid)))
            subscription = self.registry.get(topic)
            join_leave = subscription is not None and subscription.join_leave
            link.send(self.encoder.subscribe(topic, rid, join_leave=join_leave))
        for topic, waiter in waiters:
            answer = await waiter
            if answer is None:
                raise ConnectionError("connection lost while restoring subscriptions")
            if isinstance(answer, ServerErrorReply):
                self.registry.remove_topic(topic)
                self.hooks.error(answer)

    def _drop_link(self, link: Link) -> None:
        self.channel.detach(link)
        link.abort()

    def _start_reconnecting(self, *, at_once: bool = False) -> None:
        if self._reconnector is None or self._reconnector.done():
            self._reconnector = asyncio.ensure_future(self._reconnect_loop(at_once))

    async def _reconnect_loop(self, at_once: bool = False) -> None:
        while not self.channel.closed:
            # Backoff with full jitter (ReconnectPolicy); this sleep is the retry delay itself. An expired
            # token (4004) is replaced at once: the connection was fine, only its credential ran out.
            await asyncio.sleep(0 if at_once else self.policy.next_delay())
            at_once = False
            if self.channel.closed:
                return
            try:
                await self._connect_once()
                return
            except ConnectionFailed as exc:
                self.hooks.error(exc)
            except AuthError as exc:
                self.hooks.error(exc)
                if not self.tokens.refreshable:
                    self._finish_close()
                    return

    # -- link events -------------------------------------------------------------------------------------

    def _on_message(self, link: Link, payload: bytes | memoryview) -> None:
        if link is self.channel.link:
            self.router.route(payload)

    def _on_link_closed(self, link: Link, code: int | None, reason: str | None) -> None:
        # A connection attempt in progress fails through its released reply waiters.
        if not self.channel.detach(link):
            return
        self.refresher.cancel()
        self.acks.connection_lost()
        self.hooks.disconnected(code, reason)
        if self.channel.closed:
            return
        if code == CloseCodes.REPLACED:
            # Another connection took this ID; coming back would kick it out in turn (spec §3.3, §7.2).
            self.hooks.error(ConnectionReplaced(f"client {self.client_id!r} replaced by a newer connection; closed"))
            self._finish_close()
        elif (refused := auth_refusal(link.close_code, link.close_reason)) is not None:
            self.hooks.error(refused)
            if not self.tokens.refreshable:
                self._finish_close()  # the same token would be refused again (spec §7.2)
            else:
                self._start_reconnecting(at_once=code == CLOSE_TOKEN_EXPIRED)
        elif not self.options.reconnect:
            self._finish_close()
        else:
            self._start_reconnecting()

    def _pressure(self, on: bool) -> None:
        """Pause the socket read while too many deliveries wait for slow async callbacks."""
        link = self.channel.link
        if link is not None:
            link.pause_reading(on)

    def _send_ack(self, server_ack_id: str, success: bool, error: str) -> None:
        """Answer a `publish_ack` (spec §6.1); dropped when the connection that carried it is gone."""
        self.channel.send_now(self.encoder.ack(server_ack_id, success, error))

    # -- requests that wait for a reply ------------------------------------------------------------------

    async def subscribe(self, subscription: Subscription) -> None:
        """Record a subscription and, when connected, wait for the server's `subscribed` (spec §4.1).

        Raises ServerErrorReply (and forgets the subscription) when the server refuses it (spec §10, §11).
        """
        self.registry.add(subscription)
        topic, rid = subscription.topic, self.replies.new_rid()
        frame = self.encoder.subscribe(topic, rid, join_leave=subscription.join_leave)
        future = self.channel.request(act.SUBSCRIBED, topic, frame, rid)
        if future is None:
            return
        answer = await wait_reply(future, self.options.connect_timeout)
        if isinstance(answer, ServerErrorReply):
            self.registry.remove(subscription)
            raise answer

    def unsubscribe(self, subscription: Subscription) -> Confirmation:
        """End a subscription if it is still current; the Confirmation waits for `unsubscribed`."""
        if not self.registry.remove(subscription):
            return Confirmation(None)
        return self._unsubscribe_on_server(subscription.topic)

    def unsubscribe_topic(self, topic: str) -> Confirmation:
        """End the topic's subscription, whichever callback it has."""
        if not self.registry.remove_topic(topic):
            return Confirmation(None)
        return self._unsubscribe_on_server(topic)

    def _unsubscribe_on_server(self, topic: str) -> Confirmation:
        rid = self.replies.new_rid()
        future = self.channel.request(act.UNSUBSCRIBED, topic, self.encoder.unsubscribe(topic, rid), rid)
        if future is None:
            return Confirmation(None)
        timeout = self.options.connect_timeout
        return Confirmation(lambda: wait_reply(future, timeout))

    # AckOwner, for ClientAck.
    def forget(self, ack_id: str) -> None:
        """Drop a finished handle."""
        self.acks.forget(ack_id)

    async def query_status(self, ack_id: str) -> dict[str, bool] | None:
        """`get_ack_status` (spec §6.5); None when disconnected or unanswered."""
        future = self.channel.request(act.ACK_STATUS, ack_id, self.encoder.get_ack_status(ack_id))
        if future is None:
            return None
        status: dict[str, bool] | None = await wait_reply(future, STATUS_TIMEOUT)
        return status

    def cancel_on_server(self, ack_id: str) -> None:
        """`cancel_ack` (spec §6.5), when connected."""
        self.channel.send_now(self.encoder.cancel_ack(ack_id))

    # -- closing -----------------------------------------------------------------------------------------

    async def close(self) -> None:
        """Close for good: cancel reconnection, close the socket, release every waiter. Idempotent."""
        if self.channel.closed:
            return
        self.channel.closed = True
        self.refresher.cancel()
        if self._reconnector is not None and not self._reconnector.done():
            self._reconnector.cancel()
            await asyncio.gather(self._reconnector, return_exceptions=True)
        link = self.channel.link
        if link is not None:
            link.close()
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await link.wait_closed()
            except (TimeoutError, WSError, OSError):
                link.abort()
        self._finish_close()

    def _finish_close(self) -> None:
        self.channel.closed = True
        if self.channel.link is not None:
            self.channel.detach(self.channel.link)
        lost = len(self.offline.drain())
        if lost:
            log.warning("ksps client %s closed with %d unsent publications", self.client_id, lost)
        self.acks.finish_all()
        self.replies.release_all()
        self.dispatcher.cancel_all()
        self.registry.clear()
        self.hooks.cancel_pending()
        if not self._closed_event.is_set():
            self._closed_event.set()
            self.hooks.closed()

    async def wait_closed(self) -> None:
        """Wait until the client is closed for good."""
        await self._closed_event.wait()


def _no_unsubscribe(_subscription: Subscription) -> Confirmation:
    return Confirmation(None)

