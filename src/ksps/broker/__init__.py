"""The sans-I/O broker: routing of publications, direct messages and acknowledgements, with no sockets.

The server drives it through `FrameHandler.handle` and the `Broker` verbs; it reaches the outside world
only through the small interfaces of `interfaces.py`.
"""

from .acks import AckRequest, AckTracker
from .core import Broker
from .federation import FederationConfig, RelayTarget, parse_relay_address
from .handler import FrameHandler, Limits
from .interfaces import Cancellable, Message, Peer, Relay, Runner, Scheduler
from .limits import BrokerLimits, LimitGuard
from .topics import ServerCallback, ServerSubscription, TopicRegistry

__all__ = [
    "AckRequest",
    "AckTracker",
    "Broker",
    "BrokerLimits",
    "Cancellable",
    "FederationConfig",
    "FrameHandler",
    "LimitGuard",
    "Limits",
    "Message",
    "Peer",
    "Relay",
    "RelayTarget",
    "Runner",
    "Scheduler",
    "ServerCallback",
    "ServerSubscription",
    "TopicRegistry",
    "parse_relay_address",
]
