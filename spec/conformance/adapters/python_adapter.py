"""Conformance adapter of the Python client (spec/conformance/ADAPTER.md).

Reads one JSON command per line on stdin, maps it one to one onto `ksps.client.Client`, and writes replies
and events as JSON lines on stdout. Commands run concurrently, each in its own task.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import sys
import tomllib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import ksps.client
import ksps.errors
from ksps.client import (
    Client,
    ClientAck,
    HistoryPage,
    Message,
    ServerErrorReply,
    StreamPosition,
    SubscriptionInfo,
    Unsubscriber,
)
from ksps.errors import AuthError, KspsError
from ksps.protocol import CloseCodes, actions

VOCABULARY = Path(__file__).resolve().parents[2] / "vocabulary.toml"


def describe(exc: BaseException) -> dict[str, Any]:
    """`error_type` (the class name, spelled as in spec/vocabulary.toml) and, when the error or one it wraps
    has them, `code`, `topic`, `rid` (ADAPTER.md)."""
    fields: dict[str, Any] = {"error_type": type(exc).__name__}
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, AuthError):
            fields["code"] = cause.code
            break
        if isinstance(cause, ServerErrorReply):
            fields.update(code=cause.code, topic=cause.topic, rid=cause.rid)
            break
        cause = cause.__cause__
    return fields


def emit(obj: dict[str, Any]) -> None:
    """Write one JSON line to stdout at once (the runner parses stdout line by line)."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def message_event(topic: str, message: Message) -> dict[str, Any]:
    """The `message` event of a delivery: `offset` too when the message has one (a topic with history)."""
    event = {"event": "message", "topic": topic, "data": message["data"], "from": message["from"]}
    if "offset" in message:
        event["offset"] = message["offset"]
    return event


def subscribed_event(topic: str, info: SubscriptionInfo) -> dict[str, Any]:
    """The `subscribed` event of the OnSubscribed hook (spec/protocol.md §14.3)."""
    event: dict[str, Any] = {
        "event": "subscribed", "topic": topic, "recovering": info.recovering, "recovered": info.recovered,
    }
    if info.position is not None:
        event["offset"], event["epoch"] = info.position
    return event


def since_arg(since: dict[str, Any] | None) -> StreamPosition | None:
    """The `since` argument (`{"offset", "epoch"}`) as the client takes it."""
    return None if since is None else StreamPosition(since["offset"], since["epoch"])


def history_result(page: HistoryPage) -> dict[str, Any]:
    """The result of the `history` command."""
    return {"publications": page.publications, "offset": page.offset, "epoch": page.epoch}


def position_result(position: StreamPosition | None) -> dict[str, Any]:
    """The result of the `position` command."""
    return {"position": None if position is None else {"offset": position.offset, "epoch": position.epoch}}


def vocabulary_report() -> dict[str, Any]:
    """What the library really uses: its option defaults (durations in ms), close codes, actions and
    error classes with their parents (ADAPTER.md, scenario vocabulary.constants)."""
    with VOCABULARY.open("rb") as file:
        units = {option["name"]: option["unit"] for option in tomllib.load(file)["options"]}
    defaults: dict[str, Any] = {}
    for field in dataclasses.fields(ksps.client.ClientOptions):
        if field.default is not dataclasses.MISSING and not callable(field.default) and field.name in units:
            value = field.default
            defaults[field.name] = round(value * 1000) if units[field.name] == "ms" else value
    timeout = inspect.signature(Client.PublishWithAck).parameters["timeout"].default
    defaults["ack_timeout"] = round(timeout * 1000)
    classes = {
        name: cls.__mro__[1].__name__
        for module in (ksps.errors, ksps.client)
        for name, cls in vars(module).items()
        if isinstance(cls, type) and issubclass(cls, KspsError) and not name.startswith("_")
    }
    return {
        "language": "python",
        "client_defaults": defaults,
        "close_codes": {name.lower(): code for name, code in vars(CloseCodes).items() if name.isupper()},
        "actions": {name.lower(): wire for name, wire in vars(actions).items()
                    if name.isupper() and isinstance(wire, str) and name.lower() == wire.replace("-", "_")},
        "error_classes": classes,
    }


