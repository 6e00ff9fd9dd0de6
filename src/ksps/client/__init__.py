"""The ksps Python client (asyncio, picows).

    client = await Client.NewClient(Address="localhost:9313")
    await client.Subscribe("events", lambda message, unsub: print(message["data"], "from", message["from"]))
    ack = await client.PublishWithAck("events", "hello", 3.0)
    responses = await ack.Wait()        # {client_id: {"ack_id", "client_id", "success", "error"?}}
    await client.Close()

Callbacks receive `message = {"data": payload, "from": sender_id}` (as the original Python client) and an
`unsub` handle that works from sync and async code; OnId receives the same dict. Sync callbacks run inline
as frames are read; async ones run in order per topic without holding up other topics. A callback that
raises answers an acknowledged delivery with `success: false` and the exception's text, and is reported to
the OnError hook.

Connection: a failing first connection raises `ksps.errors.ConnectionFailed`, unless `Autorestart=True`
(then NewClient returns and keeps trying). A lost connection is re-established with exponential backoff and
full jitter (`ReconnectInitialDelay`, `ReconnectFactor`, `ReconnectMaxDelay`); then every subscription is
restored (also those made while disconnected) before the publications queued meanwhile are sent
(`OfflineQueueSize`, `OfflineQueuePolicy`: "drop_oldest" (default), "drop_newest" or "raise"; every overflow
goes to OnError). Close code 4001 (another connection took the ID) closes the client for good.
Credentials: `Token` (sent as `ping.token` on every connection, never in the URL) or `GetToken` (sync or
async, called on every (re)connection and shortly before the token's `exp` to refresh it in place). A
refused token (close 4003, HTTP 401) or an expired one without GetToken (4004) is `ksps.AuthError`; a
refused Subscribe raises `ServerErrorReply` (`code`, `topic`), a refused Publish reaches OnError with it. WebSocket
PINGs detect half-open connections (`KeepaliveInterval`, `KeepaliveTimeout`). Hooks: OnConnect(),
OnDisconnect(code, reason), OnError(exc), OnClose(), OnId(message); each may be sync or async.

Modules: `_client` (facade), `_session` (connection lifecycle), `_channel` (where frames go: connection or
offline queue), `_transport` (WebSocket link), `_router` (incoming frames), `_dispatch` (callbacks),
`_subscriptions`, `_acks` (ack handles), `_offline`, `_backoff`, `_codec`, `_options`, `_hooks`, `_replies`
(replies and refusals by `rid`), `_tokens` (Token/GetToken, unverified `exp`), `_refresh` (in-place refresh),
`_presence` (`presence(topic)`; `Subscribe(..., join_leave=True)` with the OnJoin/OnLeave hooks, spec §15).
"""

from ._acks import ClientAck
from ._backoff import ReconnectPolicy
from ._client import Client, Connecting
from ._codec import AckResponse
from ._options import ClientOptions, Message, OverflowPolicy
from ._presence import PresenceInfo
from ._router import ServerErrorReply
from ._subscriptions import Callback, Confirmation, Unsubscriber
from ._tokens import TokenCallback

__all__ = [
    "AckResponse",
    "Callback",
    "Client",
    "ClientAck",
    "ClientOptions",
    "Confirmation",
    "Connecting",
    "Message",
    "OverflowPolicy",
    "PresenceInfo",
    "ReconnectPolicy",
    "ServerErrorReply",
    "TokenCallback",
    "Unsubscriber",
]
