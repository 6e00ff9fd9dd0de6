"""The Python client example (the project brief's, and README.md's when it has one) runs as shown."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest

from .conftest import UNIT, RestartableServer

ROOT = Path(__file__).resolve().parents[2]

BRIEF_EXAMPLE = '''
import asyncio
from ksps import Client

async def main():
    client = await Client.NewClient(Address="localhost:9313")
    await client.Subscribe("events", lambda data, unsub: print(f"Got: {data}"))
    ack = await client.PublishWithAck("events", "From Python!", 3.0)
    responses = await ack.Wait()
    print(f"Acknowledged by: {sorted(responses)}")
    await client.Close()

asyncio.run(main())
'''


def _examples() -> list[str]:
    readme = (ROOT / "README.md").read_text() if (ROOT / "README.md").exists() else ""
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    return [BRIEF_EXAMPLE, *(block for block in blocks if "Client.NewClient" in block)]


#: A made-up secret for the README's Tokens example.
EXAMPLE_SECRET = "readme-example-secret-0123456789abcdef"


def _example_id(text: str) -> str:
    return "brief" if text == BRIEF_EXAMPLE else "readme-tokens" if "KSPS_TOKEN" in text else "readme"


@pytest.mark.parametrize("example", _examples(), ids=_example_id)
async def test_example_runs(server: RestartableServer, tmp_path: Path, example: str) -> None:
    env = dict(os.environ)
    if "KSPS_TOKEN" in example:  # the Tokens example: a server that requires a token, and one for it
        server = RestartableServer(jwt_secret=EXAMPLE_SECRET)
        await server.start()
        env["KSPS_TOKEN"] = jwt.encode({"sub": "reader", "exp": time.time() + 60}, EXAMPLE_SECRET)
    script = tmp_path / "example.py"
    script.write_text(example.replace("localhost:9313", server.address))
    try:
        output = await _run(script, env)
    finally:
        if "KSPS_TOKEN" in example:
            await server.stop()
    assert "Got: {'data': " in output  # the callback ran
    if example is BRIEF_EXAMPLE:
        assert "Got: {'data': 'From Python!', 'from': 'client_" in output
        assert "Acknowledged by: ['client_" in output
    if "KSPS_TOKEN" in example:
        assert "Got: {'data': 'with a token', 'from': 'reader'}" in output  # the ID is the token's sub


async def _run(script: Path, env: dict[str, str]) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(script), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 20 * UNIT)
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()
