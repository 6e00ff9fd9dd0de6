"""Conformance adapter of the blocking Python client, `ksps.sync` (spec/conformance/ADAPTER.md).

Reads one JSON command per line on stdin and maps it one to one onto `ksps.sync.Client`. Commands run
concurrently, each in a worker thread (the blocking calls, such as `ack_wait`, must not hold up the others);
callbacks run on the client's own thread and emit their events from there.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from python_adapter import (  # the same library, errors and event shapes underneath
    describe,
    history_result,
    message_event,
    position_result,
    since_arg,
    subscribed_event,
    vocabulary_report,
)

from ksps.sync import Ack, Client

_out = threading.Lock()


def emit(obj: dict[str, Any]) -> None:
    """Write one JSON line to stdout at once, from any thread."""
    line = json.dumps(obj) + "\n"
    with _out:
        sys.stdout.write(line)
        sys.stdout.flush()


class Adapter:
    """At most one blocking client, and its ack handles by handle name."""

    def __init__(self) -> None:
        self.client: Client | None = None
        self.handles: dict[str, Ack] = {}
        self.on_id_behavior = "ok"
        self.on_id_error = ""
        self.commands: dict[str, Callable[..., dict[str, Any]]] = {
            name[4:]: getattr(self, name) for name in dir(self) if name.startswith("cmd_")
        }
        self._handles_lock = threading.Lock()

    def run(self) -> None:
        with ThreadPoolExecutor(max_workers=64, thread_name_prefix="adapter-cmd") as pool:
            pending = set()
            for line in sys.stdin:
                if line.strip():
                    pending.add(pool.submit(self.handle, json.loads(line)))
                    pending = {future for future in pending if not future.done()}
            wait(pending, timeout=0.5)  # let commands just sent finish; blocked waits end with the client
            if self.client is not None:
                self.client.close()

    def handle(self, command: dict[str, Any]) -> None:
        command_id = command.get("id")
        handler = self.commands.get(command.get("cmd", ""))
        if handler is None:
            emit({"id": command_id, "ok": False, "error": f"unknown command {command.get('cmd')!r}"})
            return
        try:
            result = handler(**command.get("args", {}))
        except Exception as exc:
            emit({"id": command_id, "ok": False, "error": f"{type(exc).__name__}: {exc}", **describe(exc)})
        else:
            emit({"id": command_id, "ok": True, "result": result})

    def need_client(self) -> Client:
        if self.client is None:
            raise RuntimeError("no client: send connect first")
        return self.client

    # -- commands ----------------------------------------------------------------------------------------

    def cmd_connect(
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
            "address": address,
            "path": path,
            "autorestart": autorestart,
            "on_id": self.on_id,
            "on_connect": lambda: emit({"event": "connected"}),
            "on_disconnect": lambda code, reason: emit({"event": "disconnected", "code": code, "reason": reason}),
            "on_error": lambda exc: emit({"event": "error", "message": str(exc), **describe(exc)}),
            # -- presence (spec/protocol.md §15)
            "on_join": lambda topic, client_id: emit({"event": "join", "topic": topic, "id": client_id}),
            "on_leave": lambda topic, client_id: emit({"event": "leave", "topic": topic, "id": client_id}),
            # -- history (spec/protocol.md §14)
            "on_subscribed": lambda topic, info: emit(subscribed_event(topic, info)),
        }
        if token:
            options["token"] = token
        if tokens:
            handed = iter(range(len(tokens)))
            options["get_token"] = lambda: tokens[next(handed, len(tokens) - 1)]
        if id:
            options["id"] = id
        if reconnect_initial_ms is not None:
            options["reconnect_initial_delay"] = reconnect_initial_ms / 1000
        if reconnect_max_ms is not None:
            options["reconnect_max_delay"] = reconnect_max_ms / 1000
        if offline_queue_size is not None:
            options["offline_queue_size"] = offline_queue_size
        self.client = Client.connect(**options)
        return {"id": self.client.id}

    def on_id(self, message: dict[str, Any]) -> None:
        emit({"event": "direct", "data": message["data"], "from": message["from"]})
        if self.on_id_behavior == "raise":
            raise RuntimeError(self.on_id_error)

    def cmd_set_on_id(self, behavior: str = "ok", error: str = "") -> dict[str, Any]:
        self.on_id_behavior, self.on_id_error = behavior, error
        return {}

    def cmd_subscribe(
        self, topic: str, behavior: str = "ok", error: str = "", since: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        def callback(message: dict[str, Any], unsub: Callable[[], object]) -> None:
            emit(message_event(topic, message))
            if behavior == "raise":
                raise RuntimeError(error)
            if behavior == "unsub":
                unsub()

        self.need_client().subscribe(topic, callback, since=since_arg(since))
        return {}

    # -- presence (spec/protocol.md §15)

    def cmd_subscribe_join_leave(self, topic: str) -> dict[str, Any]:
        def callback(message: dict[str, Any], unsub: Callable[[], object]) -> None:
            emit(message_event(topic, message))

        self.need_client().subscribe(topic, callback, join_leave=True)
        return {}

    def cmd_presence(self, topic: str) -> dict[str, Any]:
        info = self.need_client().presence(topic)
        return {"count": info.count, "ids": info.ids, "truncated": info.truncated}

    # -- history (spec/protocol.md §14)

    def cmd_history(
        self, topic: str, since: dict[str, Any] | None = None, limit: int | None = None, reverse: bool = False
    ) -> dict[str, Any]:
        return history_result(self.need_client().history(topic, since=since_arg(since), limit=limit, reverse=reverse))

    def cmd_position(self, topic: str) -> dict[str, Any]:
        return position_result(self.need_client().position(topic))

    def cmd_unsubscribe(self, topic: str) -> dict[str, Any]:
        self.need_client().unsubscribe(topic)
        return {}

    def cmd_publish(self, topic: str, data: Any = None) -> dict[str, Any]:
        self.need_client().publish(topic, data)
        return {}

    def cmd_publish_to_id(self, to: str, data: Any = None) -> dict[str, Any]:
        self.need_client().publish_to_id(to, data)
        return {}

    def cmd_publish_to_server(self, addr: str, data: Any = None) -> dict[str, Any]:
        self.need_client().publish_to_server(addr, data)
        return {}

    def cmd_publish_with_ack(self, topic: str, data: Any = None, timeout_ms: float = 5000) -> dict[str, Any]:
        return self.keep(self.need_client().publish_with_ack(topic, data, timeout_ms / 1000))

    def cmd_publish_to_id_with_ack(self, to: str, data: Any = None, timeout_ms: float = 5000) -> dict[str, Any]:
        return self.keep(self.need_client().publish_to_id_with_ack(to, data, timeout_ms / 1000))

    def keep(self, handle: Ack) -> dict[str, Any]:
        with self._handles_lock:
            name = f"h{len(self.handles) + 1}"
            self.handles[name] = handle
        return {"handle": name}

    def cmd_ack_wait(self, handle: str) -> dict[str, Any]:
        return {"responses": {k: dict(v) for k, v in self.handles[handle].wait().items()}}

    def cmd_ack_wait_any(self, handle: str) -> dict[str, Any]:
        response, ok = self.handles[handle].wait_any()
        return {"response": None if response is None else dict(response), "ok": ok}

    def cmd_ack_status(self, handle: str) -> dict[str, Any]:
        return {"status": self.handles[handle].get_status()}

    def cmd_ack_fetch_status(self, handle: str) -> dict[str, Any]:
        return {"status": self.handles[handle].fetch_status()}

    def cmd_ack_is_complete(self, handle: str) -> dict[str, Any]:
        return {"complete": self.handles[handle].is_complete()}

    def cmd_ack_cancel(self, handle: str) -> dict[str, Any]:
        self.handles[handle].cancel()
        return {}

    def cmd_vocabulary(self) -> dict[str, Any]:
        return {**vocabulary_report(), "language": "python-sync"}

    def cmd_close(self) -> dict[str, Any]:
        self.need_client().close()
        return {}


if __name__ == "__main__":
    Adapter().run()
