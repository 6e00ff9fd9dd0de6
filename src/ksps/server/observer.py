"""What the server tells its operator: a line per connection, health probes, metrics (docs/observability.md).

The counters themselves live where the events happen (the broker, the connections, the limits, the router);
this module logs connections, answers `/healthz` and `/readyz`, and, when asked, serves `/metrics` with the
loop monitor, on the bus port or on `metrics_address`; and, with `admin_token`, the admin page (server/admin.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ListenError
from ..logs import SampledLog
from .pages import Page, PageServer, text

if TYPE_CHECKING:
    from .connection import Connection
    from .core import ServerCore
    from .metrics import LoopMonitor

__all__ = ["Observer"]


class Observer:
    """Connection lines, probes and metrics of one server."""

    def __init__(self, core: ServerCore) -> None:
        self._core = core
        #: One info line per connection opened and closed, sampled under churn.
        self.connection_log = SampledLog()
        self.monitor: LoopMonitor | None = None
        self._page_server: PageServer | None = None
        self._metrics_port: int | None = None
        core.router.probes.update({"/healthz": self.health, "/readyz": self.readiness})
        if core.config.metrics or core.config.metrics_address:
            self._enable_metrics()
        if core.config.admin_token:
            from .admin import AdminPages

            core.router.admin = AdminPages(core, core.config.admin_token)

    def _enable_metrics(self) -> None:
        from .metrics import CONTENT_TYPE, LoopMonitor, metrics_registry, render  # prometheus_client, if asked

        core = self._core
        self.monitor = LoopMonitor(core)
        registry = metrics_registry(core, self.monitor)

        def metrics() -> Page:
            return Page(200, render(registry), CONTENT_TYPE)

        if core.config.metrics_address:
            pages = {"/metrics": metrics, "/healthz": self.health, "/readyz": self.readiness}
            self._page_server = PageServer(pages, timeout=core.config.handshake_timeout)
        else:
            core.router.pages["/metrics"] = metrics

    @property
    def metrics_port(self) -> int:
        """The port of the `metrics_address` listener (useful with port 0)."""
        if self._metrics_port is None:
            raise ListenError("no metrics_address listener")
        return self._metrics_port

    async def start(self) -> None:
        """Open the `metrics_address` listener, start the loop monitor; the bus is listening already."""
        core = self._core
        if self._page_server is not None:
            address = core.config.metrics_address
            host, port = _split(address)
            try:
                self._metrics_port = await self._page_server.start(host, port, reuse_port=core.config.reuse_port)
            except OSError as exc:
                raise ListenError(f"cannot listen on {address}: {exc.strerror or exc}") from exc
        if self.monitor is not None:
            self.monitor.start()

    async def stop(self) -> None:
        """Stop the monitor and the `metrics_address` listener."""
        if self.monitor is not None:
            await self.monitor.stop()
        if self._page_server is not None:
            await self._page_server.stop()

    # -- probes (spec §1.5) ------------------------------------------------------------------------------

    def health(self) -> Page:
        """`/healthz`: 200 while the process serves, 503 once it is stopping."""
        return text(503, "stopping\n") if self._core.stopping else text(200, "ok\n")

    def readiness(self) -> Page:
        """`/readyz`: 200 once listening and joined to Redis when clustered; 503 otherwise, with the reason."""
        core = self._core
        if core.ready:
            return text(200, "ready\n")
        if core.config.redis_url and core.listening and not core.stopping:
            return text(503, "not ready: not joined to redis\n")
        return text(503, "not ready\n")

    # -- connection lines ---------------------------------------------------------------------------------

    def opened(self, connection: Connection) -> None:
        """Log a connection whose handshake completed (sampled)."""
        self.connection_log.info("connection opened", "connection from %s", connection.remote)

    def closed(self, connection: Connection, client_id: str | None) -> None:
        """Log a connection whose socket is gone: client ID, close code and reason, who closed, how long it lived."""
        seconds = self._core.loop.time() - connection.opened_at
        info = connection.close_info
        if info is None:
            self.connection_log.info(
                "connection closed",
                "closed %s (client %s): dropped without a close frame, after %.1f s",
                connection.remote,
                client_id,
                seconds,
            )
            return
        code, reason, client_id, by = info
        self.connection_log.info(
            "connection closed",
            "closed %s (client %s): %d %s, by the %s, after %.1f s",
            connection.remote,
            client_id,
            code,
            reason or "(no reason)",
            by,
            seconds,
        )


def _split(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ListenError(f"metrics_address must be host:port, got {address!r}")
    return host.strip("[]") or "localhost", int(port)
