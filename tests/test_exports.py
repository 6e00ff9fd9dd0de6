"""The public surface of `ksps`, pinned (in the manner of websockets' tests/test_exports.py).

A name added to or removed from `ksps`, `ksps.Server`, `ksps.ServerConfig` or a server ack handle is an API
change: this test fails until the lists below (and the CHANGELOG) say so. `ksps.Client` is pinned in
tests/client. The lazy imports are checked in fresh interpreters: `import ksps.client` must not load the
server, and `import ksps` loads neither side.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import subprocess
import sys

import ksps
import ksps.server
from ksps import Server, ServerConfig
from ksps.server import Ack

#: Everything `from ksps import *` gives, and all that `dir(ksps)` shows besides dunders.
KSPS_EXPORTS = {
    "Ack",
    "AuthError",
    "CallbackError",
    "Client",
    "ClientAck",
    "ClientClosed",
    "ConfigError",
    "ConnectionFailed",
    "ConnectionReplaced",
    "Identity",
    "KspsError",
    "ListenError",
    "Middleware",
    "Next",
    "NotConnected",
    "OfflineQueueFull",
    "ProtocolError",
    "Reject",
    "Server",
    "ServerConfig",
    "UpgradeRequest",
}

#: The public attributes of `Server`: lifecycle, hooks, verbs, read-only facts, and the alias table.
SERVER_API = {
    # lifecycle
    "run",
    "start",
    "stop",
    "serve_forever",
    # hooks
    "on_upgrade_ws",
    "use",
    "authorize",
    "on_id",
    "on_server_data",
    # verbs
    "subscribe",
    "unsubscribe",
    "publish",
    "publish_to_id",
    "publish_with_ack",
    "publish_to_id_with_ack",
    "publish_to_server",
    "count_clients",
    "count_subscribers",
    "presence",
    "history",
    # facts
    "id",
    "config",
    "port",
    "url",
    "urls",
    "metrics_port",
    "ready",
    # the original KSPS spelling (src/ksps/_dialect.py)
    "KSPS_NAMES",
}

#: The original KSPS names of the server and what they stand for.
SERVER_KSPS_NAMES = {
    "ID": "id",
    "Id": "id",
    "Run": "run",
    "OnUpgradeWS": "on_upgrade_ws",
    "Use": "use",
    "Authorize": "authorize",
    "OnID": "on_id",
    "OnId": "on_id",
    "OnServerData": "on_server_data",
    "Subscribe": "subscribe",
    "Unsubscribe": "unsubscribe",
    "Publish": "publish",
    "PublishToID": "publish_to_id",
    "PublishToId": "publish_to_id",
    "PublishWithAck": "publish_with_ack",
    "PublishToIDWithAck": "publish_to_id_with_ack",
    "PublishToIdWithAck": "publish_to_id_with_ack",
    "PublishToServer": "publish_to_server",
    "CountClients": "count_clients",
    "CountSubscribers": "count_subscribers",
    "Presence": "presence",
    "History": "history",
}

#: The fields of `ServerConfig` (each a keyword of `Server(...)`, a `ksps serve` flag, a `KSPS_*` variable).
SERVER_CONFIG_FIELDS = {
    "history",
    "history_max_bytes",
    "history_max_topics",
    "history_outage_max_bytes",
    "history_recover_max",
    "history_size",
    "history_ttl",
    "address",
    "admin_token",
    "allowed_hosts",
    "allowed_origins",
    "anonymous",
    "cluster_heartbeat",
    "cluster_node_timeout",
    "default_ack_timeout",
    "default_permissions",
    "frame_burst",
    "handshake_timeout",
    "id_takeover",
    "jwt_audience",
    "jwt_issuer",
    "jwt_jwks",
    "jwt_leeway",
    "jwt_public_key",
    "jwt_secret",
    "keepalive_interval",
    "keepalive_timeout",
    "max_ack_timeout",
    "max_connections",
    "max_connections_per_address",
    "max_control_frames_per_second",
    "max_frames_per_second",
    "max_id_bytes",
    "max_message_fragments",
    "max_message_size",
    "max_output_buffer",
    "max_pending_acks",
    "max_pending_acks_per_connection",
    "max_relays",
    "max_relays_per_client",
    "max_send_queue",
    "max_topic_bytes",
    "max_topics_per_connection",
    "metrics",
    "metrics_address",
    "path",
    "peer_clock_window",
    "peer_secret",
    "peers",
    "public_addresses",
    "redis_prefix",
    "redis_url",
    "register_timeout",
    "relay_any_address",
    "relay_timeout",
    "reuse_port",
    "serve_client_bundle",
    "server_id",
    "shutdown_grace",
    "ssl_context",
    "tls_cert",
    "tls_key",
    "trusted_proxies",
}
#: Its methods and derived properties.
SERVER_CONFIG_METHODS = {"make_ssl_context", "secure", "split_address", "validate"}

#: The server's ack handle: the contract's ack-handle rule (sync state, async waits).
ACK_API = {"wait", "wait_any", "is_complete", "get_status", "cancel", "fetch_status", "KSPS_NAMES"}
ACK_SYNC = {"is_complete", "get_status", "cancel"}
ACK_ASYNC = {"wait", "wait_any", "fetch_status"}


def public(names: list[str]) -> set[str]:
    return {name for name in names if not name.startswith("_")}


def test_ksps_all_is_the_pinned_surface() -> None:
    assert set(ksps.__all__) == KSPS_EXPORTS | {"__version__"}
    assert public(dir(ksps)) == KSPS_EXPORTS


def test_every_ksps_export_resolves() -> None:
    for name in ksps.__all__:
        assert getattr(ksps, name) is not None, name
    assert ksps.Server is Server and ksps.ServerConfig is ServerConfig and ksps.Ack is Ack


def test_server_public_attributes_are_the_pinned_api() -> None:
    assert public(dir(Server)) == SERVER_API
    assert dict(Server.KSPS_NAMES) == SERVER_KSPS_NAMES


def test_server_instance_shows_no_internals() -> None:
    # The broker, the connections and the routers are internal: not attributes of a Server (issue 14).
    server = Server(address="127.0.0.1:0")
    assert public(dir(server)) == SERVER_API
    for internal in ("broker", "handler", "router", "connections", "loop", "outbox", "relayer", "observer"):
        assert not hasattr(server, internal), internal


def test_server_ksps_names_resolve_to_the_snake_case_api() -> None:
    server = Server(address="127.0.0.1:0")
    for alias, target in SERVER_KSPS_NAMES.items():
        assert getattr(server, alias) == getattr(server, target), alias


def test_server_config_is_the_pinned_surface() -> None:
    assert {field.name for field in dataclasses.fields(ServerConfig)} == SERVER_CONFIG_FIELDS
    assert set(inspect.signature(ServerConfig).parameters) == SERVER_CONFIG_FIELDS
    assert public(dir(ServerConfig)) == SERVER_CONFIG_FIELDS | SERVER_CONFIG_METHODS


def test_server_ack_follows_the_ack_handle_rule() -> None:
    assert public(dir(Ack)) == ACK_API
    for name in ACK_SYNC:
        assert not inspect.iscoroutinefunction(getattr(Ack, name)), name
    for name in ACK_ASYNC:
        assert inspect.iscoroutinefunction(getattr(Ack, name)), name
    assert {alias: target for alias, target in Ack.KSPS_NAMES.items()} == {
        "Wait": "wait",
        "WaitAny": "wait_any",
        "GetStatus": "get_status",
        "IsComplete": "is_complete",
        "Cancel": "cancel",
        "FetchStatus": "fetch_status",
    }


def loaded_after(statement: str) -> set[str]:
    """The ksps and picows modules a fresh interpreter has loaded after running `statement`."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return {name for name in json.loads(done.stdout) if name.startswith(("ksps", "picows"))}


