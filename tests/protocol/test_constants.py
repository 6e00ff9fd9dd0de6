"""The protocol constants agree with spec/protocol.md, their single written source (spec §7)."""

from __future__ import annotations

import re
from pathlib import Path

from ksps.protocol import CloseCodes, CloseReasons, Errors, actions

SPEC = (Path(__file__).resolve().parents[2] / "spec" / "protocol.md").read_text(encoding="utf-8")

def _section(number: str) -> str:
    start = SPEC.index(f"\n{number}. ")
    end = SPEC.index("\n\n", start + 1)
    return SPEC[start:end]


def _normalise(text: str) -> str:
    text = re.sub(r"\{[a-z_]+\}", "<*>", text)
    text = re.sub(r"<[^>*]+>", "<*>", text)
    return re.sub(r"\bN\b", "<*>", text)


def test_every_error_text_is_in_spec_7_1() -> None:
    quoted = re.findall(r"`([^`]+)`", _section("7.1"))
    documented = {_normalise(text) for text in quoted if not text.startswith("{")}  # not the frame shape
    texts = {
        _normalise(value) for name, value in vars(Errors).items() if not name.startswith("_") and isinstance(value, str)
    }
    assert texts <= documented, texts - documented
    assert documented <= texts, documented - texts


def test_close_codes_and_reasons_match_the_table_of_spec_7_2() -> None:
    table = dict(re.findall(r"^\| (\d{4}) \| `([^`]+)` \|", SPEC, flags=re.MULTILINE))
    ours = {
        str(code): _normalise(getattr(CloseReasons, name))
        for name, code in vars(CloseCodes).items()
        if not name.startswith("_") and isinstance(code, int)
    }
    assert ours == {code: _normalise(reason) for code, reason in table.items()}


def test_every_action_is_named_in_the_spec() -> None:
    names = [value for name, value in vars(actions).items() if name.isupper() and isinstance(value, str)]
    wire_names = [n for n in names if re.fullmatch(r"[a-z_-]+", n)]
    assert len(wire_names) >= 20
    for name in wire_names:
        assert f'"{name}"' in SPEC or f"`{name}`" in SPEC or f'"action":"{name}"' in SPEC, name


def test_response_texts() -> None:
    assert f'error:"{actions.NO_SUBSCRIBER}"' in SPEC
    assert f'error:"{actions.CLIENT_DISCONNECTED}"' in SPEC
    assert actions.DIRECT_TOPIC_PREFIX == "__direct_"
