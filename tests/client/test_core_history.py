"""History in the sans-I/O session (spec §14): frames of the wrong shape never break it.

A client never trusts a frame: a `history` reply, a `subscribed` reply or a delivery whose history members have
the wrong types reads as empty or as absent, and the session goes on (the trace vectors pin the well-formed
cases).
"""

from __future__ import annotations

import json
import random
from typing import Any

from ksps.client.core import ClientSession, SessionConfig
from ksps.protocol import StreamPosition


def ready_session() -> ClientSession:
    session = ClientSession(SessionConfig(id="c1", address="localhost:9313"), random=random.random)
    session.start(0)
    session.opened(1)
    session.receive(b'{"action":"pong","id":"c1","rid":"1"}', 2)
    return session


def receive(session: ClientSession, frame: dict[str, Any]) -> list[dict[str, Any]]:
    return [output.to_json() for output in session.receive(json.dumps(frame).encode(), 10)]


def test_a_history_reply_of_the_wrong_shape_reads_as_empty() -> None:
    session = ready_session()
    session.history("t", handle="h1", now=3)
    events = receive(session, {"action": "history", "topic": "t", "rid": "2", "publications": [1, {"data": 2}, "x"],
                               "offset": "9", "epoch": 5})
    assert events == [{"type": "event", "event": {
        "type": "history", "handle": "h1", "publications": [{"data": 2}], "offset": 0, "epoch": ""}}]
    session.history("t", handle="h2", now=4)
    events = receive(session, {"action": "history", "topic": "t", "rid": "3", "publications": {"a": 1}})
    assert events[0]["event"]["publications"] == []


def test_position_members_of_the_wrong_type_are_ignored() -> None:
    session = ready_session()
    session.subscribe("t", handle="h1", now=3, since=StreamPosition(4, "e1"))
    events = receive(session, {"action": "subscribed", "topic": "t", "rid": "2", "offset": "5", "epoch": "e2",
                               "recovered": "yes"})
    # A history-aware reply (it has an epoch) without a valid position: reported, the position kept.
    assert events[0]["event"] == {"type": "subscription", "topic": "t", "recovering": True, "recovered": False}
    assert session.position("t") == (4, "e1")
    for offset in (True, 2.5, "6", None, [7]):
        events = receive(session, {"action": "publish", "topic": "t", "offset": offset, "data": {"data": 1}})
        assert "offset" not in events[0]["event"]
    assert session.position("t") == (4, "e1")
    events = receive(session, {"action": "publish", "topic": "t", "offset": 5, "data": {"data": 1}})
    assert events[0]["event"]["offset"] == 5 and session.position("t") == (5, "e1")


def test_a_history_reply_nobody_asked_for_is_ignored() -> None:
    session = ready_session()
    assert receive(session, {"action": "history", "topic": "t", "rid": "77", "publications": []}) == []
    session.history("t", handle="h1", now=3)
    assert receive(session, {"action": "history", "topic": "t", "rid": "2", "offset": 1, "epoch": "e"})[0]["event"][
        "handle"] == "h1"
