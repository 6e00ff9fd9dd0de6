"""The sans-I/O core of the Python client: :class:`ClientSession` and what it takes and returns.

No asyncio, sockets or threads here (tests/protocol/test_sans_io.py and the ruff banned-api rule check it):
the asyncio client (`ksps.client`) drives it, and spec/traces/*.json record its behaviour for the JS and Go
clients to replay (spec/traces/README.md).

    session = ClientSession(SessionConfig(id="c1", address="localhost:9313"), random=random.random)
    outputs = session.start(now)          # [Open(url)]
    outputs = session.opened(now)         # [Send(ping)]; then session.next_deadline
    outputs = session.receive(payload, now)

Modules: `_session` (lifecycle), `_intents` (what the application asks), `_incoming` (received frames),
`_outputs` (actions and events), `_config`, `_codec` (frames), `_requests` (replies by rid), `_acks` (ack
requests), `_offline`, `_backoff`, `_errors` (ServerErrorReply), `_replay` (applies trace vector inputs).
"""

from ._codec import AckResponse, FrameEncoder, ServerFrame, decode_server_frame, is_published_reply
from ._config import OverflowPolicy, SessionConfig
from ._errors import ServerErrorReply
from ._outputs import (
    AckAnswer,
    AckDone,
    Close,
    Closed,
    Connected,
    Delivery,
    Direct,
    Disconnected,
    ErrorEvent,
    Event,
    History,
    Join,
    Leave,
    Member,
    Open,
    Output,
    Presence,
    QueueOverflow,
    Reconnecting,
    Refused,
    Send,
    Status,
    Subscribed,
    SubscriptionReport,
    Unsubscribed,
)
from ._session import ClientSession, State

__all__ = [
    "AckAnswer",
    "AckDone",
    "AckResponse",
    "ClientSession",
    "Close",
    "Closed",
    "Connected",
    "Delivery",
    "Direct",
    "Disconnected",
    "ErrorEvent",
    "Event",
    "FrameEncoder",
    "History",
    "Join",
    "Leave",
    "Member",
    "Open",
    "Output",
    "OverflowPolicy",
    "Presence",
    "QueueOverflow",
    "Reconnecting",
    "Refused",
    "Send",
    "ServerErrorReply",
    "ServerFrame",
    "SessionConfig",
    "State",
    "Status",
    "Subscribed",
    "SubscriptionReport",
    "Unsubscribed",
    "decode_server_frame",
    "is_published_reply",
]
