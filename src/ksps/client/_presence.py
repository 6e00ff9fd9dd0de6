"""Presence from the client (spec §15): `Presence(topic)` and the `join`/`leave` events of watched topics.

A `presence` request goes out with a `rid`, so a refusal (`forbidden`, spec §15.2) fails the call that asked;
`join`/`leave` frames of topics subscribed with `join_leave=True` reach the `OnJoin`/`OnLeave` hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ksps.errors import ClientClosed, NotConnected
from ksps.protocol import actions as act
from ksps.protocol.presence import PresenceInfo

from ._replies import wait_reply
from ._router import ServerErrorReply

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["PresenceInfo", "ask_presence"]


async def ask_presence(session: Session, topic: str) -> PresenceInfo:
    """Send `presence` for `topic` and wait for the reply (spec §15.2).

    Raises NotConnected while there is no registered connection (nothing is queued: the answer would be
    stale), ServerErrorReply when the server refuses it, ClientClosed when the client is closed.
    """
    if session.closed:
        raise ClientClosed("the client is closed")
    rid = session.replies.new_rid()
    future = session.channel.request(act.PRESENCE, topic, session.encoder.presence(topic, rid), rid)
    if future is None:
        raise NotConnected("presence needs a connection to the server")
    answer = await wait_reply(future, session.options.connect_timeout)
    if isinstance(answer, ServerErrorReply):
        raise answer
    if isinstance(answer, PresenceInfo):
        return answer
    if session.channel.registered:
        raise TimeoutError(f"the server did not answer presence within {session.options.connect_timeout} s")
    raise NotConnected("the connection was lost before the server answered presence")
