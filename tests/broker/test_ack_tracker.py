"""AckTracker with a manual clock: who must answer, who did, and when a request ends (spec §6, §9.2-§9.16)."""

from __future__ import annotations

from collections.abc import Callable

from ksps.broker import AckRequest, AckTracker
from ksps.protocol import AckAnswer

from .fakes import ManualClock, RecordingPeer

Events = list[tuple[str, AckAnswer | None]]


def listener(events: Events) -> Callable[[AckRequest, AckAnswer | None], None]:
    def on_update(request: AckRequest, response: AckAnswer | None) -> None:
        events.append((request.server_ack_id, response))

    return on_update


def ok(server_ack_id: str, responder: str) -> AckAnswer:
    return AckAnswer(server_ack_id, responder, True)


def test_a_request_without_responders_ends_at_once() -> None:
    clock, events = ManualClock(), []
    tracker = AckTracker(clock)
    request = tracker.open("s1", [], timeout=5, listener=listener(events))
    assert request.finished and request.complete
    assert events == [("s1", None)]
    assert len(tracker) == 0 and clock.pending == 0, "no request pending: no sweep armed"


def test_responses_complete_the_request_in_arrival_order() -> None:
    clock, events = ManualClock(), []
    tracker = AckTracker(clock)
    request = tracker.open("s1", ["a", "b"], timeout=5, listener=listener(events))
    assert request.expected == {"a": False, "b": False}
    tracker.respond("s1", ok("s1", "b"))
    assert request.expected == {"a": False, "b": True} and not request.finished
    tracker.respond("s1", ok("s1", "a"))
    assert request.finished and request.complete
    assert list(request.responses) == ["b", "a"]
    assert events == [("s1", ok("s1", "b")), ("s1", ok("s1", "a")), ("s1", None)]
    assert clock.run_out() == 0 and tracker.timed_out == 0, "no timeout may fire for a finished request"
    assert events[-1] == ("s1", None) and len(events) == 3
    assert len(tracker) == 0


def test_unexpected_repeated_and_unknown_answers_are_ignored() -> None:
    tracker = AckTracker(ManualClock())
    request = tracker.open("s1", ["a", "b"], timeout=5)
    tracker.respond("s1", ok("s1", "intruder"))
    tracker.respond("s1", ok("s1", "a"))
    tracker.respond("s1", AckAnswer("s1", "a", False, "second thoughts"))
    tracker.respond("unknown", ok("unknown", "b"))
    assert request.responses == {"a": ok("s1", "a")}
    assert not request.finished  # the original counted the intruder and ended early (spec §9.16)


def test_timeout_ends_with_partial_responses() -> None:
    clock, events = ManualClock(), []
    tracker = AckTracker(clock)
    request = tracker.open("s1", ["a", "b"], timeout=2, listener=listener(events))
    tracker.respond("s1", ok("s1", "a"))
    clock.advance(1.9)
    assert not request.finished
    clock.advance(0.2)
    assert request.finished and not request.complete and not request.cancelled
    assert request.responses == {"a": ok("s1", "a")}
    assert events[-1] == ("s1", None)
    tracker.respond("s1", ok("s1", "b"))  # too late
    assert "b" not in request.responses


def test_responder_gone_answers_client_disconnected_in_every_request() -> None:
    tracker = AckTracker(ManualClock())
    first = tracker.open("s1", ["a", "b"], timeout=5)
    second = tracker.open("s2", ["b"], timeout=5)
    tracker.responder_gone("b")
    assert first.responses == {"b": AckAnswer("s1", "b", False, "client disconnected")}
    assert second.finished
    assert second.responses == {"b": AckAnswer("s2", "b", False, "client disconnected")}
    tracker.responder_gone("b")  # nothing left for b
    assert len(first.responses) == 1


def test_responder_that_answered_is_not_marked_disconnected() -> None:
    tracker = AckTracker(ManualClock())
    request = tracker.open("s1", ["a", "b"], timeout=5)
    tracker.respond("s1", ok("s1", "a"))
    tracker.responder_gone("a")
    assert request.responses == {"a": ok("s1", "a")}


def test_requests_are_found_by_owner_and_client_ack_id() -> None:
    tracker = AckTracker(ManualClock())
    alice, bob = RecordingPeer("alice"), RecordingPeer("bob")
    request = tracker.open("s1", ["x"], timeout=5, owner=alice, client_ack_id="c1")
    assert tracker.find(alice, "c1") is request
    assert tracker.find(bob, "c1") is None, "another client's ack ID must not reach it"
    assert tracker.find_server("s1") is request
    tracker.respond("s1", ok("s1", "x"))
    assert tracker.find(alice, "c1") is None and tracker.find_server("s1") is None


