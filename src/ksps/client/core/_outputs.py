"""What a :class:`~ksps.client.core.ClientSession` asks its driver to do, and the events it reports.

Three actions (`Open`, `Send`, `Close`) and one event class per kind of the trace format
(spec/traces/README.md). Every output turns into its trace JSON with :meth:`Output.to_json`; events may carry
Python-only extras (the exception, the full ack response) that the JSON leaves out. A `handle` is whatever
the driver passed with the intent that created it (an object in the asyncio client, a name like "h1" in traces).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ksps.protocol.history import StreamPosition

from ._codec import AckResponse

__all__ = [
    "AckAnswer",
    "AckDone",
    "Close",
    "Closed",
    "Connected",
    "Delivery",
    "Direct",
    "Disconnected",
    "ErrorEvent",
    "Event",
    "History",
    "Join",
    "Leave",
    "Member",
    "Open",
    "Output",
    "Presence",
    "QueueOverflow",
    "Reconnecting",
    "Refused",
    "Send",
    "Status",
    "Subscribed",
    "SubscriptionReport",
    "Unsubscribed",
]

_decode = msgspec.json.decode


class Output:
    """One thing the driver must do or report, in order."""

    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        """This output as in a trace vector."""
        raise NotImplementedError


class Open(Output):
    """Open a WebSocket connection to `url`; answer with `opened`, or `lost` when it fails."""

    __slots__ = ("url",)

    def __init__(self, url: str) -> None:
        self.url = url

    def to_json(self) -> dict[str, Any]:
        return {"type": "open", "url": self.url}


class Send(Output):
    """Send `frame` (encoded JSON) as one text message on the open connection."""

    __slots__ = ("frame",)

    def __init__(self, frame: bytes) -> None:
        self.frame = frame

    def to_json(self) -> dict[str, Any]:
        return {"type": "send", "frame": _decode(self.frame)}


class Close(Output):
    """Close the connection with `code` and `reason`; the session expects no `lost` for it afterwards."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason

    def to_json(self) -> dict[str, Any]:
        return {"type": "close", "code": self.code, "reason": self.reason}


class Event(Output):
    """Something to report to the application (hooks, callbacks, waiting calls)."""

    __slots__ = ()
    kind = ""

    def fields(self) -> dict[str, Any]:
        """The event's members in the trace, besides `type`."""
        return {}

    def to_json(self) -> dict[str, Any]:
        return {"type": "event", "event": {"type": self.kind, **self.fields()}}


class Connected(Event):
    """Registered, subscriptions restored, offline queue sent (OnConnect)."""

    __slots__ = ()
    kind = "connected"


class Disconnected(Event):
    """A connection that had reported `Connected` was lost (OnDisconnect); `code` None without a close frame."""

    __slots__ = ("code", "reason")
    kind = "disconnected"

    def __init__(self, code: int | None, reason: str | None) -> None:
        self.code = code
        self.reason = reason

    def fields(self) -> dict[str, Any]:
        return {"code": self.code, "reason": self.reason}


class Closed(Event):
    """Closed for good (OnClose); nothing follows."""

    __slots__ = ()
    kind = "closed"


class Delivery(Event):
    """A publication on a subscribed topic; `message` is `{"data", "from"}`, plus `"offset"` on a topic with
    history (spec §14.2); `ack_id` asks for an answer."""

    __slots__ = ("ack_id", "message", "topic")
    kind = "delivery"

    def __init__(self, topic: str, message: dict[str, Any], ack_id: str) -> None:
        self.topic = topic
        self.message = message
        self.ack_id = ack_id

    def fields(self) -> dict[str, Any]:
        message = self.message
        out = {"topic": self.topic, "data": message.get("data"), "from": message.get("from")}
        if "offset" in message:
            out["offset"] = message["offset"]
        return {**out, "ack_id": self.ack_id} if self.ack_id else out


class Direct(Event):
    """A direct message to this client (OnId), with `ack_id` when it asks for an answer (spec §5, §6.4)."""

    __slots__ = ("ack_id", "message")
    kind = "direct"

    def __init__(self, message: dict[str, Any], ack_id: str) -> None:
        self.message = message
        self.ack_id = ack_id

    def fields(self) -> dict[str, Any]:
        out = {"data": self.message.get("data"), "from": self.message.get("from")}
        return {**out, "ack_id": self.ack_id} if self.ack_id else out


class _HandleEvent(Event):
    __slots__ = ("handle",)

    def __init__(self, handle: object) -> None:
        self.handle = handle

    def fields(self) -> dict[str, Any]:
        return {"handle": self.handle}


class Subscribed(_HandleEvent):
    """The server confirmed the subscription made by the intent `handle`."""

    __slots__ = ()
    kind = "subscribed"


class Unsubscribed(_HandleEvent):
    """The unsubscription `handle` is done (confirmed, or nothing to ask the server)."""

    __slots__ = ()
    kind = "unsubscribed"


class Refused(Event):
    """The request `handle` failed: `error` is the error class name, `code` the server's code ("" if none)."""

    __slots__ = ("code", "error", "exception", "handle")
    kind = "refused"

    def __init__(self, handle: object, exception: Exception, code: str) -> None:
        self.handle = handle
        self.exception = exception
        self.error = type(exception).__name__
        self.code = code

    def fields(self) -> dict[str, Any]:
        return {"handle": self.handle, "error": self.error, "code": self.code}


