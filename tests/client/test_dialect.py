"""One Python dialect (issue 14): snake_case is the API, the KSPS PascalCase names come from one table per class."""

from __future__ import annotations

import pydoc
from typing import Any

import pytest

from ksps.client import KSPS_OPTION_NAMES, Client, ClientAck, ClientOptions, Unsubscriber
from ksps.testing import RestartableServer

from .conftest import UNIT, next_item, within


def test_pascal_case_names_are_the_snake_case_objects() -> None:
    for alias, target in Client.KSPS_NAMES.items():
        assert getattr(Client, alias) == getattr(Client, target), alias
    assert ClientAck.IsComplete is ClientAck.is_complete and ClientAck.FetchStatus is ClientAck.fetch_status
    assert Unsubscriber.Unsubscribe is Unsubscriber.unsubscribe


def test_help_and_dir_show_one_name_per_verb() -> None:
    names = dir(Client)
    assert "publish" in names and "Publish" not in names and "NewClient" not in names
    assert "IsComplete" not in dir(ClientAck)
    text = pydoc.render_doc(Client, renderer=pydoc.plaintext)
    assert "NewClient(" not in text
    assert "Publish(" not in text
    assert "publish_with_ack(" in text


def test_a_subclass_override_is_what_the_alias_calls() -> None:
    class Mine(Client):
        async def publish(self, topic: str, data: Any) -> None:
            raise NotImplementedError

    assert Mine.Publish is Mine.publish


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError):
        Client.new_client  # noqa: B018 - the removed duplicate spelling
    with pytest.raises(AttributeError):
        Client.Stop  # noqa: B018


def test_options_accept_both_spellings_through_one_table() -> None:
    snake = ClientOptions.from_kwargs({"address": "h:1", "id": "a", "offline_queue_size": 5})
    pascal = ClientOptions.from_kwargs({"Address": "h:1", "Id": "a", "OfflineQueueSize": 5})
    assert snake == pascal
    assert set(KSPS_OPTION_NAMES.values()) <= {field for field in ClientOptions.__dataclass_fields__}
    with pytest.raises(TypeError, match="unknown client option 'Adress'"):
        ClientOptions.from_kwargs({"Adress": "h:1"})
    with pytest.raises(TypeError, match="given twice"):
        ClientOptions.from_kwargs({"address": "h:1", "Address": "h:2"})


async def test_connect_snake_case_and_with_options(server: RestartableServer) -> None:
    received: list[Any] = []
    async with Client.connect(ClientOptions(address=server.address, id="opts")) as client:
        assert client.id == client.Id == client.ID == "opts" and client.is_connected()
        await client.subscribe("t", lambda message, unsub: received.append(message["data"]))
        ack = await client.publish_with_ack("t", "x", 5 * UNIT)
        assert list(await within(ack.wait())) == ["opts"]
        assert received == ["x"]
    assert client.closed
    with pytest.raises(TypeError, match="not both"):
        Client.connect(ClientOptions(address=server.address), id="x")


async def test_fetch_status_offline_is_not_connected(server: RestartableServer) -> None:
    from ksps.errors import NotConnected

    from .conftest import Hooks

    hooks = Hooks()
    client = await Client.connect(address=server.address, id="off", autorestart=True, **{
        "on_disconnect": lambda code, reason: hooks.disconnects.put_nowait((code, reason)),
    })
    try:
        await server.stop()
        await next_item(hooks.disconnects)
        ack = await client.publish_with_ack("t", "queued", 5 * UNIT)  # queued: not on any connection
        with pytest.raises(NotConnected):
            await ack.fetch_status()
        assert ack.get_status() == {} and not ack.is_complete()
        ack.cancel()
        assert await within(ack.wait()) == {}
    finally:
        await client.close()
