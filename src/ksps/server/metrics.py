"""`/metrics` in the Prometheus text format, read from counters the server keeps anyway (docs/observability.md).

Nothing here runs per message. The broker, the connections and the limits keep plain integers (most of which
existed before metrics did); :class:`ServerCollector` reads them when Prometheus scrapes, through
`prometheus_client`'s custom-collector interface. The only thing running in the background is
:class:`LoopMonitor`: one timer a second measuring event-loop lag, and a Redis PING when clustered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from ..broker.history import MemoryHistory
from ..broker.stats import KINDS

if TYPE_CHECKING:
    from .core import ServerCore

__all__ = ["CONTENT_TYPE", "LoopMonitor", "ServerCollector", "metrics_registry"]

log = logging.getLogger("ksps.server")

#: The Content-Type of the classic text format, what `generate_latest` writes and every Prometheus reads.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

#: Seconds between two event-loop lag samples (and Redis round trips).
SAMPLE_INTERVAL = 1.0


class LoopMonitor:
    """Samples event-loop lag once a second, and the Redis round trip when the server is clustered."""

    def __init__(self, core: ServerCore) -> None:
        self._core = core
        #: Seconds the last timer fired late, and the most since the last scrape.
        self.lag = 0.0
        self.max_lag = 0.0
        #: Seconds of the last Redis PING, or None before the first answer (or after a failure).
        self.redis_round_trip: float | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start sampling in the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ksps-loop-monitor")

    async def stop(self) -> None:
        """Stop sampling."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def take_max_lag(self) -> float:
        """The largest lag since the last call (a scrape), then start over from the latest sample."""
        value, self.max_lag = self.max_lag, self.lag
        return value

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            expected = loop.time() + SAMPLE_INTERVAL
            await asyncio.sleep(SAMPLE_INTERVAL)
            self.lag = max(0.0, loop.time() - expected)
            self.max_lag = max(self.max_lag, self.lag)
            cluster = self._core.cluster
            if cluster is not None:
                self.redis_round_trip = await cluster.round_trip(timeout=SAMPLE_INTERVAL)


