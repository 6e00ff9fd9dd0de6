"""Topic history: stream positions, recovery and history reads (spec §14), with no I/O.

- `policy.py`: which topics keep history, how much and for how long (`HistoryPolicy`, `TopicPolicies`).
- `stream.py`: the wire-neutral values: `Position`, `Record`, `Page`, and the recovery rules (`plan_recovery`).
- `memory.py`: the embedded engine, a bounded ring per topic (`MemoryHistory`).
- `service.py`: the broker's side: policies, recoveries and their seam (`TopicHistory`).
- `engine.py`: the interface an engine implements (`HistoryEngine`); the Redis engine lives in `ksps.cluster`.
"""

from .engine import HistoryEngine
from .memory import MemoryHistory, MemoryLimits
from .policy import HistoryPolicy, TopicPolicies, parse_history_rule
from .service import DEFAULT_RECOVER_MAX, SubscribeReply, TopicHistory
from .stream import Page, Position, Query, Record, Recovery, plan_recovery

__all__ = [
    "DEFAULT_RECOVER_MAX",
    "HistoryEngine",
    "HistoryPolicy",
    "MemoryHistory",
    "MemoryLimits",
    "Page",
    "Position",
    "Query",
    "Record",
    "Recovery",
    "SubscribeReply",
    "TopicHistory",
    "TopicPolicies",
    "parse_history_rule",
    "plan_recovery",
]
