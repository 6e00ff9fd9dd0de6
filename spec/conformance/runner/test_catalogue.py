"""The runner covers scenarios.md exactly: one test per scenario ID, named after it."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

HERE = Path(__file__).parent
MODULES = [
    "test_connect", "test_pubsub", "test_direct", "test_ack", "test_server_to_server", "test_reconnect", "test_auth",
    "test_errors", "test_vocabulary",
    "test_presence", "test_history",
]


def test_every_scenario_has_a_test_and_back():
    ids = re.findall(r"^### `([a-z_]+\.[a-z_]+)`", (HERE.parent / "scenarios.md").read_text(), re.MULTILINE)
    assert len(ids) == len(set(ids)), "duplicate scenario IDs"
    tests = {
        name for module in MODULES for name in dir(importlib.import_module(module)) if name.startswith("test_")
    }
    expected = {"test_" + scenario.replace(".", "_") for scenario in ids}
    assert expected - tests == set(), "scenarios without a test"
    assert tests - expected == set(), "tests without a scenario"
