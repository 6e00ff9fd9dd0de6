"""The original Python client (PyPI `ksps==1.0.0`) against a server that requires tokens (spec §10.3).

It cannot send `ping.token`, but a `?token=` in its `Path` option reaches the upgrade: documented in
docs/security.md as the way to use the original clients with authentication on.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from .conftest import StartServer
from .test_original_client import original_python  # noqa: F401  (the session fixture)
from .tokens import SECRET, hs256
from .wire import UNIT, units

DRIVER = Path(__file__).with_name("original_client_token_driver.py")


async def test_original_client_with_a_token_in_the_url(original_python: Path, start_server: StartServer) -> None:  # noqa: F811
    server = await start_server(jwt_secret=SECRET)
    good, bad = hs256("alice"), hs256("alice", expires_in=-60)
    process = await asyncio.create_subprocess_exec(
        str(original_python),
        str(DRIVER),
        f"127.0.0.1:{server.port}",
        good,
        bad,
        str(UNIT),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=DRIVER.parent.parent,
    )
    assert process.stdout is not None and process.stderr is not None
    events: dict[str, dict[str, Any]] = {}
    try:
        async with asyncio.timeout(units(30)):
            while line := await process.stdout.readline():
                if line.startswith(b"{"):  # the original prints banners on import
                    event = json.loads(line)
                    events[event["event"]] = event
            await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    stderr = (await process.stderr.read()).decode(errors="replace")
    assert process.returncode == 0, stderr
    assert events["registered"]["id"] == "alice"
    assert events["refused"] == {"event": "refused", "error": "InvalidStatus", "status": 401}
    assert "done" in events
