"""The ksps Python client (asyncio, picows).

    client = await Client.NewClient(Address="localhost:9313")
    await client.Subscribe("events", lambda message, unsub: print(message["data"]))
    ack = await client.PublishWithAck("events", "hello", 3.0)
    responses = await ack.Wait()

Modules: `_client` (facade), `_session` (connection lifecycle), `_transport` (WebSocket link), `_router`
(incoming frames), `_dispatch` (callbacks), `_subscriptions`, `_acks` (ack handles), `_offline` (queue while
disconnected), `_backoff` (reconnect delays), `_codec` (frames), `_options`, `_hooks`, `_replies`.
"""

from ._acks import ClientAck
from ._backoff import ReconnectPolicy
from ._client import Client, Connecting
from ._codec import AckResponse
from ._options import ClientOptions, Message, OverflowPolicy
from ._router import ServerErrorReply
from ._subscriptions import Callback, Confirmation, Unsubscriber

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
    "ReconnectPolicy",
    "ServerErrorReply",
    "Unsubscriber",
]
