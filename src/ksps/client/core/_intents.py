"""The intents of :class:`~ksps.client.core.ClientSession`: what the application asks (spec §4-§6, §8).

Subscriptions are recorded whatever the state and sent when registered; publications of every kind go out
at once when ready and to the bounded offline queue otherwise; requests with acknowledgement get an ack ID, a
deadline (timeout + grace) and a record until their `AckDone`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ksps.errors import ClientClosed, NotConnected
from ksps.protocol.history import StreamPosition

from ._acks import ACK_GRACE, AckBook, AckRecord
from ._outputs import AckDone, Output, QueueOverflow, Refused, Send, Unsubscribed
from ._positions import Cursor

if TYPE_CHECKING:
    from ._codec import FrameEncoder
    from ._offline import OfflineQueue
    from ._requests import RequestBook

__all__ = ["Intents"]


class Intents:
    """The intent half of :class:`~ksps.client.core.ClientSession`."""

    if TYPE_CHECKING:
        client_id: str
        encoder: FrameEncoder
        ready: bool
        deadline_version: int
        _out: list[Output]
        _topics: dict[str, object]
        _join_leave: set[str]
        _positions: dict[str, Cursor]
        _requests: RequestBook
        _acks: AckBook
        _queue: OfflineQueue

        @property
        def registered(self) -> bool: ...
        @property
        def closed(self) -> bool: ...
        def _take(self) -> list[Output]: ...

    def subscribe(
        self, topic: str, *, handle: object, now: int, join_leave: bool = False,
        since: StreamPosition | None = None,
    ) -> list[Output]:
        """Record a subscription and ask the server when registered; `Subscribed(handle)` or `Refused(handle)`
        follows once the server answers (after the next registration when offline). With `join_leave` the
        server also sends the topic's `join`/`leave` events, on this and every restored subscription
        (spec §15.3). With `since` the server first sends the publications after that position (spec §14.3),
        and the position is remembered from there (restores continue from the latest one)."""
        if self.closed:
            self._out.append(Refused(handle, ClientClosed(f"client {self.client_id!r} is closed"), ""))
            return self._take()
        self._topics[topic] = handle
        if join_leave:
            self._join_leave.add(topic)
        else:
            self._join_leave.discard(topic)
        if since is not None:
            self._positions[topic] = Cursor(since.offset, since.epoch)
        if self.registered:
            request = self._requests.add("subscribe", topic, handle)
            # Only an explicit `since` goes out: re-subscribing from the remembered position on its own would
            # deliver again a publication still in flight on the current subscription.
            request.recovering = since is not None
            self._out.append(Send(self.encoder.subscribe(topic, request.rid, join_leave=join_leave, since=since)))
        return self._take()

    def history(
        self, topic: str, *, handle: object, now: int, since: StreamPosition | None = None,
        limit: int | None = None, reverse: bool = False,
    ) -> list[Output]:
        """Read `topic`'s kept publications (spec §14.4): `History(handle)` answers, or `Refused(handle)` with the
        server's error (`no_history`, `forbidden`), or with NotConnected at once when not registered (nothing is
        queued) or when the connection is lost before the answer."""
        if self.closed:
            self._out.append(Refused(handle, ClientClosed(f"client {self.client_id!r} is closed"), ""))
        elif not self.registered:
            self._out.append(Refused(handle, NotConnected("history needs a connection to the server"), ""))
        else:
            request = self._requests.add("history", topic, handle)
            frame = self.encoder.history(topic, request.rid, since=since, limit=limit, reverse=reverse)
            self._out.append(Send(frame))
        return self._take()

    def position(self, topic: str) -> StreamPosition | None:
        """The remembered stream position of the subscribed `topic` (spec §14.2): the epoch of its last
        history-aware `subscribed` and the offset of the latest delivery since; None when there is none."""
        cursor = self._positions.get(topic)
        return None if cursor is None else cursor.position()

    def presence(self, topic: str, *, handle: object, now: int) -> list[Output]:
        """Ask who subscribes to `topic` (spec §15.2): `Presence(handle)` answers, or `Refused(handle)` with the
        server's error, or with NotConnected at once when not registered (nothing is queued: the answer would
        be stale) or when the connection is lost before the answer."""
        if self.closed:
            self._out.append(Refused(handle, ClientClosed(f"client {self.client_id!r} is closed"), ""))
        elif not self.registered:
            self._out.append(Refused(handle, NotConnected("presence needs a connection to the server"), ""))
        else:
            request = self._requests.add("presence", topic, handle)
            self._out.append(Send(self.encoder.presence(topic, request.rid)))
        return self._take()

    def unsubscribe(self, topic: str, *, handle: object, now: int) -> list[Output]:
        """Forget a topic and its position; `Unsubscribed(handle)` once the server confirmed (at once when
        offline)."""
        self._join_leave.discard(topic)
        self._positions.pop(topic, None)
        if topic in self._topics and self.registered:
            del self._topics[topic]
            request = self._requests.add("unsubscribe", topic, handle)
            self._out.append(Send(self.encoder.unsubscribe(topic, request.rid)))
        else:
            self._topics.pop(topic, None)
            self._out.append(Unsubscribed(handle))
        return self._take()

    def publish(self, topic: str, data: object, now: int) -> list[Output]:
        """Publish now when ready, else queue (spec §4.2). Raises TypeError for data JSON cannot carry."""
        return self._publication(self.encoder.publish(topic, data), None)

    def publish_to_id(self, to: str, data: object, now: int) -> list[Output]:
        """A direct message (spec §5.1), sent or queued like a publication."""
        return self._publication(self.encoder.direct(to, data), None)

    def publish_to_server(self, address: str, data: object, secure: bool, now: int) -> list[Output]:
        """Ask the server to relay `data` to another server (spec §8.1), sent or queued."""
        return self._publication(self.encoder.publish_to_server(address, data, secure), None)

    def publish_with_ack(
        self, topic: str, data: object, *, timeout: int, handle: object, now: int
    ) -> list[Output]:
        """Publish with acknowledgement (spec §6.1-§6.3); the request ends `timeout` + 500 ms from now at the
        latest (`AckDone`)."""
        record = self._acks.new(handle, now + timeout + ACK_GRACE)
        self.deadline_version += 1
        return self._ack_request(record, self.encoder.publish_with_ack(topic, data, record.ack_id, timeout))

    def publish_to_id_with_ack(
        self, to: str, data: object, *, timeout: int, handle: object, now: int
    ) -> list[Output]:
        """A direct message with acknowledgement (spec §6.4)."""
        record = self._acks.new(handle, now + timeout + ACK_GRACE)
        self.deadline_version += 1
        return self._ack_request(record, self.encoder.publish_to_id_with_ack(to, data, record.ack_id, timeout))

    def cancel(self, handle: object, now: int) -> list[Output]:
        """End an ack request at once; the server drops it too when it had it (spec §6.5)."""
        record = self._acks.by_handle(handle)
        if record is not None:
            if record.sent and self.registered:
                self._out.append(Send(self.encoder.cancel_ack(record.ack_id)))
            self._end_ack(record, complete=False)
        return self._take()

    def fetch_status(self, handle: object, now: int) -> list[Output]:
        """Ask the server who answered the request so far (spec §6.5): `Status(handle)`, or
        `Refused(handle, NotConnected)` when it cannot be asked."""
        record = self._acks.by_handle(handle)
        if record is not None and record.sent and self.registered:
            request = self._requests.add("status", record.ack_id, handle)
            self._out.append(Send(self.encoder.get_ack_status(record.ack_id, request.rid)))
        elif record is not None:
            self._out.append(Refused(handle, NotConnected("not connected: cannot ask the server"), ""))
        else:
            self._out.append(Refused(handle, NotConnected("the request ended"), ""))
        return self._take()

    def answer(self, server_ack_id: str, success: bool, error: str, now: int) -> list[Output]:
        """Answer a delivery that carried `ack_id`, once its callback finished (spec §6.1)."""
        if self.registered:
            self._out.append(Send(self.encoder.ack(server_ack_id, success, error)))
        return self._take()

    # -- publications ------------------------------------------------------------------------------------

    def _publication(self, frame: bytes, handle: object) -> list[Output]:
        if self.ready:
            return [Send(frame)]
        if not self.closed:
            self._enqueue(frame, handle)
        return self._take()

    def _ack_request(self, record: AckRecord, frame: bytes) -> list[Output]:
        if self.ready:
            record.sent = True
            return [Send(frame)]
        if self.closed:
            self._end_ack(record, complete=False)
        else:
            self._enqueue(frame, record.handle)
        return self._take()

    def _enqueue(self, frame: bytes, handle: object) -> None:
        dropped = self._queue.push(frame, handle)
        if dropped is None:
            return
        self._out.append(QueueOverflow(dropped[0], newest=dropped[0] is frame))
        if dropped[1] is not None and (record := self._acks.by_handle(dropped[1])) is not None:
            self._end_ack(record, complete=False)

    def _end_ack(self, record: AckRecord, *, complete: bool) -> None:
        self._acks.end(record)
        self._out.append(AckDone(record.handle, complete))
