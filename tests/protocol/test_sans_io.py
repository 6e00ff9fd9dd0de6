"""`ksps.protocol`, `ksps.broker` and the client core `ksps.client.core` stay sans-I/O: no event loop, sockets or
threads (docs/architecture.md, "Layers"). The client core also reads no clock and draws no random numbers of
its own: time and jitter are inputs, so its trace vectors (spec/traces/) are deterministic.

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
#: The client core is driven by the asyncio client, and must not reach up into it (nor into the server).
BANNED_KSPS_CORE = {"ksps.server", "ksps.broker", "ksps.cli", "ksps.testing"}
#: What the client core must take as inputs instead.
BANNED_CORE = {"time", "random", "datetime"}

LAYERS = ("protocol", "broker", "client/core")
MODULES = sorted(path for layer in LAYERS for path in (SRC / layer).glob("*.py"))
CORE = SRC / "client" / "core"


def imported_modules(path: Path) -> set[str]:
    package = ".".join(("ksps", *path.parent.relative_to(SRC).parts))
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
    assert {path.parent.name for path in MODULES} == {"protocol", "broker", "core"}
    assert len([path for path in MODULES if path.parent == CORE]) >= 8


def _within(name: str, packages: set[str]) -> bool:
    return any(name == package or name.startswith(package + ".") for package in packages)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_io_imports(path: Path) -> None:
    where = path.relative_to(SRC)
    imported = imported_modules(path)
    assert "__import__" not in imported
    core = path.parent == CORE
    banned = BANNED | BANNED_CORE if core else BANNED
    io = {name for name in imported if name.split(".")[0] in banned}
    assert not io, f"{where} imports {io}"
    if core:
        upward = {name for name in imported if _within(name, BANNED_KSPS_CORE)}
        client = {name for name in imported if _within(name, {"ksps.client"})}
        upward |= {name for name in client if not _within(name, {"ksps.client.core"})}
    else:
        upward = {name for name in imported if _within(name, BANNED_KSPS)}
    assert not upward, f"{where} imports {upward}"


def test_the_checker_sees_imports() -> None:
    """The test above can fail: a module importing asyncio, even lazily, is caught."""
    sample = SRC / "server" / "connection.py"
    assert "asyncio" in imported_modules(sample)
    assert "ksps.protocol" in imported_modules(sample)
    driver = SRC / "client" / "_driver.py"
    assert "ksps.client.core" in imported_modules(driver)
    assert "asyncio" in imported_modules(driver)
