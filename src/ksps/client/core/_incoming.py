"""What the session does with each frame the server sends (spec §2-§8, §11): the `receive` input."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, cast

import msgspec

from ksps.errors import ProtocolError
from ksps.protocol import actions as act
from ksps.protocol.history import StreamPosition

from ._codec import AckResponse, ServerFrame, decode_server_frame, is_published_reply
from ._errors import ServerErrorReply
from ._outputs import (
    AckAnswer,
    Delivery,
    Direct,
    ErrorEvent,
    History,
    Join,
    Leave,
    Output,
    Presence,
    Refused,
    Send,
    Status,
    Subscribed,
    SubscriptionReport,
    Unsubscribed,
)
from ._positions import Cursor

if TYPE_CHECKING:
    from ._acks import AckBook, AckRecord
    from ._codec import FrameEncoder
    from ._requests import RequestBook

__all__ = ["IncomingFrames", "delivery_message"]


def delivery_message(frame: ServerFrame) -> dict[str, Any]:
    """The callback argument `{"data", "from"}` of a `publish`/`publish_ack` delivery (spec §4.2).

    The server nests the payload as `{"data": P, "from": SENDER}`; a raw value published by server code
    that bypasses the nesting is wrapped here so callbacks always see the same shape.
    """
    data = frame.data
    if type(data) is dict and "data" in data:
        if "from" not in data:
            data["from"] = frame.from_
        return data
    return {"data": data, "from": frame.from_}


class IncomingFrames:
    """The `receive` half of :class:`~ksps.client.core.ClientSession`."""

    if TYPE_CHECKING:
        encoder: FrameEncoder
        _out: list[Output]
        _topics: dict[str, object]
        _join_leave: set[str]
        _positions: dict[str, Cursor]
        _requests: RequestBook
        _acks: AckBook

        @property
        def registered(self) -> bool: ...
        def _take(self) -> list[Output]: ...
        def _registered(self) -> None: ...
        def _restored_one(self) -> None: ...
        def _end_ack(self, record: AckRecord, *, complete: bool) -> None: ...
        def _refused_registration(self, error: ServerErrorReply, now: int) -> None: ...

    _ROUTES: ClassVar[dict[str, Callable[[IncomingFrames, ServerFrame, int], None]]] = {}

    def receive(self, payload: bytes | memoryview, now: int) -> list[Output]:
        """One message from the server. A frame that cannot be decoded is an `ErrorEvent(ProtocolError)`.

        An empty result also means that :attr:`next_deadline` did not change (drivers may skip re-arming).
        """
        if is_published_reply(payload):
            return []  # the receipt of every publish: nothing to do, not even decoding (spec §4.2)
        if not self.registered and not self._requests.pending("ping"):
            return []  # no connection expects frames (closed, waiting, or not yet opened)
        try:
            frame = decode_server_frame(payload)
        except msgspec.MsgspecError as exc:
            self._out.append(ErrorEvent(ProtocolError(f"undecodable frame from the server: {exc}")))
            return self._take()
        route = self._ROUTES.get(frame.action)
        if route is not None:
            route(self, frame, now)
        # Other actions (ack_cancelled, server_message_sent, future ones) need nothing (spec §2.2).
        return self._take()

    # -- deliveries (spec §4.2, §5.1, §6.1, §6.4) --------------------------------------------------------

    def _publish(self, frame: ServerFrame, now: int) -> None:
        topic = frame.topic
        if topic in self._topics:
            message = delivery_message(frame)
            offset = frame.offset
            if offset is not None and type(offset) is int:
                message["offset"] = offset
                cursor = self._positions.get(topic)
                if cursor is not None:
                    # The latest, not the highest: a new epoch restarts at 1, and the server sends no duplicate
                    # at the seam of a recovery (spec §14.3), so there is nothing to filter here.
                    cursor.offset = offset
            self._out.append(Delivery(topic, message, ""))

    def _publish_ack(self, frame: ServerFrame, now: int) -> None:
        if frame.topic.startswith(act.DIRECT_TOPIC_PREFIX):
            self._out.append(Direct(delivery_message(frame), frame.ack_id))
        elif frame.topic in self._topics:
            self._out.append(Delivery(frame.topic, delivery_message(frame), frame.ack_id))
        elif frame.ack_id:
            self._out.append(Send(self.encoder.ack(frame.ack_id, False, act.NO_SUBSCRIBER)))

    def _direct_message(self, frame: ServerFrame, now: int) -> None:
        self._out.append(Direct({"data": frame.data, "from": frame.from_}, ""))

    # -- acknowledgements (spec §6.2-§6.5) ---------------------------------------------------------------

    def _ack_progress(self, frame: ServerFrame, now: int) -> None:
        record = self._acks.by_id(frame.ack_id)
        response = _ack_response(frame.data)
        if record is not None and response is not None and response["client_id"] not in record.responses:
            record.responses[response["client_id"]] = response
            self._out.append(AckAnswer(record.handle, response))

    def _ack_response(self, frame: ServerFrame, now: int) -> None:
        record = self._acks.by_id(frame.ack_id)
        if record is None:
            return
        for client_id, response in (frame.responses or {}).items():
            if client_id not in record.responses:  # not already reported by an ack_progress
                record.responses[client_id] = response
                self._out.append(AckAnswer(record.handle, response))
        self._end_ack(record, complete=True)

    def _ack_status(self, frame: ServerFrame, now: int) -> None:
        request = self._requests.take(frame.rid, ("status",), frame.ack_id)
        if request is not None:
            self._out.append(Status(request.handle, frame.status or {}))

    # -- presence (spec §15) -----------------------------------------------------------------------------

    def _presence(self, frame: ServerFrame, now: int) -> None:
        request = self._requests.take(frame.rid, ("presence",), frame.topic)
        if request is None:
            return
        # Read leniently: members of the wrong type read as empty (a client never trusts a frame).
        count = frame.count if type(frame.count) is int else 0
        ids = [i for i in frame.ids if type(i) is str] if type(frame.ids) is list else []
        self._out.append(Presence(request.handle, count, ids, frame.truncated is True))

    # -- history (spec §14) ------------------------------------------------------------------------------

    def _history(self, frame: ServerFrame, now: int) -> None:
        request = self._requests.take(frame.rid, ("history",), frame.topic)
        if request is None:
            return
        # Read leniently, like presence: members of the wrong type read as empty.
        items = frame.publications if type(frame.publications) is list else []
        publications = [item for item in items if type(item) is dict]
        offset = frame.offset if type(frame.offset) is int else 0
        epoch = frame.epoch if type(frame.epoch) is str else ""
        self._out.append(History(request.handle, publications, offset, epoch))

    def _join(self, frame: ServerFrame, now: int) -> None:
        if frame.topic in self._join_leave and frame.id:
            self._out.append(Join(frame.topic, frame.id))

    def _leave(self, frame: ServerFrame, now: int) -> None:
        if frame.topic in self._join_leave and frame.id:
            self._out.append(Leave(frame.topic, frame.id))

    # -- replies and errors (spec §3.1, §4.1, §7.1, §11) -------------------------------------------------

    def _pong(self, frame: ServerFrame, now: int) -> None:
        request = self._requests.take(frame.rid, ("ping", "refresh"), "")
        if request is not None and request.kind == "ping":
            self._registered()

    def _subscribed(self, frame: ServerFrame, now: int) -> None:
        request = self._requests.take(frame.rid, ("subscribe", "restore"), frame.topic)
        if request is None:
            return
        topic = request.key
        if self._topics.get(topic, self) is request.handle:
            self._topics[topic] = None  # confirmed: nothing waits for it any more
        if topic in self._topics and (type(frame.epoch) is str or frame.recovered is not None):
            # A history-aware answer (spec §14.2, §14.3). Without a position (Redis down) the one remembered
            # stays, so the next restore still tries to recover.
            position = None
            if type(frame.epoch) is str and type(frame.offset) is int:
                position = StreamPosition(frame.offset, frame.epoch)
                self._positions[topic] = Cursor(frame.offset, frame.epoch)
            self._out.append(SubscriptionReport(topic, position, request.recovering, frame.recovered is True))
        if request.handle is not None:
            self._out.append(Subscribed(request.handle))
        if request.kind == "restore":
            self._restored_one()

    def _unsubscribed(self, frame: ServerFrame, now: int) -> None:
        request = self._requests.take(frame.rid, ("unsubscribe",), frame.topic)
        if request is not None:
            self._out.append(Unsubscribed(request.handle))

    def _error(self, frame: ServerFrame, now: int) -> None:
        error = ServerErrorReply.from_frame(frame)
        # Matched to its request by rid, else by the ack ID of a refused request with ack (spec §11.2).
        request = self._requests.take_rid(frame.rid)
        if request is None and not self.registered:
            # Before registration an error can only answer the `ping` (e.g. an ID too long, spec §2.4), also
            # from a server that does not echo `rid`.
            request = self._requests.take("", ("ping",), "")
        if request is not None:
            self._request_refused(request.kind, request.key, request.handle, error, now)
        elif frame.ack_id and (record := self._acks.by_id(frame.ack_id)) is not None:
            self._out.append(Refused(record.handle, error, error.code))
            self._end_ack(record, complete=False)
        else:
            self._out.append(ErrorEvent(error, code=error.code, topic=error.topic))

    def _request_refused(self, kind: str, key: str, handle: object, error: ServerErrorReply, now: int) -> None:
        if kind == "ping":
            self._refused_registration(error, now)
            return
        if kind in ("subscribe", "restore"):
            if self._topics.get(key, self) is handle:
                del self._topics[key]  # a refused subscription is not kept (spec §10.4)
                self._join_leave.discard(key)
                self._positions.pop(key, None)
            if kind == "restore":
                self._restored_one()
        if handle is None or kind == "refresh":
            self._out.append(ErrorEvent(error, code=error.code, topic=error.topic or key))
        else:
            self._out.append(Refused(handle, error, error.code))


IncomingFrames._ROUTES = {
    act.PUBLISH: IncomingFrames._publish,
    act.PUBLISH_ACK: IncomingFrames._publish_ack,
    act.DIRECT_MESSAGE: IncomingFrames._direct_message,
    act.ACK_PROGRESS: IncomingFrames._ack_progress,
    act.ACK_RESPONSE: IncomingFrames._ack_response,
    act.ACK_STATUS: IncomingFrames._ack_status,
    act.PONG: IncomingFrames._pong,
    act.SUBSCRIBED: IncomingFrames._subscribed,
    act.UNSUBSCRIBED: IncomingFrames._unsubscribed,
    act.ERROR: IncomingFrames._error,
    act.PRESENCE: IncomingFrames._presence,
    act.HISTORY: IncomingFrames._history,
    act.JOIN: IncomingFrames._join,
    act.LEAVE: IncomingFrames._leave,
}


def _ack_response(data: Any) -> AckResponse | None:
    """The AckResponse of an `ack_progress` frame, or None when it is malformed."""
    if type(data) is not dict:
        return None
    if isinstance(data.get("client_id"), str) and isinstance(data.get("success"), bool):
        return cast(AckResponse, data)
    return None
