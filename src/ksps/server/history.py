"""Topic history for a running server (spec §14): the policies of its config and the memory engine's sweep.

The broker holds the sans-I/O side (`broker/history/`); this module builds it from `ServerConfig` and owns the
one timer of the memory engine: a sweep that frees expired publications of topics nobody touches (expiry is
otherwise checked lazily, when a topic is published to or read).
"""

from __future__ import annotations

import asyncio
import time

import msgspec

from ..broker.history import (
    HistoryPolicy,
    MemoryHistory,
    MemoryLimits,
    Page,
    Position,
    TopicHistory,
    TopicPolicies,
)
from ..broker.history.policy import parse_history_rule
from ..errors import ConnectionFailed
from ..protocol.history import HistoryPage
from .config import ServerConfig

__all__ = ["SWEEP_INTERVAL", "HistoryPage", "HistorySweeper", "read_history", "topic_history"]

#: Seconds between two sweeps of the memory engine.
SWEEP_INTERVAL = 5.0


def topic_history(config: ServerConfig) -> TopicHistory | None:
    """The history of `config`'s topics with the memory engine, or None when no topic keeps any."""
    rules = [parse_history_rule(rule, default_ttl=config.history_ttl) for rule in config.history]
    policies = TopicPolicies(rules, HistoryPolicy(config.history_size, config.history_ttl))
    if not policies.enabled:
        return None
    limits = MemoryLimits(max_topics=config.history_max_topics, max_bytes=config.history_max_bytes)
    return TopicHistory(MemoryHistory(time.monotonic, limits), policies, recover_max=config.history_recover_max)


class HistorySweeper:
    """Runs :meth:`MemoryHistory.sweep` every `interval` seconds while the server runs."""

    def __init__(self, history: TopicHistory | None, interval: float = SWEEP_INTERVAL) -> None:
        self.history = history
        self.interval = interval
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Arm the first sweep (in the running loop); nothing when there is no memory engine."""
        if self.history is not None and isinstance(self.history.engine, MemoryHistory) and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.interval, self._sweep)

    def stop(self) -> None:
        """Cancel the next sweep."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _sweep(self) -> None:
        if self.history is not None and isinstance(self.history.engine, MemoryHistory):
            self.history.engine.sweep()
            self._timer = asyncio.get_running_loop().call_later(self.interval, self._sweep)


async def read_history(
    history: TopicHistory | None,
    topic: str,
    *,
    since: tuple[int, str] | None = None,
    limit: int | None = None,
    reverse: bool = False,
) -> HistoryPage:
    """Read `topic`'s history like a client's `history` request (spec §14.4).

    Raises ValueError when it keeps none, ConnectionFailed when the engine cannot answer now."""
    if history is None or history.policy(topic) is None:
        raise ValueError(f"no history for topic: {topic}")
    position = Position(*since) if since is not None else None
    query = history.read_query(since=position, limit=limit, reverse=reverse)
    answer: asyncio.Future[Page | None] = asyncio.get_running_loop().create_future()

    def done(page: Page | None) -> None:
        if not answer.done():
            answer.set_result(page)

    history.engine.read(topic, query, done)
    page = await answer
    if page is None:
        raise ConnectionFailed("history unavailable, try again")
    records = page.records if position is None or position.epoch == page.top.epoch else []
    if reverse:
        records = records[::-1]
    items = [{"data": msgspec.json.decode(r.data), "from": r.sender, "offset": r.offset} for r in records]
    return HistoryPage(items, page.top.offset, page.top.epoch)
