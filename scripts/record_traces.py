"""Record the trace vectors of spec/traces/ from the Python ClientSession.

Each scenario below is a list of timed inputs; this script feeds them to `ksps.client.core.ClientSession` and
writes the outputs and the next deadline of every step into spec/traces/<name>.json. The JSON files, once
reviewed and committed, are the specification: the Python, JS and Go unit tests replay them. Re-record only
on purpose (a behaviour change), and review the diff.

Usage: python scripts/record_traces.py [--check]   (--check: exit 1 when a file would change)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ksps.client.core._replay import apply_input, new_session

TRACES = Path(__file__).resolve().parents[1] / "spec" / "traces"

BASE = {"id": "c1", "address": "localhost:9313", "path": "/ws/bus"}
Step = tuple[int, dict[str, Any]]


def frame(action: str, **members: Any) -> dict[str, Any]:
    """A `frame` input: a server frame with `action` and `members` (`from_` spells `from`)."""
    body: dict[str, Any] = {"action": action}
    for key, value in members.items():
        body["from" if key == "from_" else key] = value
    return {"type": "frame", "frame": body}


def connect(at: int = 0, rid: str = "1") -> list[Step]:
    """start, opened, pong: a registered client without subscriptions."""
    return [
        (at, {"type": "start"}),
        (at + 3, {"type": "opened"}),
        (at + 4, frame("pong", id="c1", rid=rid)),
    ]


def subscribe(at: int, topic: str, handle: str, rid: str) -> list[Step]:
    """A subscribe intent and the server's confirmation."""
    return [
        (at, {"type": "subscribe", "topic": topic, "handle": handle}),
        (at + 1, frame("subscribed", topic=topic, rid=rid)),
    ]


def delivery(topic: str, data: Any, offset: int) -> dict[str, Any]:
    """A `publish` frame of a topic with history: the publication's offset at the top level (spec §14.2)."""
    return frame("publish", topic=topic, offset=offset, data={"data": data, "from": "c9"})


def reconnect(at: int, rid: str) -> list[Step]:
    """timer (the reconnect delay ended), opened, pong: a registered client restoring its subscriptions."""
    return [
        (at, {"type": "timer"}),
        (at + 3, {"type": "opened"}),
        (at + 4, frame("pong", id="c1", rid=rid)),
    ]


