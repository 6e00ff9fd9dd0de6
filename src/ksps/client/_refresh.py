"""In-place token refresh: shortly before the token's `exp`, a `ping` with the same ID and a new token on
the live connection, so the server replaces the connection's identity and expiry without a reconnection
(spec §10.5). If the refresh fails the server closes the connection at `exp` (4004), and the session
reconnects with a token from `GetToken`. A refused refresh reaches OnError (an `error` answering its `rid`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ._hooks import Hooks, log
from ._tokens import TokenSource

__all__ = ["TokenRefresher"]


class TokenRefresher:
    """Refreshes the token of the ready connection before it expires; one timer at a time."""

    def __init__(self, tokens: TokenSource, send: Callable[[str], None], hooks: Hooks) -> None:
        self._tokens = tokens
        self._send = send
        self._hooks = hooks
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None

    def schedule(self) -> None:
        """Plan the refresh of the current token (nothing without GetToken or without `exp`)."""
        self.cancel()
        delay = self._tokens.refresh_in()
        if delay is not None:
            self._timer = asyncio.get_running_loop().call_later(delay, self._start)

    def cancel(self) -> None:
        """Forget the planned refresh (the connection is gone or the client closes)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._task is not None and not self._task.done() and self._task is not asyncio.current_task():
            self._task.cancel()
        self._task = None

    def _start(self) -> None:
        self._timer = None
        self._task = asyncio.ensure_future(self._refresh())

    async def _refresh(self) -> None:
        before = self._tokens.expiry()
        try:
            token = await self._tokens.fetch()
        except Exception as exc:  # the user's callback: report, the server's 4004 will follow
            self._hooks.error(exc)
            return
        after = self._tokens.expiry()
        if before is not None and (after is None or after <= before):
            # Not a newer token: sending it would change nothing. The server closes with 4004 at `exp`
            # and the reconnection asks GetToken again.
            log.info("ksps client: GetToken returned no newer token; reconnecting when this one expires")
            return
        self._send(token)
        self.schedule()
