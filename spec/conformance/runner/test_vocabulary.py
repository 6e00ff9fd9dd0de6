"""Scenario `vocabulary.constants` (scenarios.md, Vocabulary): the client library really uses the constants,
option defaults and error names of spec/vocabulary.toml (the generated files could be bypassed by hand-written
ones; this asks the library itself, through its adapter)."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
from harness import REPO


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("generate_vocabulary", REPO / "scripts/generate_vocabulary.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = _generator()
VOCABULARY: dict[str, Any] = GENERATOR.load()


def expected_defaults(language: str) -> dict[str, Any]:
    """Option -> default (durations in ms) that the language's client must use."""
    options = GENERATOR.go_defaults(VOCABULARY) if language == "go" else GENERATOR.defaults(VOCABULARY, language)
    return {o["name"]: o["default"] for o in options if o.get("conformance", True)}


async def test_vocabulary_constants(adapters, request: pytest.FixtureRequest):
    adapter = request.config.getoption("--adapter")
    a = await adapters("A")
    reported = await a.call("vocabulary")
    assert reported["language"] == adapter
    # The blocking Python client is the asyncio client on a thread: the same names and defaults.
    language = {"python-sync": "python"}.get(adapter, adapter)

    defaults = reported["client_defaults"]
    for name, default in expected_defaults(language).items():
        assert name in defaults, f"{language} does not report the default of {name}"
        assert defaults[name] == default, f"{language} {name}: uses {defaults[name]!r}, vocabulary {default!r}"

    codes = {name: code["code"] for name, code in VOCABULARY["close_codes"].items()}
    assert "replaced" in reported["close_codes"]
    for name, code in reported["close_codes"].items():
        assert codes.get(name) == code, f"{language} close code {name} = {code}, vocabulary {codes.get(name)}"

    wire = GENERATOR.actions(VOCABULARY)
    for name, action in reported.get("actions", {}).items():
        assert wire.get(name) == action, f"{language} action {name} = {action!r}, vocabulary {wire.get(name)!r}"

    classes = reported["error_classes"]
    spelled = {c["concept"]: c[language] for c in VOCABULARY["error_classes"]}
    for error_class in VOCABULARY["error_classes"]:
        name = error_class[language]
        if not name:
            continue
        assert name in classes, f"{language} has no error {name} ({error_class['meaning']})"
        if "parent" in error_class:
            parent = spelled[error_class["parent"]]
            assert classes[name] == parent, f"{language} {name} is a kind of {classes[name]!r}, not {parent!r}"