SCENARIOS: list[dict[str, Any]] = [
    {
        "name": "registration",
        "description": "start opens the URL; opened sends ping with rid and token (spec §3.1, §10.3); the pong "
        "with that rid makes the session ready: connected. The connect deadline is armed at open and again "
        "at opened (connect_timeout), and cleared once ready.",
        "options": {**BASE, "token": "t0k", "connect_timeout": 10000},
        "steps": connect(),
    },
    {
        "name": "subscribe-confirmed-and-refused",
        "description": "subscribe sends rid; `subscribed` with that rid confirms the handle; an `error` with the "
        "rid of another subscribe refuses it (ServerErrorReply, code) and the topic is not kept: its "
        "publications are not delivered (spec §4.1, §10.4, §11). unsubscribe is confirmed by rid.",
        "options": BASE,
        "steps": [
            *connect(),
            *subscribe(10, "news", "h1", "2"),
            (20, {"type": "subscribe", "topic": "secret", "handle": "h2"}),
            (21, frame("error", error="forbidden: subscribe to secret", code="forbidden", topic="secret", rid="3")),
            (30, frame("publish", topic="secret", data={"data": "x", "from": "c9"})),
            (31, frame("publish", topic="news", data={"data": "hello", "from": "c9"})),
            (40, {"type": "unsubscribe", "topic": "news", "handle": "h3"}),
            (41, frame("unsubscribed", topic="news", rid="4")),
            (42, frame("publish", topic="news", data={"data": "late", "from": "c9"})),
        ],
    },
    {
        "name": "publish-connected",
        "description": "Publications go out at once when ready (publish, publish_to_id, publish_to_server; no rid "
        "on them, spec §11.1); the `published` receipt needs nothing; a refused publish reaches the error event "
        "with its code and topic (spec §11.2).",
        "options": BASE,
        "steps": [
            *connect(),
            (10, {"type": "publish", "topic": "news", "data": {"n": 1}}),
            (11, frame("published", topic="news")),
            (12, {"type": "publish_to_id", "to": "c2", "data": "hi"}),
            (13, {"type": "publish_to_server", "address": "other:9313/ws/bus", "data": {"topic": "t", "data": 1},
                  "secure": False}),
            (14, {"type": "publish", "topic": "admin", "data": 2}),
            (15, frame("error", error="forbidden: publish to admin", code="forbidden", topic="admin")),
        ],
    },
    {
        "name": "deliveries",
        "description": "publish on a subscribed topic is a delivery of the nested {data, from} (spec §4.2); "
        "direct_message is a direct event (spec §5.1); publish_ack is a delivery with the server's ack_id "
        "(spec §6.1), or a direct event on a __direct_ topic (spec §6.4); publish_ack on a topic this client "
        "does not follow is answered `no subscriber for topic` by the session itself.",
        "options": BASE,
        "steps": [
            *connect(),
            *subscribe(10, "news", "h1", "2"),
            (20, frame("publish", topic="news", data={"data": [1, 2], "from": "c9"})),
            (21, frame("direct_message", data={"x": 1}, from_="c9")),
            (22, frame("publish_ack", topic="news", ack_id="s1", data={"data": "q", "from": "c9"})),
            (23, frame("publish_ack", topic="__direct_c1_1", ack_id="s2", data={"data": "d", "from": "c9"})),
            (24, frame("publish_ack", topic="other", ack_id="s3", data={"data": "o", "from": "c9"})),
        ],
    },
    {
        "name": "offline-queue-drop-oldest",
        "description": "Publications made before the connection is ready are queued (offline_queue_size); the "
        "default policy drop_oldest drops the oldest queued one (queue_overflow with the dropped frame); the "
        "queue is sent in order once ready, before connected.",
        "options": {**BASE, "offline_queue_size": 2},
        "steps": [
            (0, {"type": "start"}),
            (1, {"type": "publish", "topic": "t", "data": 1}),
            (2, {"type": "publish", "topic": "t", "data": 2}),
            (3, {"type": "publish_to_id", "to": "c2", "data": 3}),
            (4, {"type": "opened"}),
            (5, frame("pong", id="c1", rid="1")),
        ],
    },
    {
        "name": "offline-queue-drop-newest",
        "description": "Policy drop_newest: a publication that does not fit is dropped itself (queue_overflow); a "
        "dropped publication with ack ends its handle (ack_done).",
        "options": {**BASE, "offline_queue_size": 1, "offline_queue_policy": "drop_newest"},
        "steps": [
            (0, {"type": "start"}),
            (1, {"type": "publish", "topic": "t", "data": 1}),
            (2, {"type": "publish_with_ack", "topic": "t", "data": 2, "timeout": 1000, "handle": "h1"}),
            (3, {"type": "opened"}),
            (4, frame("pong", id="c1", rid="1")),
        ],
    },
    {
        "name": "offline-queue-raise",
        "description": "Policy raise: the publication that does not fit is refused (queue_overflow with it; the "
        "Python client raises OfflineQueueFull to the caller); the queue keeps the earlier ones.",
        "options": {**BASE, "offline_queue_size": 1, "offline_queue_policy": "raise"},
        "steps": [
            (0, {"type": "start"}),
            (1, {"type": "publish", "topic": "t", "data": 1}),
            (2, {"type": "publish", "topic": "t", "data": 2}),
            (3, {"type": "opened"}),
            (4, frame("pong", id="c1", rid="1")),
        ],
    },
    {
        "name": "ack-progress-and-response",
        "description": "publish_with_ack sends ack_id client_ack_<id>_<n>, timeout in ms and progress:true "
        "(spec §6.1-§6.3); each ack_progress is an ack_response event; the final ack_response reports the "
        "responders not seen yet, then ack_done. publish_to_id_with_ack without responders ends at once.",
        "options": BASE,
        "steps": [
            *connect(),
            (10, {"type": "publish_with_ack", "topic": "jobs", "data": {"n": 1}, "timeout": 2000, "handle": "h1"}),
            (20, frame("ack_progress", ack_id="client_ack_c1_1",
                       data={"ack_id": "s1", "client_id": "w1", "success": True})),
            (30, frame("ack_response", ack_id="client_ack_c1_1", responses={
                "w1": {"ack_id": "s1", "client_id": "w1", "success": True},
                "w2": {"ack_id": "s2", "client_id": "w2", "success": False, "error": "boom"},
            })),
            (40, {"type": "publish_to_id_with_ack", "to": "nobody", "data": 1, "timeout": 500, "handle": "h2"}),
            (41, frame("ack_response", ack_id="client_ack_c1_2")),
        ],
    },
    {
        "name": "ack-timeout",
        "description": "A request without the server's final answer ends timeout + 500 ms after it was made "
        "(the grace for the server's own ack_response, spec §6.2): the timer gives ack_done; a late "
        "ack_response is ignored.",
        "options": BASE,
        "steps": [
            *connect(),
            (10, {"type": "publish_with_ack", "topic": "jobs", "data": 1, "timeout": 1000, "handle": "h1"}),
            (1510, {"type": "timer"}),
            (1600, frame("ack_response", ack_id="client_ack_c1_1")),
        ],
    },
    {
        "name": "ack-cancel-and-fetch-status",
        "description": "fetch_status sends get_ack_status with rid and reports the ack_status (spec §6.5, §11.1); "
        "cancel sends cancel_ack and ends the handle at once; fetch_status of an ended handle, or of one "
        "whose request was not sent because the client is offline, is refused with NotConnected.",
        "options": BASE,
        "random": [0.5],
        "steps": [
            *connect(),
            (10, {"type": "publish_with_ack", "topic": "jobs", "data": 1, "timeout": 5000, "handle": "h1"}),
            (11, {"type": "fetch_status", "ack": "h1"}),
            (12, frame("ack_status", ack_id="client_ack_c1_1", status={"w1": True, "w2": False}, rid="2")),
            (13, {"type": "cancel", "ack": "h1"}),
            (14, frame("ack_cancelled", ack_id="client_ack_c1_1")),
            (15, {"type": "fetch_status", "ack": "h1"}),
            (20, {"type": "lost", "code": 1006, "reason": ""}),
            (21, {"type": "publish_with_ack", "topic": "jobs", "data": 2, "timeout": 5000, "handle": "h2"}),
            (22, {"type": "fetch_status", "ack": "h2"}),
            (23, {"type": "cancel", "ack": "h2"}),
        ],
    },
    {
        "name": "reconnect-restores-subscriptions",
        "description": "A lost connection: disconnected, acks sent on it end, reconnecting after a delay drawn "
        "with full jitter (floor(random * min(max, initial * factor^n))); a failed attempt is an error event "
        "(ConnectionFailed) and the bound doubles. On the next connection every subscription is sent again "
        "in order (also one made offline), and only after all are confirmed are the queued publications "
        "sent, then connected (spec §4.1).",
        "options": {**BASE, "reconnect_initial_delay": 500, "reconnect_factor": 2, "reconnect_max_delay": 30000},
        "random": [0.5, 0.25],
        "steps": [
            *connect(),
            *subscribe(10, "a", "h1", "2"),
            *subscribe(20, "b", "h2", "3"),
            (30, {"type": "publish_with_ack", "topic": "a", "data": 1, "timeout": 5000, "handle": "h3"}),
            (100, {"type": "lost", "code": 1000, "reason": "server shutdown"}),
            (110, {"type": "publish", "topic": "a", "data": "queued"}),
            (120, {"type": "subscribe", "topic": "c", "handle": "h4"}),
            (350, {"type": "timer"}),
            (360, {"type": "lost", "code": None, "reason": "connection refused"}),
            (610, {"type": "timer"}),
            (613, {"type": "opened"}),
            (614, frame("pong", id="c1", rid="4")),
            (615, frame("subscribed", topic="a", rid="5")),
            (616, frame("subscribed", topic="b", rid="6")),
            (617, frame("subscribed", topic="c", rid="7")),
        ],
    },
    {
        "name": "connect-timeout",
        "description": "A connection attempt that does not open, or does not register, within connect_timeout "
        "is closed by the session (close 1000 `connect timeout`) and counts as a failed attempt: with "
        "autorestart the session keeps trying with backoff.",
        "options": {**BASE, "autorestart": True, "connect_timeout": 1000, "reconnect_initial_delay": 100},
        "random": [0.5, 0.5],
        "steps": [
            (0, {"type": "start"}),
            (1000, {"type": "timer"}),
            (1050, {"type": "timer"}),
            (1053, {"type": "opened"}),
            (2053, {"type": "timer"}),
        ],
    },
    {
        "name": "first-connection-fails",
        "description": "Without autorestart a failed first connection closes the session for good (the Python "
        "client raises ConnectionFailed from connect).",
        "options": BASE,
        "steps": [
            (0, {"type": "start"}),
            (5, {"type": "lost", "code": None, "reason": "connection refused"}),
            (6, {"type": "publish", "topic": "t", "data": 1}),
        ],
    },
    {
        "name": "replaced-4001-closes-for-good",
        "description": "Close code 4001 (another connection took the ID, spec §3.3, §7.2): disconnected, the "
        "error ConnectionReplaced, closed; never a reconnection.",
        "options": BASE,
        "steps": [
            *connect(),
            *subscribe(10, "a", "h1", "2"),
            (20, {"type": "lost", "code": 4001, "reason": "replaced by a newer connection"}),
            (30, {"type": "timer"}),
            (31, {"type": "publish", "topic": "a", "data": 1}),
        ],
    },
    {
        "name": "auth-4003-refused",
        "description": "Close 4003 during registration (a refused token, spec §10.3): the error AuthError with "
        "the code; without a token source the same token would be refused again, so the session closes.",
        "options": {**BASE, "token": "bad"},
        "steps": [
            (0, {"type": "start"}),
            (3, {"type": "opened"}),
            (4, {"type": "lost", "code": 4003, "reason": "unauthorized: invalid token"}),
        ],
    },
    {
        "name": "auth-4004-refreshable",
        "description": "Close 4004 (token expired, spec §10.5) with a token source (refreshable_token): the error "
        "AuthError, then a reconnection at once (delay 0), registering with the new token the driver set.",
        "options": {**BASE, "token": "old", "refreshable_token": True},
        "steps": [
            *connect(),
            (50, {"type": "lost", "code": 4004, "reason": "token expired"}),
            (50, {"type": "timer"}),
        ],
    },
    {
        "name": "registration-refused",
        "description": "An `error` answering the registration `ping` (matched by its rid; e.g. id_taken, spec "
        "§10.6) closes the attempt (close 1000 `registration refused`) and is a failed attempt: the error "
        "ConnectionFailed with the server's code; without autorestart the first connection closes the session.",
        "options": BASE,
        "steps": [
            (0, {"type": "start"}),
            (3, {"type": "opened"}),
            (4, frame("error", error="id taken: c1", code="id_taken", rid="1")),
        ],
    },
    {
        "name": "no-reconnect-closes",
        "description": "With reconnect false a lost connection is final: disconnected, then closed.",
        "options": {**BASE, "reconnect": False},
        "steps": [
            *connect(),
            (10, {"type": "lost", "code": 1000, "reason": "server shutdown"}),
        ],
    },
    {
        "name": "restore-refused-and-offline-unsubscribe",
        "description": "Unsubscribing while offline needs no server: unsubscribed at once, and the topic is not "
        "restored. A restored subscription the server now refuses (spec §10.4) is an error event with its topic "
        "and is dropped; the restore goes on and the session becomes ready.",
        "options": BASE,
        "random": [0.0],
        "steps": [
            *connect(),
            *subscribe(10, "a", "h1", "2"),
            *subscribe(20, "b", "h2", "3"),
            *subscribe(30, "c", "h3", "4"),
            (40, {"type": "lost", "code": None, "reason": "connection reset"}),
            (41, {"type": "unsubscribe", "topic": "b", "handle": "h4"}),
            (42, {"type": "timer"}),
            (45, {"type": "opened"}),
            (46, frame("pong", id="c1", rid="5")),
            (47, frame("error", error="forbidden: subscribe to a", code="forbidden", topic="a", rid="6")),
            (48, frame("subscribed", topic="c", rid="7")),
        ],
    },
    # --- presence (spec §15)
    {
        "name": "presence-request",
        "description": "presence is a request with rid (spec §15.2): the `presence` reply with that rid answers "
        "the handle with count, ids and truncated; an `error` with its rid refuses it (ServerErrorReply, code "
        "forbidden); a request still unanswered when the connection is lost is refused NotConnected, and "
        "presence while not registered is refused NotConnected at once, nothing queued or sent.",
        "options": BASE,
        "random": [0.5],
        "steps": [
            *connect(),
            (10, {"type": "presence", "topic": "room", "handle": "h1"}),
            (11, frame("presence", topic="room", count=2, ids=["a", "b"], rid="2")),
            (20, {"type": "presence", "topic": "big", "handle": "h2"}),
            (21, frame("presence", topic="big", count=1500, ids=["a"], truncated=True, rid="3")),
            (30, {"type": "presence", "topic": "secret", "handle": "h3"}),
            (31, frame("error", error="forbidden: presence to secret", code="forbidden", topic="secret", rid="4")),
            (40, {"type": "presence", "topic": "room", "handle": "h4"}),
            (50, {"type": "lost", "code": 1006, "reason": ""}),
            (60, {"type": "presence", "topic": "room", "handle": "h5"}),
        ],
    },
    {
        "name": "join-leave-restored",
        "description": "subscribe with join_leave sends `join_leave: true` (spec §15.3); `join`/`leave` frames of "
        "that topic are `join`/`leave` events (topic, id), those of a topic without the flag are ignored. "
        "After a lost connection the subscription is restored with the flag, the other without it; presence "
        "may be asked once registered, while the restore is still going on; once unsubscribed, the topic's "
        "member events are ignored.",
        "options": BASE,
        "random": [0.5],
        "steps": [
            *connect(),
            (10, {"type": "subscribe", "topic": "room", "handle": "h1", "join_leave": True}),
            (11, frame("subscribed", topic="room", rid="2")),
            *subscribe(20, "news", "h2", "3"),
            (30, frame("join", topic="room", id="c2")),
            (31, frame("leave", topic="room", id="c2")),
            (32, frame("join", topic="news", id="c3")),
            (40, {"type": "lost", "code": 1006, "reason": ""}),
            (290, {"type": "timer"}),
            (293, {"type": "opened"}),
            (294, frame("pong", id="c1", rid="4")),
            (295, {"type": "presence", "topic": "room", "handle": "h3"}),
            (296, frame("subscribed", topic="room", rid="5")),
            (297, frame("subscribed", topic="news", rid="6")),
            (298, frame("presence", topic="room", count=1, ids=["c1"], rid="7")),
            (300, frame("join", topic="room", id="c4")),
            (310, {"type": "unsubscribe", "topic": "room", "handle": "h4"}),
            (311, frame("unsubscribed", topic="room", rid="8")),
            (312, frame("leave", topic="room", id="c4")),
        ],
    },
    # --- history and recovery (spec §14)
    {
        "name": "history-read",
        "description": "history is a request with rid (spec §14.4), like presence: while not registered it is "
        "refused NotConnected at once, nothing queued or sent; registered it sends `since` ({offset, epoch}), "
        "`limit` (0 is valid: the position only) and `reverse: true` only when given, and the `history` reply "
        "with that rid is a history event (publications, offset, epoch); an `error` with its rid is refused "
        "ServerErrorReply with its code (no_history); a read unanswered when the connection is lost is refused "
        "NotConnected.",
        "options": BASE,
        "random": [0.5],
        "steps": [
            (0, {"type": "history", "topic": "chat", "handle": "h1"}),
            *connect(1),
            (10, {"type": "history", "topic": "chat", "handle": "h2", "since": {"offset": 3, "epoch": "e1"},
                  "limit": 2}),
            (11, frame("history", topic="chat", rid="2", offset=9, epoch="e1", publications=[
                {"data": "d4", "from": "c9", "offset": 4}, {"data": {"n": 5}, "from": "c8", "offset": 5},
            ])),
            (20, {"type": "history", "topic": "chat", "handle": "h3", "limit": 0}),
            (21, frame("history", topic="chat", rid="3", offset=9, epoch="e1", publications=[])),
            (30, {"type": "history", "topic": "chat", "handle": "h4", "since": {"offset": 9, "epoch": "e1"},
                  "limit": 2, "reverse": True}),
            (31, frame("history", topic="chat", rid="4", offset=9, epoch="e1", publications=[
                {"data": "d8", "from": "c9", "offset": 8}, {"data": "d7", "from": "c9", "offset": 7},
            ])),
            (40, {"type": "history", "topic": "plain", "handle": "h5", "reverse": False}),
            (41, frame("error", error="no history for topic: plain", code="no_history", topic="plain", rid="5")),
            (50, {"type": "history", "topic": "chat", "handle": "h6"}),
            (60, {"type": "lost", "code": 1006, "reason": ""}),
            (70, {"type": "history", "topic": "chat", "handle": "h7"}),
        ],
    },
    {
        "name": "recovery-restore",
        "description": "A `subscribed` reply with offset and epoch (spec §14.2) is a subscription event "
        "(recovering false, recovered false, offset, epoch) before the subscribed event, and the position is "
        "remembered; each delivery with an offset carries it in the delivery event and moves the position. "
        "After a lost connection the restore of that topic carries since {the last offset, the epoch}; the "
        "replayed publications are ordinary deliveries; the `subscribed` with recovered true is a subscription "
        "event (recovering true, recovered true), then connected. A topic without history restores without "
        "since, its deliveries have no offset, and its replies give no subscription event.",
        "options": BASE,
        "random": [0.5],
        "steps": [
            *connect(),
            (10, {"type": "subscribe", "topic": "chat", "handle": "h1"}),
            (11, frame("subscribed", topic="chat", offset=4, epoch="e1", rid="2")),
            *subscribe(20, "news", "h2", "3"),
            (30, delivery("chat", "m5", 5)),
            (31, delivery("chat", "m6", 6)),
            (32, frame("publish", topic="news", data={"data": "n", "from": "c9"})),
            (40, {"type": "lost", "code": 1006, "reason": ""}),
            *reconnect(290, "4"),
            (295, delivery("chat", "m7", 7)),
            (296, delivery("chat", "m8", 8)),
            (297, frame("subscribed", topic="chat", offset=8, epoch="e1", recovered=True, rid="5")),
            (298, frame("subscribed", topic="news", rid="6")),
            (300, delivery("chat", "m9", 9)),
        ],
    },
    {
        "name": "recovery-epoch-changed",
        "description": "An explicit subscribe with since sends it (spec §14.3) and its reply reports recovering. "
        "A restore answered recovered false with a new epoch is a subscription event (recovered false, the new "
        "position); a delivery at a lower offset (the new stream) is delivered and becomes the position: no "
        "client-side filtering. A reply without offset/epoch (the engine could not answer) reports recovered "
        "false without a position and keeps the remembered one, so the next restore still asks since it. An "
        "explicit re-subscribe without since sends none. Unsubscribing forgets the position: subscribed again, "
        "the topic restores without since.",
        "options": BASE,
        "random": [0.5, 0.5, 0.5],
        "steps": [
            *connect(),
            (10, {"type": "subscribe", "topic": "chat", "handle": "h1", "since": {"offset": 5, "epoch": "e1"}}),
            (11, delivery("chat", "m6", 6)),
            (12, frame("subscribed", topic="chat", offset=6, epoch="e1", recovered=True, rid="2")),
            (20, {"type": "lost", "code": 1006, "reason": ""}),
            *reconnect(270, "3"),
            (275, frame("subscribed", topic="chat", offset=0, epoch="e2", recovered=False, rid="4")),
            (280, delivery("chat", "fresh", 1)),
            (290, {"type": "lost", "code": 1006, "reason": ""}),
            *reconnect(540, "5"),
            (545, frame("subscribed", topic="chat", recovered=False, rid="6")),
            (546, delivery("chat", "m2", 2)),
            (550, {"type": "subscribe", "topic": "chat", "handle": "h2"}),
            (551, frame("subscribed", topic="chat", offset=2, epoch="e2", rid="7")),
            (560, {"type": "lost", "code": 1006, "reason": ""}),
            (561, {"type": "unsubscribe", "topic": "chat", "handle": "h3"}),
            (562, {"type": "subscribe", "topic": "chat", "handle": "h4"}),
            *reconnect(810, "8"),
            (815, frame("subscribed", topic="chat", offset=2, epoch="e2", rid="9")),
        ],
    },
    {
        "name": "application-close",
        "description": "close by the application: close 1000 and closed, with no disconnected event (the old "
        "OnDisconnect(None, None)); the lost that follows is ignored, and so is every later input.",
        "options": BASE,
        "steps": [
            *connect(),
            (10, {"type": "publish_with_ack", "topic": "jobs", "data": 1, "timeout": 5000, "handle": "h1"}),
            (20, {"type": "close"}),
            (21, {"type": "lost", "code": 1000, "reason": ""}),
            (22, {"type": "close"}),
            (5600, {"type": "timer"}),
        ],
    },
]