class AckAnswer(Event):
    """One responder's answer to the request `handle` (an `ack_progress`, or one entry of `ack_response`)."""

    __slots__ = ("handle", "response")
    kind = "ack_response"

    def __init__(self, handle: object, response: AckResponse) -> None:
        self.handle = handle
        self.response = response

    def fields(self) -> dict[str, Any]:
        response = self.response
        out: dict[str, Any] = {
            "handle": self.handle, "client_id": response["client_id"], "success": response["success"]
        }
        if response.get("error"):
            out["error"] = response.get("error")
        return out


class AckDone(Event):
    """The request `handle` ended; `complete` (Python only) is True when the server's final answer came."""

    __slots__ = ("complete", "handle")
    kind = "ack_done"

    def __init__(self, handle: object, complete: bool) -> None:
        self.handle = handle
        self.complete = complete

    def fields(self) -> dict[str, Any]:
        return {"handle": self.handle}


class Status(Event):
    """The server's `ack_status` for the request `handle`: responder ID -> answered (spec §6.5)."""

    __slots__ = ("handle", "status")
    kind = "status"

    def __init__(self, handle: object, status: dict[str, bool]) -> None:
        self.handle = handle
        self.status = status

    def fields(self) -> dict[str, Any]:
        return {"handle": self.handle, "status": self.status}


class Presence(Event):
    """The server's answer to the presence request `handle` (spec §15.2): `count` members, the smallest
    `ids` in order, `truncated` when `ids` does not list them all."""

    __slots__ = ("count", "handle", "ids", "truncated")
    kind = "presence"

    def __init__(self, handle: object, count: int, ids: list[str], truncated: bool) -> None:
        self.handle = handle
        self.count = count
        self.ids = ids
        self.truncated = truncated

    def fields(self) -> dict[str, Any]:
        return {"handle": self.handle, "count": self.count, "ids": self.ids, "truncated": self.truncated}


class SubscriptionReport(Event):
    """A history-aware `subscribed` reply for `topic` (spec §14.2, §14.3; OnSubscribed), on a first subscribe or
    a restore: `recovering` when the subscribe asked `since` a position, `recovered` when nothing was missed,
    `position` the stream position the reply carried (None when the server could not tell)."""

    __slots__ = ("position", "recovered", "recovering", "topic")
    kind = "subscription"

    def __init__(self, topic: str, position: StreamPosition | None, recovering: bool, recovered: bool) -> None:
        self.topic = topic
        self.position = position
        self.recovering = recovering
        self.recovered = recovered

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"topic": self.topic, "recovering": self.recovering, "recovered": self.recovered}
        if self.position is not None:
            out["offset"], out["epoch"] = self.position
        return out


class History(Event):
    """The server's answer to the history request `handle` (spec §14.4): `publications` (`{"data", "from",
    "offset"}`) and the stream position at the read."""

    __slots__ = ("epoch", "handle", "offset", "publications")
    kind = "history"

    def __init__(self, handle: object, publications: list[dict[str, Any]], offset: int, epoch: str) -> None:
        self.handle = handle
        self.publications = publications
        self.offset = offset
        self.epoch = epoch

    def fields(self) -> dict[str, Any]:
        return {"handle": self.handle, "publications": self.publications, "offset": self.offset, "epoch": self.epoch}


class Member(Event):
    """A member event of `topic`, a topic subscribed with join_leave (spec §15.3): :class:`Join` or
    :class:`Leave` of the client `client_id`."""

    __slots__ = ("client_id", "topic")

    def __init__(self, topic: str, client_id: str) -> None:
        self.topic = topic
        self.client_id = client_id

    def fields(self) -> dict[str, Any]:
        return {"topic": self.topic, "id": self.client_id}


class Join(Member):
    """`client_id` subscribed to `topic` (OnJoin)."""

    __slots__ = ()
    kind = "join"


class Leave(Member):
    """`client_id` unsubscribed from `topic` or disconnected (OnLeave)."""

    __slots__ = ()
    kind = "leave"


class ErrorEvent(Event):
    """A failure no caller sees as an exception (OnError): `error` is the class name of `exception`."""

    __slots__ = ("code", "error", "exception", "topic")
    kind = "error"

    def __init__(self, exception: Exception, *, code: str | int = "", topic: str = "") -> None:
        self.exception = exception
        self.error = type(exception).__name__
        self.code = code
        self.topic = topic

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.error}
        if self.code != "":
            out["code"] = self.code
        if self.topic:
            out["topic"] = self.topic
        return out


class QueueOverflow(Event):
    """The offline queue was full: `dropped` (the encoded frame) was not and will not be sent."""

    __slots__ = ("dropped", "newest")
    kind = "queue_overflow"

    def __init__(self, dropped: bytes, *, newest: bool) -> None:
        self.dropped = dropped
        #: True when the dropped frame is the one just published (policy drop_newest or raise).
        self.newest = newest

    def fields(self) -> dict[str, Any]:
        return {"dropped": _decode(self.dropped)}


class Reconnecting(Event):
    """The next connection attempt starts in `delay` ms (the next deadline)."""

    __slots__ = ("delay",)
    kind = "reconnecting"

    def __init__(self, delay: int) -> None:
        self.delay = delay

    def fields(self) -> dict[str, Any]:
        return {"delay": self.delay}
