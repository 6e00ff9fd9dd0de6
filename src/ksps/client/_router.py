"""Routes each frame the server sends to what handles it: callbacks, ack handles, reply waiters, hooks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import msgspec

from ksps.errors import KspsError, ProtocolError
from ksps.protocol import actions as act
from ksps.protocol.presence import PresenceInfo

from ._acks import AckTable
from ._codec import AckResponse, ServerFrame, decode_server_frame, is_published_reply
from ._dispatch import CallbackDispatcher
from ._hooks import Hooks, log
from ._options import Message
from ._replies import ReplyWaiters
from ._subscriptions import Subscription, SubscriptionRegistry

__all__ = ["FrameRouter", "ServerErrorReply"]


class ServerErrorReply(KspsError):
    """The server answered one of this client's frames with an `error` frame (spec §7.1, §11).

    `code` is the machine-readable class ("forbidden", "id_taken", "limit"; "" for the original errors),
    and `topic`, `rid`, `ack_id` name the refused request when the server sent them: a refused `Publish`
    reaches OnError with its `topic`; a refused `Subscribe` raises it; a refused `PublishWithAck` makes
    the handle's `Wait` raise it.
    """

    def __init__(self, text: str, *, code: str = "", topic: str = "", rid: str = "", ack_id: str = "") -> None:
        super().__init__(text)
        #: The server's error text.
        self.text = text
        #: Machine-readable class of the error, "" when the server sent none.
        self.code = code
        #: The topic of the refused frame, "" when none.
        self.topic = topic
        #: The request ID of the refused frame, "" when none.
        self.rid = rid
        #: The client's ack ID of the refused request with acknowledgement, "" when none.
        self.ack_id = ack_id

    @classmethod
    def from_frame(cls, frame: ServerFrame) -> ServerErrorReply:
        """The error an `error` frame carries."""
        return cls(
            frame.error or "error frame without text", code=frame.code, topic=frame.topic, rid=frame.rid,
            ack_id=frame.ack_id,
        )


def delivery_message(frame: ServerFrame) -> Message:
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


class FrameRouter:
    """Decodes and dispatches the frames of the current connection."""

    def __init__(
        self,
        registry: SubscriptionRegistry,
        dispatcher: CallbackDispatcher,
        acks: AckTable,
        replies: ReplyWaiters,
        hooks: Hooks,
        direct: Subscription | None,
        registered: Callable[[], bool] = lambda: False,
    ) -> None:
        self._registry = registry
        self._dispatcher = dispatcher
        self._acks = acks
        self._replies = replies
        self._hooks = hooks
        self._direct = direct
        self._registered = registered
        self._routes: dict[str, Callable[[ServerFrame], None]] = {
            act.PUBLISH: self._publish,
            act.PUBLISH_ACK: self._publish_ack,
            act.DIRECT_MESSAGE: self._direct_message,
            act.ACK_PROGRESS: self._ack_progress,
            act.ACK_RESPONSE: self._ack_response,
            act.ACK_STATUS: self._ack_status,
            act.PONG: self._pong,
            act.SUBSCRIBED: self._topic_reply,
            act.UNSUBSCRIBED: self._topic_reply,
            act.ERROR: self._error,
            # -- presence (spec §15)
            act.PRESENCE: self._presence,
            act.JOIN: self._member,
            act.LEAVE: self._member,
        }

    def route(self, payload: bytes | memoryview) -> None:
        """Handle one received message. Never raises: a bad frame is reported to the error hook."""
        if is_published_reply(payload):
            return
        try:
            frame = decode_server_frame(payload)
        except msgspec.MsgspecError as exc:
            self._hooks.error(ProtocolError(f"undecodable frame from the server: {exc}"))
            return
        handler = self._routes.get(frame.action)
        if handler is None:
            # ack_cancelled, server_message_sent and future actions need nothing (spec §2.2).
            return
        try:
            handler(frame)
        except Exception as exc:  # a bug here must not kill the connection
            log.exception("ksps client failed to handle %r", frame.action)
            self._hooks.error(exc)

    # -- deliveries (spec §4.2, §5.1, §6.1, §6.4) --------------------------------------------------------

    def _publish(self, frame: ServerFrame) -> None:
        subscription = self._registry.get(frame.topic)
        if subscription is not None:
            self._dispatcher.deliver(subscription, delivery_message(frame))

    def _publish_ack(self, frame: ServerFrame) -> None:
        if frame.topic.startswith(act.DIRECT_TOPIC_PREFIX):
            subscription = self._direct
        else:
            subscription = self._registry.get(frame.topic)
        if subscription is None:
            self._dispatcher.no_subscriber(frame.ack_id)
        else:
            self._dispatcher.deliver(subscription, delivery_message(frame), frame.ack_id)

    def _direct_message(self, frame: ServerFrame) -> None:
        if self._direct is not None:
            self._dispatcher.deliver(self._direct, {"data": frame.data, "from": frame.from_})

    # -- acknowledgements (spec §6.2-§6.5) ---------------------------------------------------------------

    def _ack_progress(self, frame: ServerFrame) -> None:
        handle = self._acks.get(frame.ack_id)
        response = _ack_response(frame.data)
        if handle is not None and response is not None:
            handle._on_progress(response)

    def _ack_response(self, frame: ServerFrame) -> None:
        handle = self._acks.get(frame.ack_id)
        if handle is not None:
            handle._on_response(frame.responses or {})

    def _ack_status(self, frame: ServerFrame) -> None:
        self._replies.resolve(act.ACK_STATUS, frame.ack_id, frame.status or {})

    # -- replies and errors ------------------------------------------------------------------------------

    def _pong(self, frame: ServerFrame) -> None:
        self._replies.resolve(act.PONG, "", frame.id)

    def _topic_reply(self, frame: ServerFrame) -> None:
        self._replies.resolve(frame.action, frame.topic, True)

    def _presence(self, frame: ServerFrame) -> None:
        info = PresenceInfo.from_frame({"count": frame.count, "ids": frame.ids, "truncated": frame.truncated})
        self._replies.resolve(act.PRESENCE, frame.topic, info)

    def _member(self, frame: ServerFrame) -> None:
        if frame.topic and frame.id:
            self._hooks.member(frame.action == act.JOIN, frame.topic, frame.id)

    def _error(self, frame: ServerFrame) -> None:
        error = ServerErrorReply.from_frame(frame)
        # Matched to its request by rid, else by the ack ID of a refused request with ack (spec §11).
        if frame.rid and self._replies.fail(frame.rid, error):
            return
        if frame.ack_id and (handle := self._acks.get(frame.ack_id)) is not None:
            handle._fail(error)
            return
        # Before registration, an error can only answer the `ping` (e.g. an ID too long, spec §2.4), also
        # from a server that does not echo `rid`.
        if self._registered() or not self._replies.resolve(act.PONG, "", error):
            self._hooks.error(error)


def _ack_response(data: Any) -> AckResponse | None:
    """The AckResponse of an `ack_progress` frame, or None when it is malformed."""
    if type(data) is not dict:
        return None
    if isinstance(data.get("client_id"), str) and isinstance(data.get("success"), bool):
        return cast(AckResponse, data)
    return None