def record(scenario: dict[str, Any]) -> dict[str, Any]:
    """Run a scenario through a fresh session and return its trace vector."""
    session = new_session(scenario["options"], scenario.get("random", []))
    steps = []
    for at, item in scenario["steps"]:
        outputs = apply_input(session, item, at)
        steps.append({
            "at": at, "input": item, "output": [output.to_json() for output in outputs],
            "deadline": session.next_deadline,
        })
    return {
        "name": scenario["name"],
        "description": scenario["description"],
        "options": scenario["options"],
        "random": scenario.get("random", []),
        "steps": steps,
    }


def render(trace: dict[str, Any]) -> str:
    """The JSON text of a trace: one step per line block, stable key order."""
    head = {key: value for key, value in trace.items() if key != "steps"}
    lines = json.dumps(head, indent=2, ensure_ascii=False)[:-2]
    steps = ",\n".join("    " + json.dumps(step, ensure_ascii=False) for step in trace["steps"])
    return f'{lines},\n  "steps": [\n{steps}\n  ]\n}}\n'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 when a recorded file would change")
    args = parser.parse_args()
    TRACES.mkdir(parents=True, exist_ok=True)
    changed = []
    for scenario in SCENARIOS:
        path = TRACES / f"{scenario['name']}.json"
        text = render(record(scenario))
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            changed.append(path.name)
            if not args.check:
                path.write_text(text, encoding="utf-8")
    if changed:
        print(("would change: " if args.check else "wrote: ") + ", ".join(changed))
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
