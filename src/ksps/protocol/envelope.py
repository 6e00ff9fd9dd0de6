"""Decoding of client frames into typed envelopes (spec §2), with the error texts of spec §7.1."""

from __future__ import annotations

from typing import Annotated, Any, NotRequired, TypedDict

import msgspec

from .actions import Errors

__all__ = [
    "NULL",
    "AckAnswer",
    "AckPayload",
    "AckResponse",
    "DecodeError",
    "Envelope",
    "Since",
    "decode_data",
    "decode_envelope",
    "decode_json_or_text",
]

#: The JSON `null` literal, used where a frame had no `data` member (spec §4.2).
NULL = msgspec.Raw(b"null")


class Since(msgspec.Struct, frozen=True, gc=False):
    """A stream position a client asks to continue from (spec §14.3): the offset it last saw, in `epoch`.

    `strict: true` asks for nothing at all unless everything since can be recovered.
    """

    offset: Annotated[int, msgspec.Meta(ge=0)]
    epoch: str
    strict: bool = False


class Envelope(msgspec.Struct, frozen=True, gc=False):
    """One client frame. `None` stands for an absent or `null` member (spec §2.2).

    `data` stays raw JSON: the server forwards it without decoding or re-encoding it.
    """

    action: str | None = None
    topic: str | None = None
    data: msgspec.Raw = msgspec.Raw()
    from_: str | None = msgspec.field(default=None, name="from")
    to: str | None = None
    id: str | None = None
    ack_id: str | None = None
    status: dict[str, bool] | None = None
    timeout: Annotated[float, msgspec.Meta(ge=0)] | None = None
    progress: bool | None = None
    #: Request ID, echoed on every direct reply (spec §11.1).
    rid: str | None = None
    #: Credential (a JWT) on `ping` (spec §10.3).
    token: str | None = None
    #: Signature members of `server-to-server` (spec §12.1).
    ts: int | None = None
    nonce: str | None = None
    sig: str | None = None
    #: On `subscribe`: also send `join`/`leave` events of the topic (spec §15.3).
    join_leave: bool | None = None
    #: History (spec §14): the position to recover or read from, and the `history` read's bounds.
    since: Since | None = None
    limit: Annotated[int, msgspec.Meta(ge=0)] | None = None
    reverse: bool | None = None

    @property
    def raw_data(self) -> msgspec.Raw:
        """The `data` member as raw JSON, `null` when absent."""
        data = self.data
        return data if data else NULL


class AckResponse(TypedDict):
    """One responder's answer to a publication with acknowledgement, in its wire shape (spec §2.3).

    What ack handles give, on the server (`Ack.wait`) and in the Python client (`ClientAck.wait`) alike.
    """

    ack_id: str
    client_id: str
    success: bool
    error: NotRequired[str]


class AckAnswer(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """One responder's answer as the broker keeps and encodes it (spec §2.3); users see it as an `AckResponse`."""

    ack_id: str
    client_id: str
    success: bool
    error: str = ""

    def to_dict(self) -> AckResponse:
        """The wire shape as a dict: `error` only when there is one."""
        out: AckResponse = {"ack_id": self.ack_id, "client_id": self.client_id, "success": self.success}
        if self.error:
            out["error"] = self.error
        return out


class AckPayload(msgspec.Struct, frozen=True, gc=False):
    """The `data` object of an `ack` frame. Wrong types read as absent, like the original (spec §6.1)."""

    ack_id: Any = None
    success: Any = None
    error: Any = None


class DecodeError(Exception):
    """A frame that is not a valid envelope; `str(exc)` is the error text to send back (spec §7.1)."""


_decoder = msgspec.json.Decoder(Envelope)
_ack_decoder = msgspec.json.Decoder(AckPayload)


def decode_envelope(payload: bytes) -> Envelope:
    """Decode one frame, or raise :class:`DecodeError` with the text of spec §7.1."""
    # msgspec checks UTF-8 only in the strings it decodes, not inside the raw `data` it passes through: an
    # invalid byte there would be forwarded in text frames and make every subscriber drop with 1007.
    if not payload.isascii():
        try:
            payload.decode()
        except UnicodeDecodeError as exc:
            raise DecodeError(Errors.INVALID_JSON.format(reason=f"invalid UTF-8 at byte {exc.start}")) from None
    try:
        return _decoder.decode(payload)
    except msgspec.ValidationError as exc:
        text = str(exc)
        if text.startswith("Expected `object`"):
            raise DecodeError(Errors.NOT_AN_OBJECT) from None
        raise DecodeError(Errors.INVALID_MESSAGE.format(reason=text)) from None
    except msgspec.DecodeError as exc:
        reason = "empty frame" if not payload.strip() else str(exc)
        raise DecodeError(Errors.INVALID_JSON.format(reason=reason)) from None
    except RecursionError:
        # msgspec raises this, not a DecodeError, for arrays/objects nested deeper than the interpreter's
        # recursion limit: an invalid frame like any other, never a reason to drop the connection (spec §9.7).
        raise DecodeError(Errors.INVALID_JSON.format(reason="nesting too deep")) from None


def decode_data(data: msgspec.Raw) -> Any:
    """The `data` of an accepted frame as Python objects, for server-side callbacks; None if too deep.

    The envelope was decoded without error, but from a shallower stack: the same nesting can still exceed
    the recursion limit here (spec §13.1).
    """
    try:
        return msgspec.json.decode(data)
    except RecursionError:
        return None


def decode_json_or_text(text: str) -> Any:
    """`text` as JSON when it is JSON (`42`, `{"a": 1}`, `"quoted"`), else the text itself: what a person typed
    as a payload (`ksps pub`, the admin page). Nesting too deep to decode counts as text, not a crash."""
    try:
        return msgspec.json.decode(text)
    except (msgspec.DecodeError, RecursionError):
        return text


def decode_ack_payload(data: msgspec.Raw) -> AckPayload | None:
    """The `data` of an `ack` frame when it is an object, else None."""
    if not data:
        return None
    try:
        return _ack_decoder.decode(data)
    except msgspec.MsgspecError:
        return None
