"""The client's sans-I/O pieces: frame encoding and server frame decoding."""

from __future__ import annotations

import json

import msgspec
import pytest

from ksps.client.core._codec import FrameEncoder, decode_server_frame, is_published_reply
from ksps.client.core._incoming import delivery_message

TRICKY_ID = 'A"b\\c ☃'


def test_every_client_frame_is_valid_json_with_escaped_strings() -> None:
    encoder = FrameEncoder(TRICKY_ID)
    frames = {
        "ping": encoder.ping(),
        "subscribe": encoder.subscribe('t"1'),
        "unsubscribe": encoder.unsubscribe('t"1'),
        "publish": encoder.publish('t"1', {"x": [1, None]}),
        "direct_message": encoder.direct("B", "hi"),
        "publish_with_ack": encoder.publish_with_ack("t", 1, "c1", 2500),
        "publish_to_id_with_ack": encoder.publish_to_id_with_ack("B", 1, "c2", 0),
        "ack": encoder.ack("s1", False, 'bad "thing"'),
        "get_ack_status": encoder.get_ack_status("c1"),
        "cancel_ack": encoder.cancel_ack("c1"),
        "publish_to_server": encoder.publish_to_server("h:1/ws/bus", {"topic": "t"}, True),
    }
    for action, frame in frames.items():
        body = json.loads(frame)
        assert body["action"] == action and body["from"] == TRICKY_ID
    assert json.loads(frames["publish"])["topic"] == 't"1'
    ack_request = json.loads(frames["publish_with_ack"])
    assert (ack_request["ack_id"], ack_request["timeout"], ack_request["progress"]) == ("c1", 2500, True)
    assert json.loads(frames["ack"])["data"] == {
        "ack_id": "s1", "client_id": TRICKY_ID, "success": False, "error": 'bad "thing"'
    }
    assert json.loads(encoder.ack("s2", True))["data"] == {"ack_id": "s2", "client_id": TRICKY_ID, "success": True}
    assert json.loads(frames["publish_to_server"])["status"] == {"is_secure": True}


def test_decoding_server_frames() -> None:
    delivery = decode_server_frame(b'{"action":"publish","topic":"news","data":{"data":{"x":1},"from":"A"}}')
    assert delivery_message(delivery) == {"data": {"x": 1}, "from": "A"}
    raw = decode_server_frame(b'{"action":"publish","topic":"news","data":"raw"}')
    assert delivery_message(raw) == {"data": "raw", "from": None}
    response = decode_server_frame(
        b'{"action":"ack_response","ack_id":"c1","responses":{"B":{"ack_id":"s","client_id":"B","success":true}}}'
    )
    assert response.responses == {"B": {"ack_id": "s", "client_id": "B", "success": True}}
    assert decode_server_frame(b'{"action":"ack_status","ack_id":"c1"}').status is None
    unknown = decode_server_frame(b'{"action":"future_action","novel":[1]}')
    assert unknown.action == "future_action"
    with pytest.raises(msgspec.MsgspecError):
        decode_server_frame(b'{"action":"pong","id":5}')
    assert is_published_reply(memoryview(b'{"action":"published","topic":"t"}'))
    assert not is_published_reply(b'{"action":"publish","topic":"t","data":null}')


def test_history_frames_are_valid_json_with_escaped_strings() -> None:
    from ksps.protocol import StreamPosition

    encoder = FrameEncoder(TRICKY_ID)
    since = StreamPosition(7, 'e"1')
    assert json.loads(encoder.subscribe("t", "3", join_leave=True, since=since)) == {
        "action": "subscribe", "topic": "t", "join_leave": True, "since": {"offset": 7, "epoch": 'e"1'},
        "rid": "3", "from": TRICKY_ID,
    }
    plain = {"action": "history", "topic": 't"1', "rid": "4", "from": TRICKY_ID}
    assert json.loads(encoder.history('t"1', "4")) == plain
    assert json.loads(encoder.history("t", "5", since=since, limit=0, reverse=True)) == {
        "action": "history", "topic": "t", "since": {"offset": 7, "epoch": 'e"1'}, "limit": 0, "reverse": True,
        "rid": "5", "from": TRICKY_ID,
    }
