"""mkdocs hook: the JavaScript and Go API references, generated from their sources at every build.

- `reference/go.md`: `go doc -all` of the Go module in clients/go, then the source of its `Example*` functions
  (what `go doc` shows as examples on pkg.go.dev), so the page always matches the code.
- `reference/js/`: TypeDoc's HTML of clients/js (TypeDoc is a pinned devDependency there, installed by
  `npm ci`); docs/reference/javascript.md links into it.

Both tools are required: a build without Go, or without `npm ci` in clients/js, fails and says what to install,
rather than publishing a site with a reference missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
GO_MODULE = ROOT / "clients" / "go"
JS_PACKAGE = ROOT / "clients" / "js"
_EXAMPLE = re.compile(r"^func (Example\w*)\(\) \{\n.*?^\}\n", re.S | re.M)

_tmp: tempfile.TemporaryDirectory[str] | None = None


def _run(command: list[str], cwd: Path, what: str) -> str:
    if shutil.which(command[0]) is None:
        raise PluginError(f"{what}: `{command[0]}` is not on PATH (see docs/guide/install.md)")
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise PluginError(f"{what}: `{' '.join(command)}` failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def go_reference() -> str:
    """The Markdown of the Go reference page."""
    module = (GO_MODULE / "go.mod").read_text().split()[1]
    doc = _run(["go", "doc", "-all", "."], GO_MODULE, "the Go reference")
    examples = []
    for test in sorted(GO_MODULE.glob("*_test.go")):
        source = test.read_text()
        if not source.startswith("package ksps_test"):
            continue
        for match in _EXAMPLE.finditer(source):
            examples.append(f"### {match.group(1)}\n\nFrom `clients/go/{test.name}`:\n\n```go\n{match.group(0)}```\n")
    return (
        "# Go API reference\n\n"
        f"The package `{module}`, as `go doc -all` prints it (generated when the site is built; run the same "
        "command in `clients/go` for the version you have). How to get the module: the "
        "[Go quickstart](../guide/quickstart-go.md).\n\n"
        f"```text\n{doc}```\n\n## Examples\n\n"
        "The package's `Example*` functions, which `go test` compiles (and runs where they state their output):\n\n"
        + "\n".join(examples)
    )


def typedoc(out: Path) -> None:
    """TypeDoc's HTML of the JavaScript client into `out`."""
    binary = JS_PACKAGE / "node_modules" / ".bin" / "typedoc"
    if not binary.exists():
        raise PluginError("the JavaScript reference: TypeDoc is not installed; run `npm ci` in clients/js")
    _run([str(binary), "--out", str(out), "--logLevel", "Error"], JS_PACKAGE, "the JavaScript reference")


def on_files(files: Files, config: MkDocsConfig, **_: Any) -> Files:
    """Add reference/go.md and TypeDoc's files under reference/js/."""
    global _tmp
    files.append(File.generated(config, "reference/go.md", content=go_reference()))
    if _tmp is not None:
        _tmp.cleanup()
    _tmp = tempfile.TemporaryDirectory(prefix="ksps-typedoc-")
    out = Path(_tmp.name)
    typedoc(out)
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        files.append(File.generated(config, f"reference/js/{path.relative_to(out).as_posix()}", abs_src_path=str(path)))
    return files


def on_shutdown(**_: Any) -> None:
    """Remove TypeDoc's output once the site is written."""
    if _tmp is not None:
        _tmp.cleanup()
