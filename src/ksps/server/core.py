"""The running server: listening socket, connections, and the broker they feed (docs/architecture.md)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from picows import ws_create_server

from ..broker import Broker, FederationConfig, FrameHandler, Limits
from ..broker.interfaces import Cancellable
from ..errors import ServerError
from ..protocol import CloseCodes, CloseReasons
from .auth import RegistrationDeadlines, TokenVerifier, auth_policy, token_middleware
from .config import ServerConfig
from .connection import Connection, Outbox
from .relay import Relayer
from .runner import CallbackRunner
from .upgrade import UpgradeRequest, UpgradeRouter

if TYPE_CHECKING:
    from ..cluster import RedisBackplane

__all__ = ["ServerCore"]

log = logging.getLogger("ksps.server")
_PICOWS_LOGGER = logging.LoggerAdapter(logging.getLogger("picows.ksps"), {})


class _LoopScheduler:
    """The broker's clock: the running loop, looked up when needed so the server can be built before it."""

    def call_later(self, delay: float, callback: Callable[[], object], /) -> Cancellable:
        return asyncio.get_running_loop().call_later(delay, callback)

    def time(self) -> float:
        return asyncio.get_running_loop().time()


class _LazyRunner:
    """Creates the callback runner on first use, inside the running loop."""

    def __init__(self) -> None:
        self.runner: CallbackRunner | None = None

    def run(self, lane: object, call: Callable[[], object], done: Callable[[bool, str], None] | None) -> None:
        if self.runner is None:
            self.runner = CallbackRunner(asyncio.get_running_loop())
        self.runner.run(lane, call, done)


class ServerCore:
    """Owns the broker and the listening socket; `Server` adds the public verbs on top."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.id = config.server_id or str(uuid.uuid4())
        self._runner = _LazyRunner()
        self.broker = Broker(self.id, _LoopScheduler(), self._runner, config.default_ack_timeout)
        self.relayer = Relayer(config.peer_secret)
        self.federation = self._federation(config.split_address()[1])
        limits = Limits(config.max_topic_bytes, config.max_id_bytes, config.max_ack_timeout)
        verifier = TokenVerifier.from_config(config)
        self.handler = FrameHandler(
            self.broker, self.federation, self.relayer, limits, auth=auth_policy(config, verifier)
        )
        self.router = UpgradeRouter(config.path, config.allowed_origins, config.serve_client_bundle, self._accept)
        if verifier is not None:
            self.router.middleware.append(token_middleware(verifier))  # first, so later middleware see it
        self.deadlines = RegistrationDeadlines(config.register_timeout)
        self.connections: set[Connection] = set()
        self._server: asyncio.Server | None = None
        self.cluster: RedisBackplane | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outbox: Outbox | None = None
        self._stopping = False
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
            raise ServerError("the server is not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        """The WebSocket URL of the bus."""
        host, _ = self.config.split_address()
        scheme = "wss" if self.federation.secure else "ws"
        return f"{scheme}://{host}:{self.port}{self.config.path}"

    def _federation(self, port: int) -> FederationConfig:
        config = self.config
        host, _ = config.split_address()
        return FederationConfig(
            address=f"{host}:{port}",
            path=config.path,
            secure=config.secure,
            aliases=config.public_addresses,
            secret=config.peer_secret,
        )

    def _accept(self, request: UpgradeRequest) -> Connection:
        return Connection(self, identity=request.identity)

    def connection_opened(self, connection: Connection) -> None:
        """Called by a connection once the WebSocket handshake is done."""
        self.connections.add(connection)
        self.deadlines.add(connection)
        log.debug("connection from %s", connection.remote)

    def connection_closed(self, connection: Connection) -> None:
        """Called by a connection when its socket is gone."""
        self.connections.discard(connection)
        self.deadlines.discard(connection)
        self.broker.disconnect(connection)
        log.debug("connection %s (%s) closed", connection.remote, connection.client_id)

    async def start(self) -> None:
        """Listen and serve in the running event loop; returns once the socket is bound."""
        if self._server is not None:
            return
        config = self.config
        if config.keepalive_interval > 0 and config.keepalive_timeout > config.keepalive_interval:
            # picows asserts this on every new connection, which would then be dropped without a word.
            raise ServerError(
                f"keepalive_timeout ({config.keepalive_timeout} s) cannot exceed "
                f"keepalive_interval ({config.keepalive_interval} s)"
            )
        self._loop = asyncio.get_running_loop()
        self._outbox = Outbox(self._loop)
        host, port = config.split_address()
        try:
            self._server = await ws_create_server(
                self.router,
                host,
                port,
                ssl=config.make_ssl_context(),
                max_frame_size=config.max_message_size,
                websocket_handshake_timeout=config.handshake_timeout,
                enable_auto_ping=config.keepalive_interval > 0,
                auto_ping_idle_timeout=config.keepalive_interval or 20.0,
                auto_ping_reply_timeout=config.keepalive_timeout,
                # One shared logger: given a name, picows makes a Logger per connection, and the logging
                # module keeps every Logger for the life of the process.
                logger_name=_PICOWS_LOGGER,
                # 2 KiB grows on demand; picows' 16 KiB default is resident for every idle connection.
                read_buffer_init_size=2048,
                # aiofastnet (picows' default when installed) spins a core at the open-file limit (EMFILE)
                # and uses more memory per connection; the event loop's own transports measured as fast.
                use_aiofastnet=False,
                reuse_address=True,
                reuse_port=config.reuse_port or None,
            )
        except OSError as exc:
            raise ServerError(f"cannot listen on {config.address}: {exc.strerror or exc}") from exc
        self._stopping = False
        self._stopped.clear()
        if config.redis_url:
            await self._join_cluster()
        self.federation = self.handler.federation = self._federation(self.port)  # the real port, if it was 0
        log.info("ksps server %s listening on %s", self.id, self.url)

    async def _join_cluster(self) -> None:
        from ..cluster import RedisBackplane  # only clustered servers load the Redis client

        config = self.config
        self.cluster = RedisBackplane(
            self.broker, config.redis_url, config.redis_prefix, config.cluster_heartbeat, config.cluster_node_timeout
        )
        await self.cluster.start()

    async def stop(self) -> None:
        """Close every connection with 1000, end pending acks, wait for callbacks; idempotent."""
        if self._server is None or self._stopping:
            await self._stopped.wait() if self._stopping else None
            return
        self._stopping = True
        server = self._server
        server.close()
        self.deadlines.stop()
        # End pending acks first, so their owners still get an `ack_response` before the close frame.
        self.broker.acks.cancel_all()
        for connection in tuple(self.connections):
            connection.close(CloseCodes.SHUTDOWN, CloseReasons.SHUTDOWN)
        grace = self.config.shutdown_grace
        await self.relayer.drain(grace)
        if self.cluster is not None:
            await self.cluster.stop()
        if self._runner.runner is not None:
            await self._runner.runner.drain(grace)
        await self._wait_connections_gone(grace)
        await server.wait_closed()
        self._server = None
        self._stopped.set()
        log.info("ksps server %s stopped", self.id)

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
