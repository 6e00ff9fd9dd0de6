"""AckTracker's owner and responder indexes: a client leaving costs what it owns or is awaited for (spec §13.2)."""

from __future__ import annotations

import itertools

from ksps.broker import AckRequest, AckTracker
from ksps.broker.acks import _LEAVE_SLICE
from ksps.protocol import AckAnswer
from ksps.protocol.actions import CLIENT_DISCONNECTED

from .fakes import ManualClock, RecordingPeer


def test_an_owner_leaving_ends_its_own_requests_only() -> None:
    tracker = AckTracker(ManualClock())
    leaving, staying = RecordingPeer("leaving"), RecordingPeer("staying")
    mine = [tracker.open(f"m{n}", ["r"], timeout=5, owner=leaving, client_ack_id=f"c{n}") for n in range(3)]
    theirs = tracker.open("t", ["r"], timeout=5, owner=staying, client_ack_id="c0")
    assert tracker.owned(leaving) == 3 and tracker.owned(staying) == 1
    tracker.owner_gone(leaving)
    assert all(r.finished and r.cancelled for r in mine)
    assert not theirs.finished
    assert tracker.owned(leaving) == 0 and tracker.find(staying, "c0") is theirs
    assert tracker.find(leaving, "c0") is None
    assert len(tracker) == 1 and tracker.waiting_for("r") == 1


def test_ending_a_request_forgets_it_in_both_indexes() -> None:
    tracker = AckTracker(ManualClock())
    owner = RecordingPeer()
    request = tracker.open("s", ["a", "b"], timeout=5, owner=owner, client_ack_id="c")
    assert tracker.waiting_for("a") == tracker.waiting_for("b") == 1
    tracker.cancel(request)
    assert tracker.owned(owner) == 0 and tracker.waiting_for("a") == tracker.waiting_for("b") == 0


def test_reusing_a_client_ack_id_keeps_one_request_per_id() -> None:
    tracker = AckTracker(ManualClock())
    owner = RecordingPeer()
    first = tracker.open("s1", ["a"], timeout=5, owner=owner, client_ack_id="c")
    second = tracker.open("s2", ["a"], timeout=5, owner=owner, client_ack_id="c")
    assert first.cancelled and tracker.find(owner, "c") is second
    assert tracker.owned(owner) == 1 and tracker.waiting_for("a") == 1


def test_a_responder_leaving_answers_only_the_requests_waiting_for_it() -> None:
    tracker = AckTracker(ManualClock())
    waiting = tracker.open("w", ["gone", "other"], timeout=5)
    unrelated = tracker.open("u", ["other"], timeout=5)
    tracker.responder_gone("gone")
    assert waiting.responses["gone"].error == CLIENT_DISCONNECTED and not waiting.responses["gone"].success
    assert not waiting.finished and unrelated.responses == {}
    assert tracker.waiting_for("gone") == 0 and tracker.waiting_for("other") == 2


def test_responders_leaving_together_are_answered_a_slice_per_turn() -> None:
    clock = ManualClock()
    tracker = AckTracker(clock)
    count = 2 * _LEAVE_SLICE + 10
    requests = [tracker.open(f"s{n}", ["r1", "r2"], timeout=60) for n in range(count)]
    tracker.responder_gone("r1")
    tracker.responder_gone("r2")  # queued behind r1: one budget per turn for both
    answered = [sum(len(r.responses) for r in requests)]
    while len(tracker):
        clock.advance(0)
        answered.append(sum(len(r.responses) for r in requests))
    steps = [after - before for before, after in itertools.pairwise(answered)]
    assert answered[0] == _LEAVE_SLICE and all(0 <= step <= _LEAVE_SLICE for step in steps), answered
    assert answered[-1] == 2 * count
    assert all(r.finished and set(r.responses) == {"r1", "r2"} for r in requests)


def test_a_request_that_ended_before_its_turn_is_skipped() -> None:
    clock = ManualClock()
    tracker = AckTracker(clock)
    requests = [tracker.open(f"s{n}", ["r"], timeout=60) for n in range(_LEAVE_SLICE + 1)]
    tracker.responder_gone("r")
    last = next(r for r in requests if not r.finished)
    tracker.cancel(last)
    clock.advance(0)
    assert last.responses == {} and len(tracker) == 0


def test_shutdown_drops_the_answers_still_to_give() -> None:
    clock = ManualClock()
    tracker = AckTracker(clock)
    for n in range(_LEAVE_SLICE + 1):
        tracker.open(f"s{n}", ["r"], timeout=60)
    tracker.responder_gone("r")
    tracker.cancel_all()
    assert len(tracker) == 0 and clock.pending == 0


def test_an_owner_with_many_requests_leaving_cancels_them_at_once_and_forgets_them_a_slice_per_turn() -> None:
    clock, events = ManualClock(), []
    tracker = AckTracker(clock)
    owner = RecordingPeer("owner")

    def on_update(request: AckRequest, response: AckAnswer | None) -> None:
        events.append((request.server_ack_id, request.cancelled))

    count = _LEAVE_SLICE + 10
    requests = [
        tracker.open(f"s{n}", ["r"], timeout=60, owner=owner, client_ack_id=f"c{n}", listener=on_update)
        for n in range(count)
    ]
    tracker.owner_gone(owner)
    assert tracker.owned(owner) == 0 and all(r.cancelled for r in requests)
    assert sum(r.finished for r in requests) == _LEAVE_SLICE
    tracker.respond("s260", AckAnswer("s260", "r", True))  # an answer to a request not yet forgotten
    clock.advance(0)
    assert all(r.finished for r in requests) and len(tracker) == 0 and tracker.waiting_for("r") == 0
    assert ("s260", True) in events and all(cancelled for _, cancelled in events)
