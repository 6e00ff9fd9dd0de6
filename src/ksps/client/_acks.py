"""Handles of publications with acknowledgement, and the table of the ones still pending (spec §6)."""

from __future__ import annotations

import asyncio
import itertools
from typing import Protocol

from .core._codec import AckResponse

__all__ = ["ACK_GRACE", "AckOwner", "AckTable", "ClientAck"]

#: Seconds a handle waits beyond its timeout for the server's final `ack_response`, which the server
#: sends when the timeout expires (spec §6.2); after that the handle ends with what it has.
ACK_GRACE = 0.5


class AckOwner(Protocol):
    """What a handle needs from its client."""

    def forget(self, ack_id: str) -> None:
        """The handle ended: drop it from the pending table."""

    async def query_status(self, ack_id: str) -> dict[str, bool] | None:
        """`get_ack_status` on the server; None when not connected (spec §6.5)."""

    def cancel_on_server(self, ack_id: str) -> None:
        """`cancel_ack` on the server, when connected (spec §6.5)."""


class ClientAck:
    """The handle of one `PublishWithAck` / `PublishToIDWithAck`.

    Responses are kept as they arrive (`ack_progress`, then the final `ack_response`), so a response that
    came before :meth:`Wait` is not lost, and several waits see the same results. The handle ends when the
    server's final answer arrives, on :meth:`Cancel`, when the timeout (plus a short grace) expires, or when
    the connection that carried it is lost; every pending wait then returns at once.
    """

    __slots__ = (
        "_any", "_cancelled", "_complete", "_done", "_error", "_finished", "_first", "_owner", "_responses",
        "_sent", "_timer", "id", "timeout",
    )

    def __init__(
        self, ack_id: str, timeout: float, owner: AckOwner, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        #: The client-chosen ack ID sent to the server.
        self.id = ack_id
        #: Seconds the server waits for responders.
        self.timeout = timeout
        self._owner = owner
        self._responses: dict[str, AckResponse] = {}
        self._first: AckResponse | None = None
        self._complete = False
        self._finished = False
        self._cancelled = False
        self._sent = False
        self._error: Exception | None = None
        self._done: asyncio.Event | None = None
        self._any: asyncio.Event | None = None
        loop = loop or asyncio.get_running_loop()
        self._timer = loop.call_later(timeout + ACK_GRACE, self._finish)

    # -- what the client feeds in ------------------------------------------------------------------------

    def _mark_sent(self) -> None:
        self._sent = True

    def _on_progress(self, response: AckResponse) -> None:
        if self._finished:
            return
        self._responses[response["client_id"]] = response
        if self._first is None:
            self._first = response
            if self._any is not None:
                self._any.set()

    def _on_response(self, responses: dict[str, AckResponse]) -> None:
        if self._finished:
            return
        if self._first is None and responses:
            self._first = next(iter(responses.values()))
        self._responses.update(responses)
        self._complete = True
        self._finish()

    def _fail(self, error: Exception) -> None:
        """The server refused the request (an `error` frame with its ack ID, spec §11)."""
        if not self._finished:
            self._error = error
            self._finish()

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        self._timer.cancel()
        if self._done is not None:
            self._done.set()
        if self._any is not None:
            self._any.set()
        self._owner.forget(self.id)

    # -- the public API ----------------------------------------------------------------------------------

    async def Wait(self) -> dict[str, AckResponse]:
        """Wait until the request ends; return every response by responder client ID.

        An empty dict means nobody answered: no subscriber, a timeout, a cancel or a lost connection.
        Raises :class:`~ksps.client.ServerErrorReply` (with its `code`, e.g. "forbidden") when the server
        refused the request.
        """
        if not self._finished:
            if self._done is None:
                self._done = asyncio.Event()
            await self._done.wait()
        if self._error is not None:
            raise self._error
        return dict(self._responses)

    async def WaitAny(self) -> tuple[AckResponse | None, bool]:
        """Wait for the FIRST response to arrive; `(response, True)`, or `(None, False)` if none will.

        Raises like :meth:`Wait` when the server refused the request.
        """
        if self._first is None and not self._finished:
            if self._any is None:
                self._any = asyncio.Event()
            await self._any.wait()
        if self._error is not None:
            raise self._error
        return self._first, self._first is not None

    async def GetStatus(self) -> dict[str, bool]:
        """Responder client ID -> answered yet, as the server sees it while the request runs (spec §6.5).

        Once the request ended (or while disconnected) the answer comes from the responses received.
        """
        if not self._finished and self._sent:
            status = await self._owner.query_status(self.id)
            if status is not None:
                return status
        return {client_id: True for client_id in self._responses}

    async def IsComplete(self) -> bool:
        """True when every expected responder has answered (the server's final answer has arrived)."""
        if self._finished:
            return self._complete
        status = await self.GetStatus()
        return self._complete or (bool(status) and all(status.values()))

    async def Cancel(self) -> None:
        """Stop waiting: pending and later waits return at once; the server drops the request."""
        if self._finished:
            return
        self._cancelled = True
        if self._sent:
            self._owner.cancel_on_server(self.id)
        self._finish()

    @property
    def cancelled(self) -> bool:
        """True after :meth:`Cancel`."""
        return self._cancelled

    wait = Wait
    wait_any = WaitAny
    get_status = GetStatus
    is_complete = IsComplete
    cancel = Cancel

    def __repr__(self) -> str:
        state = "done" if self._finished else "pending"
        return f"<ClientAck {self.id} {state} responses={len(self._responses)}>"


class AckTable:
    """The pending handles of one client, by ack ID."""

    def __init__(self, client_id: str) -> None:
        self._prefix = f"client_ack_{client_id}_"
        self._counter = itertools.count(1)
        self._pending: dict[str, ClientAck] = {}

    def new_id(self) -> str:
        """A fresh ack ID, in the original clients' format `client_ack_<id>_<n>`."""
        return f"{self._prefix}{next(self._counter)}"

    def add(self, handle: ClientAck) -> None:
        """Track a new handle."""
        self._pending[handle.id] = handle

    def get(self, ack_id: str) -> ClientAck | None:
        """The pending handle with this ID."""
        return self._pending.get(ack_id)

    def forget(self, ack_id: str) -> None:
        """Stop tracking a handle that ended."""
        self._pending.pop(ack_id, None)

    def connection_lost(self) -> None:
        """End the handles whose request went out on the lost connection: the server forgot them."""
        for handle in list(self._pending.values()):
            if handle._sent:
                handle._finish()

    def finish_all(self) -> None:
        """End every handle (the client is closing)."""
        for handle in list(self._pending.values()):
            handle._finish()
