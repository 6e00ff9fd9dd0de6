"""The ack handle of the server API: `Wait`, `WaitAny`, `GetStatus`, `IsComplete`, `Cancel` (spec §6)."""

from __future__ import annotations

import asyncio

from ..broker import AckRequest, AckTracker
from ..protocol import AckResponse

__all__ = ["Ack"]


class Ack:
    """Follows one publication with acknowledgement made through the server API.

    Unlike the original, responses that arrived before `Wait` is called are kept, and `WaitAny` does not
    consume the response it returns (spec §9.3).
    """

    def __init__(self, tracker: AckTracker) -> None:
        self._tracker = tracker
        self._request: AckRequest | None = None
        self._changed = asyncio.Event()

    def _attach(self, request: AckRequest) -> None:
        self._request = request

    def _on_update(self, request: AckRequest, response: AckResponse | None) -> None:
        self._changed.set()

    @property
    def request(self) -> AckRequest:
        assert self._request is not None
        return self._request

    async def Wait(self) -> dict[str, AckResponse]:
        """Every response, keyed by responder ID, once all arrived, the timeout passed, or `Cancel` was called."""
        request = self.request
        while not request.finished:
            await self._next_change()
        return dict(request.responses)

    async def WaitAny(self) -> tuple[AckResponse | None, bool]:
        """The first response to arrive and True; or (None, False) if none comes before the request ends."""
        request = self.request
        while not request.responses and not request.finished:
            await self._next_change()
        if request.responses:
            return next(iter(request.responses.values())), True
        return None, False

    def GetStatus(self) -> dict[str, bool]:
        """Responder ID -> whether it answered."""
        return dict(self.request.expected)

    def IsComplete(self) -> bool:
        """True when every expected responder answered (true at once when there were none)."""
        return self.request.complete

    def Cancel(self) -> None:
        """Stop waiting: pending `Wait` calls return what arrived so far."""
        self._tracker.cancel(self.request)

    async def _next_change(self) -> None:
        self._changed.clear()
        await self._changed.wait()

    wait = Wait
    wait_any = WaitAny
    get_status = GetStatus
    is_complete = IsComplete
    cancel = Cancel
