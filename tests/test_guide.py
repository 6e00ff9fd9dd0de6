"""The runnable examples of the user guide (docs/guide/*.md) and every other page of docs/ run as shown.

A page marks a Python block runnable with an HTML comment on the line before it (invisible on GitHub and in
mkdocs):

- `<!-- run: client -->`: the block is a client program; it runs against a server this test starts.
- `<!-- run: standalone -->`: the block starts its own `Server`; it runs alone.
- `<!-- run: browser -->` before an `html` block: a page that tests/test_guide_browser.py opens in Chromium.
- `<!-- run: node -->` (`js`) and `<!-- run: go -->` (`go`): programs tests/test_guide_clients.py runs against
  a server, installed the way the guide says.
- `<!-- output -->` before a `text` block after a runnable one: the program's standard output, exactly.

Examples address the server as `localhost:9313` (a second one as `localhost:9314`), as a reader's would; the
test replaces them with the test server's address (client) or free ports, since tests never use a fixed port.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ksps.testing import free_port

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "guide"
UNIT = float(os.environ.get("KSPS_TEST_TIMEOUT_UNIT", "1.0"))
#: The addresses examples use: the first is the bus (the test server for client examples), the second a
#: second server of a standalone example.
ADDRESSES = ("localhost:9313", "localhost:9314")
#: Run kinds and the language of their blocks.
KINDS = {"client": "python", "standalone": "python", "browser": "html", "node": "js", "go": "go"}

_MARKED = re.compile(r"<!--\s*(run: *\w+|output)\s*-->\s*\n```(\w*)\n(.*?)```", re.S)


@dataclass(frozen=True)
class Example:
    """One runnable block: where it is, how to run it, and what it must print (None = not checked)."""

    page: str
    line: int
    kind: str
    code: str
    output: str | None

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"


def _examples() -> list[Example]:
    examples: list[Example] = []
    # Every page of docs/ (the documentation site's pages); guide pages are named as before, others by path.
    for path in sorted(GUIDE.glob("*.md")) + sorted(set(GUIDE.parent.rglob("*.md")) - set(GUIDE.glob("*.md"))):
        text = path.read_text()
        name = path.name if path.parent == GUIDE else str(path.relative_to(ROOT))
        for match in _MARKED.finditer(text):
            marker, language, body = match.groups()
            line = text.count("\n", 0, match.start()) + 1
            if marker == "output":
                assert language == "text", f"{name}:{line}: an output block is a ```text block"
                assert examples and examples[-1].page == name and examples[-1].output is None, (
                    f"{name}:{line}: an output block must follow a runnable block"
                )
                last = examples.pop()
                examples.append(Example(last.page, last.line, last.kind, last.code, body))
                continue
            kind = marker.split(":", 1)[1].strip()
            assert kind in KINDS, f"{name}:{line}: unknown run kind {kind!r}"
            assert language == KINDS[kind], f"{name}:{line}: a {kind} example is a ```{KINDS[kind]} block"
            examples.append(Example(name, line, kind, body, None))
    return examples


EXAMPLES = _examples()
PYTHON_EXAMPLES = [example for example in EXAMPLES if KINDS[example.kind] == "python"]


@pytest.fixture(scope="module")
def bus_address() -> Iterator[str]:
    """A real server (`python -m ksps.testing`) for the client examples; it stops when its stdin closes."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ksps.testing"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        yield str(ready["address"])
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(10 * UNIT)
        finally:
            proc.kill()
            proc.wait()


def test_the_guide_has_runnable_examples() -> None:
    """Guards the parser: the quickstarts and the server API page keep examples that really run."""
    pages = {example.page for example in EXAMPLES}
    assert {"quickstart-python.md", "quickstart-javascript.md", "server-api.md"} <= pages
    assert set(KINDS) == {example.kind for example in EXAMPLES}


@pytest.mark.parametrize("example", PYTHON_EXAMPLES, ids=str)
def test_guide_example_runs_as_shown(example: Example, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    bus = request.getfixturevalue("bus_address") if example.kind == "client" else f"127.0.0.1:{free_port()}"
    code = example.code.replace(ADDRESSES[0], bus).replace(ADDRESSES[1], f"127.0.0.1:{free_port()}")
    script = tmp_path / "example.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=30 * UNIT, cwd=tmp_path
    )
    assert done.returncode == 0, f"{example} failed:\n{done.stdout}\n{done.stderr}"
    if example.output is not None:
        assert done.stdout == example.output, f"{example} printed something else"
