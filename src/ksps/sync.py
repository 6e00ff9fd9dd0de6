"""A blocking ksps client, for scripts, notebooks and Django/Flask workers.

    from ksps.sync import Client

    with Client.connect(address="localhost:9313") as client:
        client.subscribe("events", lambda message, unsub: print(message["data"]))
        client.publish("events", {"hello": "world"})
        ack = client.publish_with_ack("jobs", {"n": 1}, timeout=3.0)
        print(ack.wait())                   # {client_id: {"ack_id", "client_id", "success", "error"?}}

The verbs and options are the asyncio client's (`ksps.Client`, snake_case with the original KSPS spelling
through ``KSPS_NAMES``), without ``await``: each call blocks until the asyncio client's call returns.

Threading: each client runs its own event loop in its own daemon thread (``ksps-sync-<id>``). Callbacks
(subscriptions, `on_id`, `on_connect`, `on_error`, ...) run **on that thread**, one at a time: keep them short,
hand long work to your own threads or queue, and do not call this client's blocking methods from inside a
callback (that would wait on the very thread that must do the work: it raises RuntimeError instead; use the
`unsub` argument to end a subscription). Every method may be called from any other thread. `close()` (or
leaving the ``with`` block) closes the connection and ends the thread.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import Future
from typing import Any, ClassVar, TypeVar

from ._dialect import KspsSpelling
from .client import Callback
from .client import Client as AsyncClient
from .client import ClientAck as AsyncAck
from .protocol.history import HistoryPage, StreamPosition
from .protocol.presence import PresenceInfo

__all__ = ["Ack", "Client"]

T = TypeVar("T")


def _method(obj: object, *names: str) -> Callable[..., Any]:
    """The first of `names` that `obj` has.

    The asyncio client is being renamed to one snake_case dialect (issue 14); until both spellings are merged,
    this picks the new name when present and the old one otherwise.
    """
    for name in names:
        found = getattr(obj, name, None)
        if found is not None:
            return found  # type: ignore[no-any-return]
    raise AttributeError(f"{type(obj).__name__} has none of {names}")


async def _result(value: Any) -> Any:
    """`value`, awaited when it is awaitable (a handle's state methods are sync in the new API, async in the old)."""
    return await value if inspect.isawaitable(value) else value


class _LoopThread:
    """An event loop running forever in a daemon thread; coroutines are submitted from other threads."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def check_thread(self) -> None:
        """RuntimeError on the loop's own thread, where a blocking call would wait on itself."""
        if threading.current_thread() is self.thread:
            raise RuntimeError(
                "a blocking ksps.sync call from one of this client's callbacks would deadlock: "
                "callbacks run on the client's own thread (see the ksps.sync docstring)"
            )

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the loop and block until it is done; its exception is raised here."""
        try:
            self.check_thread()
        except RuntimeError:
            coroutine.close()
            raise
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result()

    def stop(self) -> None:
        """Cancel what still runs (calls blocked on it raise CancelledError), stop the loop, end the thread."""
        if self.loop.is_closed():
            return
        if threading.current_thread() is self.thread:
            self.loop.stop()
            return
        asyncio.run_coroutine_threadsafe(_cancel_the_rest(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


async def _cancel_the_rest() -> None:
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class Ack(KspsSpelling):
    """A blocking ack handle (spec §6), returned by `publish_with_ack` and `publish_to_id_with_ack`.

    Same rule as the asyncio handle: `is_complete`, `get_status` (last known state) and `cancel` answer at
    once; `wait`, `wait_any` and `fetch_status` (asks the server) block.
    """

    KSPS_NAMES: ClassVar[Mapping[str, str]] = {
        "Wait": "wait",
        "WaitAny": "wait_any",
        "GetStatus": "get_status",
        "IsComplete": "is_complete",
        "Cancel": "cancel",
        "FetchStatus": "fetch_status",
    }

    __slots__ = ("_handle", "_runner")

    def __init__(self, handle: AsyncAck, runner: _LoopThread) -> None:
        self._handle = handle
        self._runner = runner

    def _call(self, *names: str) -> Any:
        async def call() -> Any:
            return await _result(_method(self._handle, *names)())

        return self._runner.run(call())

    def wait(self) -> dict[str, Any]:
        """Every response, keyed by responder ID, once all arrived, the timeout passed, or `cancel` was called."""
        return dict(self._call("wait", "Wait"))

    def wait_any(self) -> tuple[Any, bool]:
        """The first response and True; or (None, False) if none comes before the request ends."""
        response, ok = self._call("wait_any", "WaitAny")
        return response, bool(ok)

    def is_complete(self) -> bool:
        """True when every expected responder answered (last known state)."""
        return bool(self._call("is_complete", "IsComplete"))

    def get_status(self) -> dict[str, bool]:
        """Responder ID -> whether it answered (last known state)."""
        return dict(self._call("get_status", "GetStatus"))

    def cancel(self) -> None:
        """End the handle now; pending `wait` calls return what arrived so far."""
        self._call("cancel", "Cancel")

    def fetch_status(self) -> dict[str, bool]:
        """Ask the server for the current status (`get_ack_status`, spec §6.5); NotConnected when offline."""
        return dict(self._call("fetch_status", "GetStatus"))


class Client(KspsSpelling):
    """A blocking ksps client: the asyncio :class:`ksps.Client` on its own thread. Create with `connect`."""

    KSPS_NAMES: ClassVar[Mapping[str, str]] = {
        "NewClient": "connect",
        "Id": "id",
        "ID": "id",
        "IsConnected": "is_connected",
        "Subscribe": "subscribe",
        "Unsubscribe": "unsubscribe",
        "Publish": "publish",
        "PublishToID": "publish_to_id",
        "PublishToId": "publish_to_id",
        "PublishToServer": "publish_to_server",
        "PublishWithAck": "publish_with_ack",
        "PublishToIDWithAck": "publish_to_id_with_ack",
        "PublishToIdWithAck": "publish_to_id_with_ack",
        "Close": "close",
        "Presence": "presence",
        "History": "history",
        "Position": "position",
    }

    __slots__ = ("_client", "_runner")

    def __init__(self, client: AsyncClient, runner: _LoopThread) -> None:
        """Use :meth:`connect`."""
        self._client = client
        self._runner = runner

    @classmethod
    def connect(cls, **options: Any) -> Client:
        """Connect a new client (the keywords of ``ksps.Client.connect``); blocks until connected.

        Raises ConnectionFailed when the first connection fails (unless `autorestart=True`) and AuthError when
        the server refuses the credentials; the client's thread is ended then.
        """
        runner = _LoopThread("ksps-sync")
        try:
            client = runner.run(_connect(options))
        except BaseException:
            runner.stop()
            raise
        runner.thread.name = f"ksps-sync-{client.id}"
        return cls(client, runner)

    @property
    def id(self) -> str:
        """The client's ID."""
        return self._client.id

    @property
    def closed(self) -> bool:
        """True once the client is closed for good."""
        return self._client.closed

    def is_connected(self) -> bool:
        """True while a connection is registered with the server."""
        found = _method(self._client, "is_connected", "connected")
        return bool(found() if callable(found) else found)

    def subscribe(
        self, topic: str, callback: Callback, *, join_leave: bool = False,
        since: StreamPosition | tuple[int, str] | None = None,
    ) -> Callable[[], None]:
        """Call `callback(message, unsub)` on the client's thread for every publication on `topic`.

        Blocks until the server confirmed the subscription; returns a function that ends it (from any thread).
        `join_leave=True` also reports the topic's members to the on_join/on_leave hooks (spec §15.3); `since`
        (a StreamPosition or `(offset, epoch)`) delivers the publications after it first (spec §14.3).
        """
        unsub = self._runner.run(self._client.subscribe(topic, callback, join_leave=join_leave, since=since))
        loop = self._runner.loop

        def unsubscribe() -> None:
            if threading.current_thread() is self._runner.thread:
                unsub()
            elif not loop.is_closed():
                loop.call_soon_threadsafe(unsub)

        return unsubscribe

    def presence(self, topic: str) -> PresenceInfo:
        """Who subscribes to `topic` on every node (spec §15.2); NotConnected while disconnected."""
        info: PresenceInfo = self._runner.run(self._client.presence(topic))
        return info

    def history(
        self, topic: str, *, since: StreamPosition | tuple[int, str] | None = None, limit: int | None = None,
        reverse: bool = False,
    ) -> HistoryPage:
        """The kept publications of `topic` and its stream position (spec §14.4); see ``ksps.Client.history``."""
        page: HistoryPage = self._runner.run(self._client.history(topic, since=since, limit=limit, reverse=reverse))
        return page

    def position(self, topic: str) -> StreamPosition | None:
        """The stream position reached on the subscribed `topic` (spec §14.2), or None; does not block."""
        return self._client.position(topic)

    def unsubscribe(self, topic: str) -> None:
        """End this client's subscription to `topic`."""
        self._runner.run(self._client.unsubscribe(topic))

    def publish(self, topic: str, data: Any) -> None:
        """Publish `data` (any JSON value) to `topic`; queued while disconnected."""
        self._runner.run(self._client.publish(topic, data))

    def publish_to_id(self, target_id: str, data: Any) -> None:
        """Send `data` to one client (or to a server's ID)."""
        self._runner.run(self._client.publish_to_id(target_id, data))

    def publish_to_server(self, address: str, data: Any, secure: bool = False) -> None:
        """Ask the connected server to relay `data` to the server at `address` (spec §8)."""
        self._runner.run(self._client.publish_to_server(address, data, secure))

    def publish_with_ack(self, topic: str, data: Any, timeout: float = 5.0) -> Ack:
        """Publish and follow the acknowledgements for up to `timeout` seconds; returns a blocking handle."""
        return Ack(self._runner.run(self._client.publish_with_ack(topic, data, timeout)), self._runner)

    def publish_to_id_with_ack(self, target_id: str, data: Any, timeout: float = 5.0) -> Ack:
        """Send `data` to one client and follow its acknowledgement; returns a blocking handle."""
        return Ack(self._runner.run(self._client.publish_to_id_with_ack(target_id, data, timeout)), self._runner)

    def close(self) -> None:
        """Close the connection for good and end the client's thread; idempotent."""
        runner = self._runner
        if runner.loop.is_closed():
            return
        runner.check_thread()
        try:
            runner.run(self._client.close())
        finally:
            runner.stop()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ksps.sync.Client id={self.id!r} closed={self.closed}>"


async def _connect(options: dict[str, Any]) -> AsyncClient:
    connecting = _method(AsyncClient, "connect", "NewClient")(**options)
    client: AsyncClient = await connecting
    return client