SERVER_SIDE = ("ksps.server", "ksps.broker", "ksps.cluster")


def test_import_ksps_loads_neither_server_nor_client() -> None:
    assert loaded_after("import ksps") == {"ksps", "ksps.errors"}


def test_import_ksps_client_loads_no_server_code() -> None:
    modules = loaded_after("import ksps.client")
    assert "ksps.client" in modules
    assert not [name for name in modules if name.startswith(SERVER_SIDE)], sorted(modules)


def test_from_ksps_import_client_loads_no_server_code() -> None:
    modules = loaded_after("from ksps import Client")
    assert not [name for name in modules if name.startswith(SERVER_SIDE)], sorted(modules)


def test_the_cli_does_not_load_the_server_to_print_its_help() -> None:
    # `ksps --help` and `ksps version` start fast: the server, the broker and JWT load only for `ksps serve`.
    modules = loaded_after("import ksps.cli")
    assert not [name for name in modules if name.startswith(("ksps.server.server", "ksps.broker"))], sorted(modules)


def test_from_ksps_import_server_still_works() -> None:
    modules = loaded_after("from ksps import Client, Server")
    assert {"ksps.server.server", "ksps.client"} <= modules


#: The blocking client (`ksps.sync`): the asyncio client's verbs without `await`.
SYNC_CLIENT_API = {
    "connect",
    "id",
    "closed",
    "is_connected",
    "subscribe",
    "unsubscribe",
    "publish",
    "publish_to_id",
    "publish_to_server",
    "publish_with_ack",
    "publish_to_id_with_ack",
    "close",
    "presence",
    "history",
    "position",
    "KSPS_NAMES",
}


def test_sync_client_surface_is_pinned_and_loads_no_server_code() -> None:
    import ksps.sync

    assert set(ksps.sync.__all__) == {"Ack", "Client"}
    assert public(dir(ksps.sync.Client)) == SYNC_CLIENT_API
    assert public(dir(ksps.sync.Ack)) == ACK_API
    modules = loaded_after("import ksps.sync")
    assert not [name for name in modules if name.startswith(SERVER_SIDE)], sorted(modules)


def test_one_ack_response_type_for_the_server_and_the_client() -> None:
    """The server's `Ack` and the client's `ClientAck` give the same `AckResponse` (issue 14: there were two
    types of that name, a msgspec Struct on the server and a TypedDict in the client)."""
    import typing

    import ksps.client
    import ksps.protocol
    from ksps.server.ack import Ack

    assert ksps.client.AckResponse is ksps.protocol.AckResponse
    hints = typing.get_type_hints(Ack.wait)
    assert hints["return"] == dict[str, ksps.protocol.AckResponse]


def test_one_history_page_and_stream_position_for_the_server_and_the_client() -> None:
    """`Server.history` and `Client.history` return the same `HistoryPage`; `StreamPosition` is a tuple, so
    both take `(offset, epoch)` (issue 12)."""
    import typing

    import ksps.client
    import ksps.protocol
    import ksps.server.history

    assert ksps.client.HistoryPage is ksps.protocol.HistoryPage is ksps.server.history.HistoryPage
    assert ksps.client.StreamPosition is ksps.protocol.StreamPosition
    assert ksps.protocol.StreamPosition(7, "e") == (7, "e")
    assert typing.get_type_hints(Server.history)["return"] is ksps.protocol.HistoryPage
    assert typing.get_type_hints(ksps.client.Client.history)["return"] is ksps.protocol.HistoryPage
