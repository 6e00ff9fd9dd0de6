"""The running server: listening socket, connections, and the broker they feed (docs/architecture.md)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from picows import WSListener, WSUpgradeRequest, WSUpgradeResponse, WSUpgradeResponseWithListener

from ..broker import Broker, BrokerLimits, FederationConfig, FrameHandler, Limits
from ..broker.interfaces import Cancellable
from ..errors import ListenError
from ..logs import PeerLogFilter, ThrottledLog
from ..protocol import CloseCodes, CloseReasons
from .auth import RegistrationDeadlines, TokenVerifier, auth_policy, token_middleware
from .config import ServerConfig
from .connection import Connection
from .history import HistorySweeper, topic_history
from .hosts import AllowedHosts
from .keepalive import KeepaliveSweep
from .limits import ConnectionGate, OutputBudget, fd_connection_ceiling
from .listener import Traffic, listen
from .observer import Observer
from .outbox import Outbox
from .proxies import TrustedProxies
from .relay import Relayer
from .runner import CallbackRunner
from .upgrade import UpgradeRequest, UpgradeRouter

if TYPE_CHECKING:
    from ..cluster import RedisBackplane, RedisHistory

__all__ = ["ServerCore"]

log = logging.getLogger("ksps.server")
_PICOWS_LOGGER = logging.LoggerAdapter(logging.getLogger("picows.ksps"), {})
# Client-caused lines (a refused frame, a slow reader) at their true level and at most one a second each.
_PICOWS_LOGGER.logger.addFilter(PeerLogFilter())


class _LoopScheduler:
    """The broker's clock: the server's loop once it started, before that the running loop.

    Bound at start because `asyncio.get_running_loop()` is not free (a `getpid()` on Python 3.11) and the ack
    path asks for the time once per request.
    """

    __slots__ = ("loop",)

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None

    def call_later(self, delay: float, callback: Callable[[], object], /) -> Cancellable:
        return (self.loop or asyncio.get_running_loop()).call_later(delay, callback)

    def time(self) -> float:
        return (self.loop or asyncio.get_running_loop()).time()


class _LazyRunner:
    """Creates the callback runner on first use, inside the running loop."""

    def __init__(self) -> None:
        self.runner: CallbackRunner | None = None

    def run(self, lane: object, call: Callable[[], object], done: Callable[[bool, str], None] | None) -> None:
        if self.runner is None:
            self.runner = CallbackRunner(asyncio.get_running_loop())
        self.runner.run(lane, call, done)


def _broker_limits(config: ServerConfig) -> BrokerLimits:
    """The broker limits of `config` (spec §13.2)."""
    return BrokerLimits(
        max_topics_per_connection=config.max_topics_per_connection,
        max_pending_acks_per_connection=config.max_pending_acks_per_connection,
        max_pending_acks=config.max_pending_acks,
    )


class ServerCore:
    """Owns the broker and the listening socket; `Server` adds the public verbs on top."""

    def __init__(self, config: ServerConfig) -> None:
        config.validate()  # every problem at once, before anything is built (ConfigError)
        self.config = config
        self.id = config.server_id or str(uuid.uuid4())
        self._runner = _LazyRunner()
        self._scheduler = _LoopScheduler()
        self.broker = Broker(
            self.id, self._scheduler, self._runner, config.default_ack_timeout, limits=_broker_limits(config)
        )
        # -- history (spec §14): memory engine by default, the Redis one once joined to a cluster
        self.broker.history = topic_history(config)
        self.history_sweeper = HistorySweeper(self.broker.history)
        self.relayer = Relayer(config.peer_secret, timeout=config.relay_timeout)
        self.federation = self._federation(config.split_address()[1])
        limits = Limits(config.max_topic_bytes, config.max_id_bytes, config.max_ack_timeout)
        verifier = TokenVerifier.from_config(config)
        self.handler = FrameHandler(
            self.broker, self.federation, self.relayer, limits, auth=auth_policy(config, verifier)
        )
        self.proxies = TrustedProxies(config.trusted_proxies)
        self.router = UpgradeRouter(config.path, config.allowed_origins, config.serve_client_bundle, self._accept)
        if verifier is not None:
            self.router.middleware.append(token_middleware(verifier))  # first, so later middleware see it
        self.deadlines = RegistrationDeadlines(config.register_timeout)
        self.connections: set[Connection] = set()
        # -- limits: connection and transport (spec §13.1)
        self.output_budget = OutputBudget(config.max_output_buffer)
        self.gate = ConnectionGate(max_total=config.max_connections, max_per_address=config.max_connections_per_address)
        #: Warnings a flood of abusers could trigger, at most one line per second per kind.
        self.throttled = ThrottledLog()
        # -- observability (docs/observability.md): bytes read and written, connections closed for breaking a
        # transport limit (by kind), requests refused (by reason); connection lines, probes, metrics.
        self.traffic = Traffic()
        self.limit_closes: dict[str, int] = {}
        self.refusals = self.router.refusals
        self.observer = Observer(self)
        self._server: asyncio.Server | None = None
        self.cluster: RedisBackplane | None = None
        self.history_engine: RedisHistory | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outbox: Outbox | None = None
        self._keepalive: KeepaliveSweep | None = None
        self._stopping = False
        self._listening = False
        self._stopped = asyncio.Event()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None, "the server is not started"
        return self._loop

    @property
    def outbox(self) -> Outbox:
        assert self._outbox is not None, "the server is not started"
        return self._outbox

    @property
    def port(self) -> int:
        """The port the server listens on (useful with port 0)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the server is not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        """The WebSocket URL of the bus."""
        host, _ = self.config.split_address()
        scheme = "wss" if self.federation.secure else "ws"
        return f"{scheme}://{host}:{self.port}{self.config.path}"

    @property
    def urls(self) -> list[str]:
        """One WebSocket URL per listening socket (`localhost` may bind both 127.0.0.1 and ::1), real ports."""
        if self._server is None:
            raise RuntimeError("the server is not started")
        scheme = "wss" if self.config.secure else "ws"
        urls = []
        for sock in self._server.sockets:
            host, port = sock.getsockname()[:2]
            host = f"[{host}]" if ":" in host else host
            urls.append(f"{scheme}://{host}:{port}{self.config.path}")
        return urls

    def _federation(self, port: int) -> FederationConfig:
        config = self.config
        host, _ = config.split_address()
        return FederationConfig(
            address=f"{host}:{port}",
            path=config.path,
            secure=config.secure,
            aliases=config.public_addresses,
            secret=config.peer_secret,
            peers=config.peers,
            relay_any_address=config.relay_any_address,
            max_relays_per_client=config.max_relays_per_client,
            max_relays=config.max_relays,
            clock_window=config.peer_clock_window,
        )

    @property
    def ready(self) -> bool:
        """True once listening and, with `redis_url`, joined to Redis; False again while stopping."""
        if not self.listening or self._stopping:
            return False
        return not self.config.redis_url or (self.cluster is not None and self.cluster.connected)

    @property
    def listening(self) -> bool:
        """True while the listening socket is open."""
        return self._server is not None and self._listening

    @property
    def stopping(self) -> bool:
        """True once `stop()` began."""
        return self._stopping

    @property
    def metrics_port(self) -> int:
        """The port of the `metrics_address` listener (useful with port 0)."""
        return self.observer.metrics_port

    # -- connections -----------------------------------------------------------------------------------

    def _accept(self, request: UpgradeRequest) -> Connection:
        connection = Connection(self, identity=request.identity)
        if self.proxies:
            connection.forwarded = self.proxies.claimed_chain(request.headers)
        return connection

    def _route(self, request: WSUpgradeRequest, peername: object) -> WSListener | WSUpgradeResponseWithListener:
        # Connection limits first, before any middleware runs: HTTP 503 (spec §13.1).
        # The same client address the connection will log: a trusted proxy's client, else the socket's.
        address = self.proxies.describe(peername, self.proxies.claimed_chain(request.headers))[0]
        refusal = self.gate.refusal(address)
        if refusal is None or not self.router.wants_connection(request):
            # The limits count WebSocket connections: a full server still answers its probes and pages.
            return self.router(request, address)
        reason = (
            "max_connections_per_address" if refusal.endswith("(max_connections_per_address)") else "max_connections"
        )
        self.router.count_refusal(reason, address)
        self.throttled.warning("connections", "refused a connection from %s: 503 %s", address, refusal)
        return WSUpgradeResponseWithListener(WSUpgradeResponse.create_error_response(503, refusal.encode()), None)

    def connection_opened(self, connection: Connection) -> None:
        """Called by a connection once the WebSocket handshake is done."""
        self.connections.add(connection)
        self.deadlines.add(connection)
        self.gate.opened(connection.client_address)
        self.observer.opened(connection)

    def connection_closed(self, connection: Connection) -> None:
        """Called by a connection when its socket is gone."""
        self.connections.discard(connection)
        self.deadlines.discard(connection)
        self.gate.closed(connection.client_address)
        client_id = connection.client_id
        self.broker.disconnect(connection)
        self.observer.closed(connection, client_id)

    async def start(self) -> None:
        """Listen and serve in the running event loop; returns once the socket is bound."""
        if self._server is not None:
            return
        config = self.config
        self._loop = self._scheduler.loop = asyncio.get_running_loop()
        self._outbox = Outbox(self._loop)
        self._fit_connections_to_fd_limit()
        try:
            self._server = await listen(self._route, config, _PICOWS_LOGGER, self.traffic)
        except OSError as exc:
            raise ListenError(f"cannot listen on {config.address}: {exc.strerror or exc}") from exc
        # Set before the loop runs again, so no request is answered unchecked (spec §12.4).
        self.router.hosts = AllowedHosts(
            config.allowed_hosts, bound_host=config.split_address()[0], port=self.port, secure=config.secure
        )
        if config.redis_url:
            # Also before the loop runs again: the node listens while it waits for Redis (up to 5 s), and a
            # publication then must not get an offset or epoch of the memory engine, which no other node shares.
            self._use_redis_history()
        self._stopping = False
        self._stopped.clear()
        self._listening = True
        self._keepalive = KeepaliveSweep(
            self._loop, self.connections, interval=config.keepalive_interval, timeout=config.keepalive_timeout
        )
        self._keepalive.start()
        try:
            await self.observer.start()
        except ListenError:
            await self._close_listener()
            if self.history_engine is not None:
                await self.history_engine.stop()
                self.history_engine = None
            raise
        if config.redis_url:
            await self._join_cluster()
        self.history_sweeper.start()
        self.federation = self.handler.federation = self._federation(self.port)  # the real port, if it was 0
        log.info("ksps server %s listening on %s", self.id, self.url)

    def serve_port(self, port: int) -> None:
        """Say that another listener (the ASGI mount, ksps.asgi) serves this server's clients on `port`.

        For a server that does not `start` its own listener: the federation then knows its own address with
        the real port (server-to-server frames addressed to it, spec §8).
        """
        if self._server is None:
            self.federation = self.handler.federation = self._federation(port)

    def _fit_connections_to_fd_limit(self) -> None:
        # Refuse with 503 before the open-file limit is reached: at EMFILE the kernel, not the server, answers
        # (spec §13.1). asyncio logs an accept() failure and retries a second later; the server stays up.
        ceiling = fd_connection_ceiling()
        if ceiling and (not self.gate.max_total or self.gate.max_total > ceiling):
            log.warning(
                "max_connections lowered from %d to %d to fit the open-file limit (raise it with ulimit -n)",
                self.gate.max_total,
                ceiling,
            )
            self.gate.max_total = ceiling

    async def _join_cluster(self) -> None:
        from ..cluster import RedisBackplane  # only clustered servers load the Redis client

        config = self.config
        self.cluster = RedisBackplane(
            self.broker, config.redis_url, config.redis_prefix, config.cluster_heartbeat, config.cluster_node_timeout
        )
        await self.cluster.start()
        if self.history_engine is not None:
            self.cluster.attach_history(self.history_engine)

    def _use_redis_history(self) -> None:
        """History shared by the nodes, in Redis (spec §14.5), from the first connection on."""
        if self.broker.history is not None:
            from ..cluster import RedisHistory  # only clustered servers load the Redis client

            config = self.config
            self.history_engine = RedisHistory(
                config.redis_url, config.redis_prefix, outage_max_bytes=config.history_outage_max_bytes
            )
            self.history_engine.start()
            self.broker.history.engine = self.history_engine

    async def stop(self) -> None:
        """Close every connection with 1000, end pending acks, wait for callbacks; idempotent."""
        if self._server is None or self._stopping:
            await self._stopped.wait() if self._stopping else None
            return
        self._stopping = True
        self.history_sweeper.stop()
        server = self._server
        server.close()
        self.deadlines.stop()
        if self._keepalive is not None:
            self._keepalive.stop()
        # End pending acks first, so their owners still get an `ack_response` before the close frame.
        self.broker.acks.cancel_all()
        for connection in tuple(self.connections):
            if connection.lingering:
                connection.abort()  # closed for breaking a limit: not worth waiting for at shutdown
            else:
                connection.close(CloseCodes.SHUTDOWN, CloseReasons.SHUTDOWN)
        grace = self.config.shutdown_grace
        await self.relayer.drain(grace)
        if self.cluster is not None:
            await self.cluster.stop()
        if self.history_engine is not None:
            await self.history_engine.stop()
            self.history_engine = None
        if self._runner.runner is not None:
            await self._runner.runner.drain(grace)
        await self._wait_connections_gone(grace)
        await server.wait_closed()
        # Last: the `metrics_address` probes answer 503 `stopping` while connections drain.
        await self.observer.stop()
        self._server = None
        self._listening = False
        self._stopped.set()
        log.info("ksps server %s stopped", self.id)

    async def _close_listener(self) -> None:
        server, self._server = self._server, None
        self._listening = False
        if server is not None:
            server.close()
            await server.wait_closed()

    async def _wait_connections_gone(self, timeout: float) -> None:
        loop = self.loop
        deadline = loop.time() + timeout
        while self.connections and loop.time() < deadline:
            waiters = [c._transport.wait_disconnected() for c in self.connections if c._transport is not None]
            if not waiters:
                break
            await asyncio.wait([asyncio.ensure_future(w) for w in waiters], timeout=deadline - loop.time())
        for connection in tuple(self.connections):
            if connection._raw is not None:
                connection._raw.abort()