class Adapter:
    """The state of one adapter process: at most one client, and its ack handles by handle name."""

    def __init__(self) -> None:
        self.client: Client | None = None
        self.handles: dict[str, ClientAck] = {}
        self.on_id_behavior = "ok"
        self.on_id_error = ""
        self.commands: dict[str, Callable[..., Awaitable[dict[str, Any]]]] = {
            name[4:]: getattr(self, name) for name in dir(self) if name.startswith("cmd_")
        }

    # -- plumbing ----------------------------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        tasks: set[asyncio.Task[None]] = set()
        while line := await reader.readline():
            if not line.strip():
                continue
            task = asyncio.create_task(self.handle(json.loads(line)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:  # let commands that were just sent finish; blocked waits are cut short
            await asyncio.wait(tasks, timeout=0.5)
        for task in tasks:
            task.cancel()
        if self.client is not None:
            await asyncio.wait_for(self.client.Close(), 5)

    async def handle(self, command: dict[str, Any]) -> None:
        command_id = command.get("id")
        handler = self.commands.get(command.get("cmd", ""))
        if handler is None:
            emit({"id": command_id, "ok": False, "error": f"unknown command {command.get('cmd')!r}"})
            return
        try:
            result = await handler(**command.get("args", {}))
        except Exception as exc:
            emit({"id": command_id, "ok": False, "error": f"{type(exc).__name__}: {exc}", **describe(exc)})
        else:
            emit({"id": command_id, "ok": True, "result": result})

    def need_client(self) -> Client:
        if self.client is None:
            raise RuntimeError("no client: send connect first")
        return self.client

    # -- commands ----------------------------------------------------------------------------------------

    async def cmd_connect(
        self,
        address: str,
        path: str = "/ws/bus",
        id: str | None = None,
        autorestart: bool = False,
        reconnect_initial_ms: float | None = None,
        reconnect_max_ms: float | None = None,
        offline_queue_size: int | None = None,
        token: str | None = None,
        tokens: list[str] | None = None,
        **_ignored: Any,
    ) -> dict[str, Any]:
        options: dict[str, Any] = {
            "Address": address,
            "Path": path,
            "Autorestart": autorestart,
            "OnId": self.on_id,
            "OnConnect": lambda: emit({"event": "connected"}),
            "OnDisconnect": lambda code, reason: emit({"event": "disconnected", "code": code, "reason": reason}),
            "OnError": lambda exc: emit({"event": "error", "message": str(exc), **describe(exc)}),
            # -- presence (spec/protocol.md §15)
            "OnJoin": lambda topic, client_id: emit({"event": "join", "topic": topic, "id": client_id}),
            "OnLeave": lambda topic, client_id: emit({"event": "leave", "topic": topic, "id": client_id}),
            # -- history (spec/protocol.md §14)
            "OnSubscribed": lambda topic, info: emit(subscribed_event(topic, info)),
        }
        if token:
            options["Token"] = token
        if tokens:
            handed = iter(range(len(tokens)))
            options["GetToken"] = lambda: tokens[next(handed, len(tokens) - 1)]
        if id:
            options["Id"] = id
        if reconnect_initial_ms is not None:
            options["ReconnectInitialDelay"] = reconnect_initial_ms / 1000
        if reconnect_max_ms is not None:
            options["ReconnectMaxDelay"] = reconnect_max_ms / 1000
        if offline_queue_size is not None:
            options["OfflineQueueSize"] = offline_queue_size
        self.client = await Client.NewClient(**options)
        return {"id": self.client.Id}

    def on_id(self, message: Message) -> None:
        emit({"event": "direct", "data": message["data"], "from": message["from"]})
        if self.on_id_behavior == "raise":
            raise RuntimeError(self.on_id_error)

    async def cmd_set_on_id(self, behavior: str = "ok", error: str = "") -> dict[str, Any]:
        self.on_id_behavior, self.on_id_error = behavior, error
        return {}

    async def cmd_subscribe(
        self, topic: str, behavior: str = "ok", error: str = "", since: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        def callback(message: Message, unsub: Unsubscriber) -> None:
            emit(message_event(topic, message))
            if behavior == "raise":
                raise RuntimeError(error)
            if behavior == "unsub":
                unsub()

        await self.need_client().Subscribe(topic, callback, since=since_arg(since))
        return {}

    # -- presence (spec/protocol.md §15)

    async def cmd_subscribe_join_leave(self, topic: str) -> dict[str, Any]:
        def callback(message: Message, unsub: Unsubscriber) -> None:
            emit(message_event(topic, message))

        await self.need_client().subscribe(topic, callback, join_leave=True)
        return {}

    async def cmd_presence(self, topic: str) -> dict[str, Any]:
        info = await self.need_client().presence(topic)
        return {"count": info.count, "ids": info.ids, "truncated": info.truncated}

    # -- history (spec/protocol.md §14)

    async def cmd_history(
        self, topic: str, since: dict[str, Any] | None = None, limit: int | None = None, reverse: bool = False
    ) -> dict[str, Any]:
        page = await self.need_client().History(topic, since=since_arg(since), limit=limit, reverse=reverse)
        return history_result(page)

    async def cmd_position(self, topic: str) -> dict[str, Any]:
        return position_result(self.need_client().Position(topic))

    async def cmd_unsubscribe(self, topic: str) -> dict[str, Any]:
        await self.need_client().Unsubscribe(topic)
        return {}

    async def cmd_publish(self, topic: str, data: Any = None) -> dict[str, Any]:
        await self.need_client().Publish(topic, data)
        return {}

    async def cmd_publish_to_id(self, to: str, data: Any = None) -> dict[str, Any]:
        await self.need_client().PublishToID(to, data)
        return {}

    async def cmd_publish_to_server(self, addr: str, data: Any = None) -> dict[str, Any]:
        await self.need_client().PublishToServer(addr, data)
        return {}

    async def cmd_publish_with_ack(self, topic: str, data: Any = None, timeout_ms: float = 5000) -> dict[str, Any]:
        return self.keep(await self.need_client().PublishWithAck(topic, data, timeout_ms / 1000))

    async def cmd_publish_to_id_with_ack(self, to: str, data: Any = None, timeout_ms: float = 5000) -> dict[str, Any]:
        return self.keep(await self.need_client().PublishToIDWithAck(to, data, timeout_ms / 1000))

    def keep(self, handle: ClientAck) -> dict[str, Any]:
        name = f"h{len(self.handles) + 1}"
        self.handles[name] = handle
        return {"handle": name}

    async def cmd_ack_wait(self, handle: str) -> dict[str, Any]:
        return {"responses": dict(await self.handles[handle].Wait())}

    async def cmd_ack_wait_any(self, handle: str) -> dict[str, Any]:
        response, ok = await self.handles[handle].WaitAny()
        return {"response": None if response is None else dict(response), "ok": ok}

    def sync(self, handle: str, method: str) -> Any:
        """Call a handle's method as user code does, without await: the vocabulary says it is synchronous."""
        result = getattr(self.handles[handle], method)()
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()
            raise TypeError(f"{method}() returned an awaitable: it must be synchronous (spec/vocabulary.toml)")
        return result

    async def cmd_ack_status(self, handle: str) -> dict[str, Any]:
        return {"status": dict(self.sync(handle, "GetStatus"))}

    async def cmd_ack_is_complete(self, handle: str) -> dict[str, Any]:
        return {"complete": bool(self.sync(handle, "IsComplete"))}

    async def cmd_ack_cancel(self, handle: str) -> dict[str, Any]:
        self.sync(handle, "Cancel")
        return {}

    async def cmd_ack_fetch_status(self, handle: str) -> dict[str, Any]:
        return {"status": dict(await self.handles[handle].FetchStatus())}

    async def cmd_vocabulary(self) -> dict[str, Any]:
        return vocabulary_report()

    async def cmd_close(self) -> dict[str, Any]:
        await self.need_client().Close()
        return {}


if __name__ == "__main__":
    asyncio.run(Adapter().run())
