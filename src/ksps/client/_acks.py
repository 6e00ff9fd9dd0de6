"""The handle of a publication with acknowledgement (spec §6), as the application sees it.

The same rule in the three clients: what the handle knows is synchronous (`is_complete`, `get_status`,
`cancel`); what needs the server is a coroutine named so (`fetch_status`); `wait` and `wait_any` wait. The
session core decides when the request ends; the driver feeds this handle its events.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, ClassVar, Protocol

from ksps._dialect import KspsSpelling
from ksps.errors import NotConnected

from .core import AckResponse, ServerErrorReply

__all__ = ["AckOwner", "ClientAck"]

#: Seconds `fetch_status` waits for the server's `ack_status`, as the original clients' GetStatus.
STATUS_TIMEOUT = 2.0


class AckOwner(Protocol):
    """What a handle asks of its client."""

    def cancel_ack(self, handle: ClientAck) -> None:
        """End the request now (`cancel_ack` to the server when it had it, spec §6.5)."""

    def fetch_ack_status(self, handle: ClientAck) -> None:
        """Ask the server for the request's status; the answer comes as `_on_status` or `_on_refused`."""

    def is_connected(self) -> bool:
        """True while connected and restored."""


class ClientAck(KspsSpelling):
    """The handle of one `publish_with_ack` / `publish_to_id_with_ack`.

    Responses are kept as they arrive (`ack_progress`, then the final `ack_response`), so a response that came
    before :meth:`wait` is not lost. The request ends when the server's final answer arrives, on
    :meth:`cancel`, when its timeout (plus a short grace) passes, or when the connection that carried it is
    lost; every pending wait then returns. PascalCase names (`Wait`, `IsComplete`, ...) are in ``KSPS_NAMES``.
    """

    KSPS_NAMES: ClassVar[dict[str, str]] = {
        "Wait": "wait", "WaitAny": "wait_any", "IsComplete": "is_complete", "GetStatus": "get_status",
        "Cancel": "cancel", "FetchStatus": "fetch_status",
    }

    __slots__ = (
        "_cancelled", "_complete", "_done_waiters", "_ended", "_error", "_first", "_first_waiters", "_loop", "_owner",
        "_responses", "_status", "_status_known", "_status_waiters", "id", "timeout",
    )

    def __init__(
        self, ack_id: str, timeout: float, owner: AckOwner, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        #: The client-chosen ack ID sent to the server (`client_ack_<id>_<n>`).
        self.id = ack_id
        #: Seconds the server waits for responders.
        self.timeout = timeout
        self._owner = owner
        #: The client's loop, for the futures of waits (`asyncio.get_running_loop()` is a getpid() on 3.11).
        self._loop = loop
        self._responses: dict[str, AckResponse] = {}
        self._status: dict[str, bool] = {}
        #: True once the server told who is expected (a non-empty `ack_status`).
        self._status_known = False
        self._first: AckResponse | None = None
        self._complete = False
        self._cancelled = False
        self._error: Exception | None = None
        self._ended = False
        # The futures of pending `wait` / `wait_any` calls. Bare futures rather than an asyncio.Event per handle:
        # the Event and its loop lookup were ~3% of the client's CPU at 100 requests in flight (py-spy).
        self._done_waiters: list[asyncio.Future[None]] = []
        self._first_waiters: list[asyncio.Future[None]] = []
        self._status_waiters: deque[asyncio.Future[Any]] = deque()

    # -- what the driver feeds in ------------------------------------------------------------------------

    def _on_response(self, response: AckResponse) -> None:
        self._responses[response["client_id"]] = response
        self._status[response["client_id"]] = True
        if self._first is None:
            self._first = response
            if self._first_waiters:
                _wake(self._first_waiters)

    def _on_status(self, status: dict[str, bool]) -> None:
        # What the server knows, plus answers this handle already has (they may be newer than the status).
        self._status = {**status, **{client_id: True for client_id in self._responses}}
        self._status_known = bool(status)
        self._settle_status(self.get_status())

    def _on_refused(self, error: Exception) -> None:
        answers_status = isinstance(error, NotConnected) or (isinstance(error, ServerErrorReply) and error.rid)
        if self._status_waiters and answers_status:
            self._settle_status(error)  # the refusal of a fetch_status, not of the request
        else:
            self._error = error

    def _on_done(self, complete: bool) -> None:
        self._complete = complete
        self._ended = True
        if self._done_waiters:
            _wake(self._done_waiters)
        if self._first_waiters:
            _wake(self._first_waiters)
        while self._status_waiters:
            self._settle_status(self.get_status())

    def _settle_status(self, value: object) -> None:
        if self._status_waiters:
            waiter = self._status_waiters.popleft()
            if not waiter.done():
                waiter.set_result(value)

    # -- the public API ----------------------------------------------------------------------------------

    def is_complete(self) -> bool:
        """True when every expected responder has answered, as last known: the server's final answer came,
        or the last :meth:`fetch_status` showed every responder answered. No server round trip."""
        return self._complete or (self._status_known and all(self._status.values()))

    def get_status(self) -> dict[str, bool]:
        """Responder client ID -> answered, as last known (responses received, last :meth:`fetch_status`)."""
        return dict(self._status)

    def cancel(self) -> None:
        """Stop waiting: pending and later waits return at once; the server drops the request."""
        if not self._ended:
            self._cancelled = True
            self._owner.cancel_ack(self)

    async def fetch_status(self) -> dict[str, bool]:
        """Ask the server who answered so far (spec §6.5); updates what :meth:`get_status` returns.

        Once the request ended this is the last known state, without asking. Raises
        :class:`~ksps.errors.NotConnected` while the client is offline (the same rule in the three clients),
        or when the request is not on the current connection.
        """
        if not self._owner.is_connected():
            raise NotConnected("the client is not connected: fetch_status needs the server")
        if self._ended:
            return self.get_status()
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._status_waiters.append(waiter)
        self._owner.fetch_ack_status(self)
        try:
            async with asyncio.timeout(STATUS_TIMEOUT):
                answer = await waiter
        except TimeoutError:
            return self.get_status()
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)

    async def wait(self) -> dict[str, AckResponse]:
        """Wait until the request ends; return every response by responder client ID.

        An empty dict means nobody answered: no subscriber, a timeout, a cancel or a lost connection.
        Raises :class:`~ksps.client.ServerErrorReply` (with its `code`, e.g. "forbidden") when the server
        refused the request.
        """
        if not self._ended:
            await _park(self._done_waiters, self._loop)
        if self._error is not None:
            raise self._error
        return dict(self._responses)

    async def wait_any(self) -> tuple[AckResponse | None, bool]:
        """Wait for the FIRST response; `(response, True)`, or `(None, False)` if none will come.

        Raises like :meth:`wait` when the server refused the request.
        """
        if self._first is None and not self._ended:
            await _park(self._first_waiters, self._loop)
        if self._error is not None:
            raise self._error
        return self._first, self._first is not None

    @property
    def done(self) -> bool:
        """True once the request ended."""
        return self._ended

    @property
    def cancelled(self) -> bool:
        """True after :meth:`cancel`."""
        return self._cancelled

    def __repr__(self) -> str:
        state = "done" if self.done else "pending"
        return f"<ClientAck {self.id} {state} responses={len(self._responses)}>"


async def _park(waiters: list[asyncio.Future[None]], loop: asyncio.AbstractEventLoop | None) -> None:
    """Wait until `_wake(waiters)`; a cancelled wait leaves the list, the others are not disturbed."""
    waiter = (loop or asyncio.get_running_loop()).create_future()
    waiters.append(waiter)
    try:
        await waiter
    except asyncio.CancelledError:
        if waiter in waiters:
            waiters.remove(waiter)
        raise


def _wake(waiters: list[asyncio.Future[None]]) -> None:
    """Release every pending `_park(waiters)`."""
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)
    waiters.clear()
