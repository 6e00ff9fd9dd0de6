"""The Python client example (the project brief's, and README.md's when it has one) runs as shown."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

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


@pytest.mark.parametrize("example", _examples(), ids=lambda text: "readme" if text != BRIEF_EXAMPLE else "brief")
async def test_example_runs(server: RestartableServer, tmp_path: Path, example: str) -> None:
    script = tmp_path / "example.py"
    script.write_text(example.replace("localhost:9313", server.address))
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(script), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 20 * UNIT)
    assert process.returncode == 0, stderr.decode()
    output = stdout.decode()
    assert "Got: {'data': " in output  # the callback ran
    if example is BRIEF_EXAMPLE:
        assert "Got: {'data': 'From Python!', 'from': 'client_" in output
        assert "Acknowledged by: ['client_" in output
