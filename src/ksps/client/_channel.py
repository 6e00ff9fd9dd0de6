"""Where this client's frames go right now: the ready connection, the registered one, or the offline queue.

Three states of the current link (spec §3): none or still opening (`link` set, not registered);
registered (the server answered `ping`: requests and acks may go out, publications still wait); ready
(subscriptions restored: publications go straight out, in order after the offline queue was flushed).
"""

from __future__ import annotations

import asyncio
from typing import Any

from ksps.errors import ClientClosed, OfflineQueueFull

from ._acks import ClientAck
from ._hooks import Hooks
from ._offline import OfflineQueue
from ._replies import ReplyWaiters
from ._transport import Link

__all__ = ["Channel"]


class Channel:
    """The current link and its state, the offline queue, and requests that wait for a reply."""

    def __init__(self, offline: OfflineQueue, replies: ReplyWaiters, hooks: Hooks, client_id: str) -> None:
        self.offline = offline
        self.replies = replies
        self._hooks = hooks
        self._client_id = client_id
        #: The link being opened or open; frames read from any other link are stale and ignored.
        self.link: Link | None = None
        #: True once the server answered `ping` on `link`.
        self.registered = False
        #: The link publications go to directly; None while they go to the offline queue.
        self.ready_link: Link | None = None
        #: True once the client is closed for good.
        self.closed = False

    # -- state changes, driven by the session ------------------------------------------------------------

    def attach(self, link: Link) -> None:
        """A new link is being opened."""
        self.link, self.registered, self.ready_link = link, False, None

    def make_ready(self, link: Link) -> None:
        """Subscriptions are restored on `link`: send what was queued, then publish directly."""
        for frame, ack in self.offline.drain():
            link.send(frame)
            if ack is not None:
                ack._mark_sent()
        self.ready_link = link

    def detach(self, link: Link) -> bool:
        """`link` is gone; returns True when it was the ready one. Pending replies are released."""
        if link is not self.link:
            return False
        was_ready = self.ready_link is link
        self.link = self.ready_link = None
        self.registered = False
        self.replies.release_all()
        return was_ready

    def check_open(self) -> None:
        """Raise ClientClosed after Close (or after the server replaced this client)."""
        if self.closed:
            raise ClientClosed(f"client {self._client_id!r} is closed")

    # -- sending -----------------------------------------------------------------------------------------

    def send_or_queue(self, frame: bytes, ack: ClientAck | None = None) -> None:
        """Send a publication now, or queue it until the next connection is ready."""
        link = self.ready_link
        if link is not None:
            link.send(frame)
            if ack is not None:
                ack._mark_sent()
            return
        self.check_open()
        try:
            dropped = self.offline.push(frame, ack)
        except OfflineQueueFull as exc:
            self._hooks.error(exc)
            raise
        if dropped is not None:
            which = "new" if dropped[0] is frame else "oldest queued"
            self._hooks.error(OfflineQueueFull(
                f"offline queue full ({self.offline.size} publications): dropped the {which} one"
            ))
            if dropped[1] is not None:
                dropped[1]._finish()

    def send_now(self, frame: bytes) -> bool:
        """Send a frame if registered; False when there is no connection to send it on."""
        link = self.link
        if self.registered and link is not None:
            link.send(frame)
            return True
        return False

    def request(self, reply: str, key: str, frame: bytes, rid: str = "") -> asyncio.Future[Any] | None:
        """Send a request and return the future of its `reply` about `key`; None when not registered.

        The future gets the ServerErrorReply instead when an `error` frame carries the request's `rid`.
        """
        link = self.link
        if not self.registered or link is None:
            return None
        future = self.replies.expect(reply, key, rid)
        link.send(frame)
        return future

    async def writable(self) -> None:
        """Wait while the socket's write buffer is full, so a publishing loop cannot grow it forever."""
        link = self.link
        if link is not None and link.paused:
            await link.writable()
