"""Encoding the frames the server sends, with no sockets (spec §1.3, §2.2, §3-§8, §9.1)."""

from __future__ import annotations

import json

import msgspec
import pytest
from websockets.frames import Frame as WsFrame
from websockets.frames import Opcode
from websockets.streams import StreamReader

from ksps.protocol import (
    AckAnswer,
    Frame,
    encode_ack_progress,
    encode_ack_response,
    encode_ack_status,
    encode_delivery,
    encode_direct,
    encode_error,
    encode_position_reply,
    encode_published,
    encode_reply,
)

NASTY = ['"', "\\", '\\"', "\x00\x01\x1f", "\u2028\u2029", "é😀", "</script>", '{"a":1}', "\ud7ff\ue000"]


def parse_wire(wire: bytes) -> WsFrame:
    """Parse a server frame with websockets' own parser: an independent RFC 6455 check."""
    reader = StreamReader()
    reader.feed_data(wire)
    reader.feed_eof()
    parser = WsFrame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        frame: WsFrame = done.value
        assert reader.at_eof(), "bytes left after the frame"
        return frame
    raise AssertionError("incomplete frame")


@pytest.mark.parametrize(("size", "header"), [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10), (70000, 10)])
def test_wire_frame_headers(size: int, header: int) -> None:
    frame = Frame(b"x" * size)
    wire = frame.wire
    assert len(wire) == header + size
    assert wire[0] == 0x81  # FIN + text: the server only sends text frames (spec §1.3)
    assert not wire[1] & 0x80  # server frames are not masked
    assert wire[1] & 0x7F == {2: size, 4: 126, 10: 127}[header]
    parsed = parse_wire(wire)
    assert (parsed.opcode, parsed.fin, parsed.data) == (Opcode.TEXT, True, b"x" * size)


def test_wire_frame_is_built_once() -> None:
    frame = Frame(b"{}")
    assert frame.wire is frame.wire


def test_delivery_shape() -> None:
    frame = encode_delivery("publish", "news", msgspec.Raw(b'{"n":1.50}'), "alice")
    assert json.loads(frame.json) == {
        "action": "publish",
        "topic": "news",
        "data": {"data": {"n": 1.5}, "from": "alice"},
    }
    assert b'"data":{"n":1.50}' in frame.json  # data is copied, never re-encoded


def test_delivery_with_ack_id() -> None:
    frame = encode_delivery("publish_ack", "jobs", msgspec.Raw(b"null"), "srv", ack_id="ack_1_2")
    assert json.loads(frame.json) == {
        "action": "publish_ack",
        "topic": "jobs",
        "ack_id": "ack_1_2",
        "data": {"data": None, "from": "srv"},
    }


def test_direct_message_is_flat() -> None:
    frame = encode_direct("bob", msgspec.Raw(b'[1,"x"]'))
    assert json.loads(frame.json) == {"action": "direct_message", "from": "bob", "data": [1, "x"]}


def test_reply_omits_empty_members() -> None:
    assert json.loads(encode_reply("pong", id="c1").json) == {"action": "pong", "id": "c1"}
    assert json.loads(encode_reply("ack_cancelled", ack_id="", to="").json) == {"action": "ack_cancelled"}


def test_error_frame() -> None:
    assert json.loads(encode_error("missing ack_id").json) == {"action": "error", "error": "missing ack_id"}


def test_ack_response_with_and_without_responses() -> None:
    assert json.loads(encode_ack_response("c1", {}).json) == {"action": "ack_response", "ack_id": "c1"}
    responses = {"a": AckAnswer("s1", "a", True), "b": AckAnswer("s1", "b", False, "boom")}
    assert json.loads(encode_ack_response("c1", responses).json) == {
        "action": "ack_response",
        "ack_id": "c1",
        "responses": {
            "a": {"ack_id": "s1", "client_id": "a", "success": True},
            "b": {"ack_id": "s1", "client_id": "b", "success": False, "error": "boom"},
        },
    }


def test_ack_progress_and_status() -> None:
    assert json.loads(encode_ack_progress("c1", AckAnswer("s1", "a", True)).json) == {
        "action": "ack_progress",
        "ack_id": "c1",
        "data": {"ack_id": "s1", "client_id": "a", "success": True},
    }
    assert json.loads(encode_ack_status("c1", {"a": True, "b": False}).json) == {
        "action": "ack_status",
        "ack_id": "c1",
        "status": {"a": True, "b": False},
    }
    assert json.loads(encode_ack_status("c1", {}).json) == {"action": "ack_status", "ack_id": "c1"}


@pytest.mark.parametrize("nasty", NASTY)
def test_every_string_is_escaped(nasty: str) -> None:
    """The original wrote topics and IDs unescaped, producing invalid JSON (spec §9.1)."""
    response = AckAnswer("s" + nasty, "c" + nasty, False, "e" + nasty)
    frames = {
        "delivery": encode_delivery("publish_ack", "t" + nasty, msgspec.Raw(b"1"), "f" + nasty, "a" + nasty),
        "direct": encode_direct("f" + nasty, msgspec.Raw(b"1")),
        "reply": encode_reply("subscribed", topic="t" + nasty),
        "error": encode_error("unknown action: " + nasty),
        "response": encode_ack_response("a" + nasty, {"c" + nasty: response}),
        "progress": encode_ack_progress("a" + nasty, response),
        "status": encode_ack_status("a" + nasty, {"c" + nasty: True}),
    }
    decoded = {name: json.loads(frame.json.decode("utf-8")) for name, frame in frames.items()}
    assert decoded["delivery"]["topic"] == "t" + nasty
    assert decoded["delivery"]["ack_id"] == "a" + nasty
    assert decoded["delivery"]["data"]["from"] == "f" + nasty
    assert decoded["direct"]["from"] == "f" + nasty
    assert decoded["reply"]["topic"] == "t" + nasty
    assert decoded["error"]["error"] == "unknown action: " + nasty
    assert decoded["response"]["responses"]["c" + nasty]["error"] == "e" + nasty
    assert decoded["progress"]["data"]["client_id"] == "c" + nasty
    assert decoded["status"]["status"] == {"c" + nasty: True}


@pytest.mark.parametrize("rid", ["", "r1", *NASTY])
@pytest.mark.parametrize("topic", ["news", *NASTY])
def test_published_with_a_position_is_the_position_reply_byte_for_byte(topic: str, rid: str) -> None:
    # encode_published is the fast form of encode_position_reply(PUBLISHED, ...) (one bytes template per
    # publication on a history topic): the same bytes, so clients see nothing of the change.
    for offset, epoch in ((1, "a1b2c3"), (2**53 + 1, rid or "e")):
        fast = encode_published(topic, offset, epoch, rid)
        assert fast.json == encode_position_reply("published", topic, (offset, epoch), rid=rid).json
        expected: dict[str, object] = {"action": "published", "topic": topic, "offset": offset, "epoch": epoch}
        assert json.loads(fast.json) == ({**expected, "rid": rid} if rid else expected)
