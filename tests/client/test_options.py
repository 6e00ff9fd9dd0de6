"""Client options: both keyword spellings, defaults, validation."""

from __future__ import annotations

import pytest

from ksps.client import ClientOptions


def test_pascal_and_snake_case_spellings() -> None:
    pascal = ClientOptions.from_kwargs(
        {"Address": "h:1", "Id": "A", "Autorestart": True, "OfflineQueueSize": 5, "KeepaliveInterval": 3.0}
    )
    snake = ClientOptions.from_kwargs(
        {"address": "h:1", "id": "A", "autorestart": True, "offline_queue_size": 5, "keepalive_interval": 3.0}
    )
    assert pascal == snake
    assert pascal.url() == "ws://h:1/ws/bus"
    assert ClientOptions.from_kwargs({"Address": "h:1", "Secure": True, "Path": "/p?t=1"}).url() == "wss://h:1/p?t=1"
    assert ClientOptions.from_kwargs({"Address": "h:1", "OnID": print}).on_id is print
    assert ClientOptions.from_kwargs({"Address": "h:1", "RestartEvery": 2.0}).reconnect_initial_delay == 2.0


def test_defaults() -> None:
    options = ClientOptions.from_kwargs({"Address": "h:1"})
    assert options.id.startswith("client_")
    assert (options.path, options.secure, options.autorestart, options.reconnect) == ("/ws/bus", False, False, True)
    assert (options.offline_queue_size, options.offline_queue_policy) == (1024, "drop_oldest")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({}, TypeError),
        ({"Address": "h:1", "Adress": "typo"}, TypeError),
        ({"Address": "h:1", "OfflineQueuePolicy": "block"}, ValueError),
        ({"Address": "h:1", "OfflineQueueSize": -1}, ValueError),
        ({"Address": "h:1", "ReconnectFactor": 0.5}, ValueError),
        ({"Address": "h:1", "ConnectTimeout": 0}, ValueError),
    ],
)
def test_bad_options(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        ClientOptions.from_kwargs(kwargs)
