"""Headless Chromium (Debian's package) for the tests that need a real browser: one way to start and stop it."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.server.wire import units

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Mark a test module with it: `pytestmark = requires_chromium`.
requires_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)"
)

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Plain http:// test pages must stay plain: no automatic upgrade to https://.
    "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable",
)


@contextlib.asynccontextmanager
async def headless_chromium(
    url: str, profile: Path, *flags: str, stderr: int = asyncio.subprocess.DEVNULL
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Chromium showing `url` with a fresh `profile` directory until the block ends; `flags` are added."""
    assert CHROMIUM is not None
    process = await asyncio.create_subprocess_exec(
        CHROMIUM, *_FLAGS, *flags, f"--user-data-dir={profile}", url,
        stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
    )  # fmt: skip
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), units(10))
        except TimeoutError:
            process.kill()
            await process.wait()
