"""The traps of issue 14 in the Python client, each pinned by a test that fails on the code before the fix.

They use the original PascalCase spelling on purpose: code written for the seed must now behave.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from ksps.client import ServerErrorReply, Unsubscriber
from ksps.testing import RestartableServer, free_port

from .conftest import UNIT, Hooks, NewClient, next_item, within


async def test_is_complete_is_a_plain_bool_while_pending(new_client: NewClient) -> None:
    """`if ack.IsComplete():` was always true: IsComplete was a coroutine (a truthy object)."""
    release = asyncio.Event()

    async def slow(message: dict[str, Any], unsub: Unsubscriber) -> None:
        await release.wait()

    a, b = await new_client(Id="A"), await new_client(Id="B")
    await a.Subscribe("slow", slow)
    ack = await b.PublishWithAck("slow", "x", 5)
    if ack.IsComplete():
        pytest.fail("IsComplete() is true for a request nobody answered yet")
    assert ack.GetStatus() == {}
    release.set()
    assert list(await within(ack.Wait())) == ["A"]
    assert ack.IsComplete() is True


async def test_publish_with_a_non_string_topic_is_a_type_error(new_client: NewClient) -> None:
    """`await client.Publish(5, 1)` raised AttributeError ('int' object has no attribute 'startswith')."""
    a = await new_client(Id="A")
    with pytest.raises(TypeError, match="topic must be a str, got int"):
        await a.Publish(5, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="topic must be a str"):
        await a.Subscribe(None, lambda message, unsub: None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="target ID must be a str"):
        await a.PublishToID(7, 1)  # type: ignore[arg-type]


async def test_refused_subscribe_raises(new_client: NewClient) -> None:
    """`await client.Subscribe("y" * 300, cb)` returned normally though the server refused the topic: the
    server's length-limit errors did not carry the request's rid (spec §11.1), so the client waited out
    ConnectTimeout."""
    a = await new_client(Id="A")
    with pytest.raises(ServerErrorReply, match="topic too long"):
        await within(a.Subscribe("y" * 300, lambda message, unsub: None), 2 * UNIT)


async def test_own_close_does_not_call_on_disconnect(new_client: NewClient) -> None:
    """OnDisconnect was called with (None, None) when the application itself closed the client."""
    hooks = Hooks()
    a = await new_client(Id="A", **hooks.options())
    await next_item(hooks.connects)
    await a.Close()
    await next_item(hooks.closes)
    assert hooks.disconnects.empty()


async def test_is_connected(server: RestartableServer, new_client: NewClient) -> None:
    """IsConnected did not exist in Python (JS and Go have it)."""
    hooks = Hooks()
    a = await new_client(Id="A", **hooks.options())
    await next_item(hooks.connects)
    assert a.IsConnected() is True and a.is_connected() is True
    await server.stop()
    await next_item(hooks.disconnects)
    assert a.IsConnected() is False
    await server.start()
    await next_item(hooks.connects)
    assert a.IsConnected() is True


RECONNECT_SCRIPT = """
import asyncio
from ksps.client import Client

async def main():
    errors = asyncio.Queue()
    client = await Client.NewClient(
        Address="127.0.0.1:{port}", Id="noisy", Autorestart=True, ReconnectInitialDelay=0.01,
        ReconnectMaxDelay=0.02, OnError=errors.put_nowait,
    )
    for _ in range(3):
        error = await asyncio.wait_for(errors.get(), {timeout})
        print(type(error).__name__)
    await client.Close()

asyncio.run(main())
"""


def test_reconnect_noise_goes_to_on_error_not_stderr() -> None:
    """Each failed attempt was also logged through logging's last-resort handler: stderr noise with OnError set."""
    script = textwrap.dedent(RECONNECT_SCRIPT).format(port=free_port(), timeout=5 * UNIT)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30 * UNIT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ConnectionFailed"] * 3
    assert done.stderr == ""


IMPORT_SCRIPT = """
import sys
import ksps.client
server = sorted(m for m in sys.modules if m.split(".")[:2] in (["ksps", "server"], ["ksps", "broker"],
                ["ksps", "cluster"], ["ksps", "cli"], ["ksps", "commands"]))
print(" ".join(server) or "none")
"""


def test_importing_the_client_loads_no_server_code() -> None:
    """`import ksps.client` loaded the server, the broker and their dependencies (through `ksps/__init__`)."""
    done = subprocess.run([sys.executable, "-c", IMPORT_SCRIPT], capture_output=True, text=True, timeout=30 * UNIT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "none"