def test_cancel_ends_and_marks_cancelled() -> None:
    clock, events = ManualClock(), []
    tracker = AckTracker(clock)
    request = tracker.open("s1", ["x"], timeout=5, owner=RecordingPeer(), client_ack_id="c1", listener=listener(events))
    tracker.cancel(request)
    assert request.finished and request.cancelled
    assert events == [("s1", None)]
    assert clock.run_out() == 0 and len(tracker) == 0 and tracker.timed_out == 0
    tracker.cancel(request)
    assert events == [("s1", None)], "cancelling twice notifies once"


def test_owner_gone_cancels_its_requests_only() -> None:
    tracker = AckTracker(ManualClock())
    alice, bob = RecordingPeer("alice"), RecordingPeer("bob")
    mine = tracker.open("s1", ["x"], timeout=5, owner=alice, client_ack_id="c1")
    theirs = tracker.open("s2", ["x"], timeout=5, owner=bob, client_ack_id="c1")
    server_side = tracker.open("s3", ["x"], timeout=5)
    tracker.owner_gone(alice)
    assert mine.finished and mine.cancelled
    assert not theirs.finished and not server_side.finished


def test_reusing_a_pending_client_ack_id_replaces_the_older_request() -> None:
    tracker = AckTracker(ManualClock())
    alice = RecordingPeer("alice")
    older = tracker.open("s1", ["x"], timeout=5, owner=alice, client_ack_id="c1")
    newer = tracker.open("s2", ["x"], timeout=5, owner=alice, client_ack_id="c1")
    assert older.finished and older.cancelled
    assert tracker.find(alice, "c1") is newer
    assert len(tracker) == 1


def test_cancel_all_ends_everything_without_marking_cancelled() -> None:
    clock = ManualClock()
    tracker = AckTracker(clock)
    requests = [tracker.open(f"s{n}", ["x"], timeout=5) for n in range(3)]
    tracker.cancel_all()
    assert all(r.finished and not r.cancelled for r in requests)
    assert len(tracker) == 0 and clock.pending == 0


def test_listening_to_a_finished_request_is_called_at_once() -> None:
    tracker = AckTracker(ManualClock())
    request = tracker.open("s1", [], timeout=5)
    events: Events = []
    request.listen(listener(events))
    assert events == [("s1", None)]


def test_pending_requests_share_one_timer_and_time_out_in_deadline_order() -> None:
    # One sweep for all pending requests, not one timer each (issue 15): opening costs no timer.
    clock, events = ManualClock(), []
    tracker = AckTracker(clock)
    requests = []
    for n in range(1000):
        requests.append(tracker.open(f"s{n}", ["x"], timeout=5, listener=listener(events)))
        clock.advance(0.001)
    assert clock.pending == 1
    clock.advance(3.9)  # 4.9 s after the first
    assert not requests[0].finished, "never before the deadline"
    clock.advance(0.2)
    assert requests[0].finished and not requests[-1].finished
    for _ in range(2000):
        clock.advance(0.001)
    assert all(r.finished and not r.complete for r in requests)
    assert tracker.timed_out == 1000 and len(tracker) == 0
    assert [server_ack_id for server_ack_id, _ in events] == [f"s{n}" for n in range(1000)], "in deadline order"
    assert clock.run_out() == 0


def test_a_shorter_timeout_than_any_pending_is_swept_at_its_own_deadline() -> None:
    clock = ManualClock()
    tracker = AckTracker(clock)
    long = tracker.open("long", ["x"], timeout=60)
    short = tracker.open("short", ["x"], timeout=0.5)
    clock.advance(0.5)
    assert short.finished and not long.finished
    tracker.respond("long", ok("long", "x"))
    assert long.finished and long.complete
    assert clock.run_out() == 0 and tracker.timed_out == 1


def test_answered_requests_do_not_delay_or_repeat_the_timeout_of_others() -> None:
    clock = ManualClock()
    tracker = AckTracker(clock)
    slow = tracker.open("slow", ["x"], timeout=5)
    for n in range(10_000):  # a stream of answered requests while one waits
        tracker.open(f"s{n}", ["y"], timeout=5)
        tracker.respond(f"s{n}", ok(f"s{n}", "y"))
    assert len(tracker) == 1 and tracker.completed == 10_000
    clock.advance(5)
    assert slow.finished and tracker.timed_out == 1
    assert clock.run_out() == 0
