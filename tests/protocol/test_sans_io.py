"""`ksps.protocol` and `ksps.broker` stay sans-I/O: no event loop, sockets or threads (docs/architecture.md, "Layers").

Checked on the source with `ast`, so an import hidden in a function or behind TYPE_CHECKING counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "ksps"

#: Modules that do I/O or concurrency.
BANNED = {
    "asyncio",
    "socket",
    "threading",
    "selectors",
    "ssl",
    "subprocess",
    "multiprocessing",
    "concurrent",
    "picows",
    "websockets",
    "uvloop",
}
#: Layers above the sans-I/O core.
BANNED_KSPS = {"ksps.server", "ksps.client", "ksps.cli", "ksps.testing"}

MODULES = sorted(path for layer in ("protocol", "broker") for path in (SRC / layer).glob("*.py"))


def imported_modules(path: Path) -> set[str]:
    package = "ksps." + path.parent.name
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
                names.add(module)
                names.update(f"{module}.{alias.name}" for alias in node.names)
            else:
                names.add(node.module or "")
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            names.add("__import__")
    return names


def test_the_layers_have_modules() -> None:
    assert {path.parent.name for path in MODULES} == {"protocol", "broker"}
    assert len(MODULES) >= 8


@pytest.mark.parametrize("path", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_io_imports(path: Path) -> None:
    imported = imported_modules(path)
    assert "__import__" not in imported
    io = {name for name in imported if name.split(".")[0] in BANNED}
    assert not io, f"{path.parent.name}/{path.name} imports {io}"
    upward = {name for name in imported if any(name == b or name.startswith(b + ".") for b in BANNED_KSPS)}
    assert not upward, f"{path.parent.name}/{path.name} imports {upward}"


def test_the_checker_sees_imports() -> None:
    """The test above can fail: a module importing asyncio, even lazily, is caught."""
    sample = SRC / "server" / "connection.py"
    assert "asyncio" in imported_modules(sample)
    assert "ksps.protocol" in imported_modules(sample)
