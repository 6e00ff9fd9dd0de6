"""Every trace vector of spec/traces/ replays through the Python ClientSession (spec/traces/README.md).

The JSON files are the specification that the JS and Go clients replay too; a difference here is a bug in
the session (or, after review, in the trace: re-record it with scripts/record_traces.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ksps.client.core._replay import apply_input, new_session

TRACES = Path(__file__).resolve().parents[2] / "spec" / "traces"
FILES = sorted(TRACES.glob("*.json"))

#: Behaviour the issue and the contract ask the vectors to cover (one trace or more each).
REQUIRED = {
    "registration", "subscribe-confirmed-and-refused", "publish-connected", "offline-queue-drop-oldest",
    "offline-queue-drop-newest", "offline-queue-raise", "ack-progress-and-response", "ack-timeout",
    "ack-cancel-and-fetch-status", "reconnect-restores-subscriptions", "replaced-4001-closes-for-good",
    "auth-4003-refused", "application-close", "history-read", "recovery-restore", "recovery-epoch-changed",
}


def test_the_required_traces_exist() -> None:
    assert {path.stem for path in FILES} >= REQUIRED


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_trace_replays(path: Path) -> None:
    trace: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert trace["name"] == path.stem
    session = new_session(trace["options"], trace.get("random", []))
    for index, step in enumerate(trace["steps"]):
        outputs = [output.to_json() for output in apply_input(session, step["input"], step["at"])]
        where = f"{path.name} step {index} (at {step['at']}, {step['input']['type']})"
        assert outputs == step["output"], where
        if "deadline" in step:
            assert session.next_deadline == step["deadline"], where


def test_a_wrong_trace_fails() -> None:
    """The replay can fail: the registration trace with another ping rid does not match."""
    trace = json.loads((TRACES / "registration.json").read_text(encoding="utf-8"))
    session = new_session(trace["options"], [])
    apply_input(session, trace["steps"][0]["input"], 0)
    sent = [output.to_json() for output in apply_input(session, {"type": "opened"}, 3)]
    expected = json.loads(json.dumps(trace["steps"][1]["output"]).replace('"rid": "1"', '"rid": "2"'))
    assert sent != expected