class ServerCollector(Collector):
    """Builds every `ksps_*` metric family from the server's counters at scrape time."""

    def __init__(self, core: ServerCore, monitor: LoopMonitor) -> None:
        self._core = core
        self._monitor = monitor

    def collect(self) -> Iterator[Metric]:
        core = self._core
        broker = core.broker
        stats = broker.stats
        yield _gauge("ksps_connections", "Open WebSocket connections.", len(core.connections))
        yield _gauge("ksps_clients", "Registered clients on this node.", len(broker.clients))
        yield _counter(
            "ksps_registrations", "Client registrations and renames (ping) since the start.", stats.registrations
        )
        topics, ws, internal = broker.topics.totals()
        yield _gauge("ksps_topics", "Topics with at least one subscriber on this node.", topics)
        subscriptions = GaugeMetricFamily("ksps_subscriptions", "Subscriptions on this node.", labels=["kind"])
        subscriptions.add_metric(["ws"], ws)
        subscriptions.add_metric(["server"], internal)
        yield subscriptions
        yield _by_kind("ksps_publications", "Publications accepted on this node, by action.", stats.publications())
        yield _by_kind("ksps_deliveries", "Frames delivered to this node's subscribers, by action.", stats.deliveries())
        yield _counter(
            "ksps_received_bytes", "Bytes read from client sockets (WebSocket framing included).", core.traffic.received
        )
        yield _counter(
            "ksps_sent_bytes", "Bytes written to client sockets (WebSocket framing included).", core.traffic.sent
        )
        acks = broker.acks
        yield _counter("ksps_acks_opened", "Ack requests opened.", acks.opened)
        yield _counter("ksps_acks_completed", "Ack requests that got every answer.", acks.completed)
        yield _counter("ksps_acks_timed_out", "Ack requests ended by their timeout.", acks.timed_out)
        yield _gauge("ksps_acks_pending", "Ack requests waiting for answers.", len(acks))
        # -- presence (spec §15)
        presence = broker.presence
        watched = presence.watched_count()
        yield _gauge("ksps_presence_watched_topics", "Topics with join_leave watchers on this node.", watched)
        yield _gauge("ksps_presence_events_pending", "join/leave events queued, not sent yet.", presence.pending())
        slow = CounterMetricFamily(
            "ksps_slow_consumer_closes",
            "Connections closed with 4002 or dropped for being too slow.",
            labels=["reason"],
        )
        budget = core.output_budget
        slow.add_metric(["max_send_queue"], broker.slow_consumers_closed - budget.cut)
        slow.add_metric(["max_output_buffer"], budget.cut)
        slow.add_metric(["max_output_buffer_drop"], budget.dropped)
        yield slow
        yield _labelled(
            "ksps_limit_closes",
            "Connections closed for breaking a transport limit (spec §13.1).",
            "reason",
            core.limit_closes,
        )
        yield _labelled(
            "ksps_limit_refusals",
            "Operations refused with code limit (spec §13.2), by limit.",
            "limit",
            broker.guard.refused,
        )
        yield _labelled("ksps_refused_upgrades", "HTTP upgrade requests refused, by reason.", "reason", core.refusals)
        yield _gauge(
            "ksps_send_queue_bytes", "Bytes waiting to be sent, all connections (the output budget).", budget.total
        )
        engine = broker.history.engine if broker.history is not None else None
        if isinstance(engine, MemoryHistory):  # the Redis engine's history is Redis's to report (spec §14.5)
            topics, kept = engine.size()
            yield _gauge("ksps_history_topics", "Topics with history kept in this node's memory.", topics)
            yield _gauge("ksps_history_publications", "Publications kept in this node's memory.", kept)
            yield _gauge("ksps_history_bytes", "Bytes of history counted against history_max_bytes.", engine.kept_bytes)
        monitor = self._monitor
        yield _gauge("ksps_event_loop_lag_seconds", "Event-loop lag: the latest sample (one a second).", monitor.lag)
        yield _gauge(
            "ksps_event_loop_lag_max_seconds",
            "Event-loop lag: the largest sample since the last scrape.",
            monitor.take_max_lag(),
        )
        cluster = core.cluster
        if cluster is not None:
            yield _gauge("ksps_redis_connected", "1 while joined to Redis, else 0.", int(cluster.connected))
            yield _gauge("ksps_cluster_nodes", "Other nodes this node hears from.", len(cluster.view.nodes))
            if monitor.redis_round_trip is not None:
                yield _gauge(
                    "ksps_redis_round_trip_seconds", "Seconds of the latest Redis PING.", monitor.redis_round_trip
                )
            if cluster.history is not None:  # history topics across a Redis outage (spec/cluster.md §11)
                outage, gaps = cluster.history.outage, cluster.gaps
                yield _gauge("ksps_history_outage_publications", "Publications waiting for Redis.", len(outage))
                yield _gauge(
                    "ksps_history_outage_bytes", "Bytes counted against history_outage_max_bytes.", outage.bytes
                )
                yield _counter("ksps_history_outage_kept", "Publications kept while Redis was away.", outage.kept)
                yield _counter(
                    "ksps_history_outage_dropped",
                    "Publications dropped from the outage buffer (its bounds).",
                    outage.dropped,
                )
                yield _counter(
                    "ksps_history_gap_filled", "Publications delivered by gap fills after a rejoin.", gaps.delivered
                )
                yield _counter(
                    "ksps_history_gap_epoch_changes",
                    "Gap fills made impossible by a new epoch (Redis lost it).",
                    gaps.epoch_changes,
                )


def metrics_registry(core: ServerCore, monitor: LoopMonitor) -> CollectorRegistry:
    """A registry of this server's metrics and the process' (CPU, memory, open files)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServerCollector(core, monitor))
    ProcessCollector(registry=registry)
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The text exposition of `registry`."""
    return generate_latest(registry)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


def _by_kind(name: str, documentation: str, counts: dict[str, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=["kind"])
    for kind in KINDS:
        family.add_metric([kind], counts[kind])
    return family


def _labelled(name: str, documentation: str, label: str, counts: dict[str, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=[label])
    for value, count in sorted(counts.items()):
        family.add_metric([value], count)
    return family
