"""The ack handle of the server API (spec §6): `wait`, `wait_any`, `is_complete`, `get_status`, `cancel`.

The same rule as the clients' handles: what the handle knows is synchronous (`is_complete`, `get_status`,
`cancel`), what waits is a coroutine (`wait`, `wait_any`). The server's handle lives next to the broker, so
its last known state is the server's state: `fetch_status` exists for code written against the clients'
handles and answers the same as `get_status`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import ClassVar

from .._dialect import KspsSpelling
from ..broker import AckRequest
from ..broker.acks import AckListener
from ..protocol import AckAnswer, AckResponse

__all__ = ["Ack"]


class Ack(KspsSpelling):
    """Follows one publication with acknowledgement made through the server API.

    Unlike the original, responses that arrived before `wait` is called are kept, and `wait_any` does not
    consume the response it returns (spec §9.3). Built by `Server.publish_with_ack` and
    `Server.publish_to_id_with_ack`, not by user code.
    """

    KSPS_NAMES: ClassVar[Mapping[str, str]] = {
        "Wait": "wait",
        "WaitAny": "wait_any",
        "GetStatus": "get_status",
        "IsComplete": "is_complete",
        "Cancel": "cancel",
        "FetchStatus": "fetch_status",
    }

    __slots__ = ("_cancel", "_changed", "_request")

    def __init__(
        self, begin: Callable[[AckListener], AckRequest], *, cancel: Callable[[AckRequest], None]
    ) -> None:
        """`begin(listener)` starts the request in the broker; `cancel(request)` ends it early."""
        self._changed = asyncio.Event()
        self._cancel = cancel
        self._request = begin(self._on_update)

    def _on_update(self, request: AckRequest, response: AckAnswer | None) -> None:
        self._changed.set()

    async def wait(self) -> dict[str, AckResponse]:
        """Every response, keyed by responder ID, once all arrived, the timeout passed, or `cancel` was called.

        Each is an :class:`~ksps.protocol.AckResponse`, the same dict a client's ack handle gives.
        """
        request = self._request
        while not request.finished:
            await self._next_change()
        return {responder: answer.to_dict() for responder, answer in request.responses.items()}

    async def wait_any(self) -> tuple[AckResponse | None, bool]:
        """The first response to arrive and True; or (None, False) if none comes before the request ends."""
        request = self._request
        while not request.responses and not request.finished:
            await self._next_change()
        if request.responses:
            return next(iter(request.responses.values())).to_dict(), True
        return None, False

    def get_status(self) -> dict[str, bool]:
        """Responder ID -> whether it answered."""
        return dict(self._request.expected)

    def is_complete(self) -> bool:
        """True when every expected responder answered (true at once when there were none)."""
        return self._request.complete

    def cancel(self) -> None:
        """Stop waiting now: pending `wait` calls return what arrived so far."""
        self._cancel(self._request)

    async def fetch_status(self) -> dict[str, bool]:
        """The same as `get_status` (the server's handle always knows the server's state)."""
        return self.get_status()

    async def _next_change(self) -> None:
        self._changed.clear()
        await self._changed.wait()
