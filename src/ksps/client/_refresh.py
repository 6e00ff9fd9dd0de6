"""In-place token refresh: shortly before the token's `exp`, a `ping` with the same ID and a new token on
the live connection, so the server replaces the connection's identity and expiry without a reconnection
(spec §10). If the refresh fails the server closes the connection at `exp` (4004), and the session
reconnects with a token from `GetToken`.
"""

from __future__ import annotations

import asyncio

from ksps.errors import AuthError
from ksps.protocol import actions as act

from ._channel import Channel
from ._hooks import Hooks, log
from ._replies import ReplyWaiters, wait_reply
from ._tokens import CLOSE_UNAUTHORIZED, TokenSource
from .core._codec import FrameEncoder

__all__ = ["TokenRefresher"]


class TokenRefresher:
    """Refreshes the token of the ready connection before it expires; one timer at a time."""

    def __init__(
        self, tokens: TokenSource, channel: Channel, encoder: FrameEncoder, replies: ReplyWaiters, hooks: Hooks,
        *, reply_timeout: float,
    ) -> None:
        self._tokens = tokens
        self._channel = channel
        self._encoder = encoder
        self._replies = replies
        self._hooks = hooks
        self._reply_timeout = reply_timeout
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
        link = self._channel.ready_link
        before = self._tokens.expiry()
        try:
            token = await self._tokens.fetch()
        except Exception as exc:  # the user's callback: report, the server's 4004 will follow
            self._hooks.error(exc)
            return
        after = self._tokens.expiry()
        if link is None or link is not self._channel.ready_link:
            return  # the connection changed meanwhile; the new one registered with the new token
        if before is not None and (after is None or after <= before):
            # Not a newer token: sending it would change nothing. The server closes with 4004 at `exp`
            # and the reconnection asks GetToken again.
            log.info("ksps client: GetToken returned no newer token; reconnecting when this one expires")
            return
        rid = self._replies.new_rid()
        pong = self._replies.expect(act.PONG, "", rid)
        link.send(self._encoder.ping(token, rid))
        answer = await wait_reply(pong, self._reply_timeout)
        if isinstance(answer, Exception):
            self._hooks.error(AuthError(f"the server refused the refreshed token: {answer}", code=CLOSE_UNAUTHORIZED))
        elif answer is not None:
            self.schedule()
