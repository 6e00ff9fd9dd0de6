"""The ksps Python client (asyncio, picows).

    client = await Client.connect(address="localhost:9313")
    await client.subscribe("events", lambda message, unsub: print(message["data"], "from", message["from"]))
    ack = await client.publish_with_ack("events", "hello", 3.0)
    responses = await ack.wait()        # {client_id: {"ack_id", "client_id", "success", "error"?}}
    await client.close()

The original KSPS spelling works too (`await Client.NewClient(Address=...)`, `Subscribe`, `PublishWithAck`,
`ack.Wait()`, ...): one table of PascalCase names per class (`KSPS_NAMES`, see `ksps._dialect`).

Callbacks receive `message = {"data": payload, "from": sender_id}` and an `unsub` handle that works from sync
and async code; `on_id` receives the same dict. Sync callbacks run inline as frames are read; async ones run
in order per topic without holding up other topics. A callback that raises answers an acknowledged delivery
with `success: false` and the exception's text, and is reported to the `on_error` hook.

Connection: a failing first connection raises `ksps.errors.ConnectionFailed`, unless `autorestart=True`
(then `connect` returns and keeps trying). A lost connection is re-established with exponential backoff and
full jitter; every subscription is restored (also those made while disconnected) before the publications
queued meanwhile are sent (`offline_queue_size`, `offline_queue_policy`). Close code 4001 closes the client
for good; 4003/4004/HTTP 401 are `ksps.AuthError`. Ack handles: `is_complete()`, `get_status()` and
`cancel()` are synchronous (what the handle knows); `await fetch_status()` asks the server; `await wait()`,
`await wait_any()` wait.

Presence (spec §15): `await client.presence(topic)` -> `PresenceInfo(count, ids, truncated)` (NotConnected
while offline); `subscribe(topic, cb, join_leave=True)` also reports the topic's members coming and going
to the `on_join(topic, id)` / `on_leave(topic, id)` hooks, across reconnections.

History (spec §14): on topics with history, messages carry `"offset"` and the client remembers its stream
position (`client.position(topic)` -> `StreamPosition(offset, epoch)`); after a reconnection it subscribes
`since` that position, so what was published meanwhile is delivered first. The `on_subscribed(topic, info)`
hook says whether nothing was missed (`SubscriptionInfo(position, recovering, recovered)`).
`subscribe(topic, cb, since=position)` continues from a stored position (e.g. across a page reload);
`await client.history(topic, since=..., limit=..., reverse=...)` -> `HistoryPage(publications, offset, epoch)`.

Layers: `core` is the sans-I/O session (every decision; spec/traces/ records it); `_driver` runs it on
asyncio and picows (`_transport`); `_events` hands its events to callbacks (`_dispatch`, `_subscriptions`),
hooks (`_hooks`) and ack handles (`_acks`); `_client` is the facade; `_options`, `_tokens` and `_refresh`
handle settings and credentials. Nothing here imports the server.
"""

from ksps.protocol.history import HistoryPage, StreamPosition, SubscriptionInfo
from ksps.protocol.presence import PresenceInfo

from ._acks import ClientAck
from ._client import Client, Connecting
from ._options import KSPS_OPTION_NAMES, ClientOptions, Message
from ._subscriptions import Callback, Confirmation, Unsubscriber
from ._tokens import TokenCallback
from .core import AckResponse, OverflowPolicy, ServerErrorReply
from .core._backoff import ReconnectPolicy

__all__ = [
    "KSPS_OPTION_NAMES",
    "AckResponse",
    "Callback",
    "Client",
    "ClientAck",
    "ClientOptions",
    "Confirmation",
    "Connecting",
    "HistoryPage",
    "Message",
    "OverflowPolicy",
    "PresenceInfo",
    "ReconnectPolicy",
    "ServerErrorReply",
    "StreamPosition",
    "SubscriptionInfo",
    "TokenCallback",
    "Unsubscriber",
]
