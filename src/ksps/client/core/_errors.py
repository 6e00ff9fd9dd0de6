"""The error an `error` frame from the server carries (spec §7.1, §11)."""

from __future__ import annotations

from ksps.errors import KspsError

from ._codec import ServerFrame

__all__ = ["ServerErrorReply"]


class ServerErrorReply(KspsError):
    """The server answered one of this client's frames with an `error` frame (spec §7.1, §11).

    `code` is the machine-readable class ("forbidden", "id_taken", "limit"; "" for the original errors),
    and `topic`, `rid`, `ack_id` name the refused request when the server sent them: a refused `publish`
    reaches OnError with its `topic`; a refused `subscribe` raises it; a refused `publish_with_ack` makes
    the handle's `wait` raise it.
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
