"""The outbound half of server-to-server forwarding (spec §8.2): a short-lived client per relay."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import ssl
from collections.abc import Callable

import msgspec
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from ..broker.federation import RelayTarget, parse_relay_address
from ..protocol import actions as act

__all__ = ["Relayer"]

log = logging.getLogger("ksps.server")
_encode = msgspec.json.encode


class _RelayListener(WSListener):
    """Collects the replies of the target server: two pongs bracket the relayed frame."""

    def __init__(self) -> None:
        self.pongs: asyncio.Queue[None] = asyncio.Queue()
        self.errors: list[str] = []
        self.gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        try:
            message = msgspec.json.decode(frame.get_payload_as_bytes())
        except msgspec.DecodeError:
            return
        if not isinstance(message, dict):
            return
        if message.get("action") == act.PONG:
            self.pongs.put_nowait(None)
        elif message.get("action") == act.ERROR:
            self.errors.append(str(message.get("error")))

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.gone.done():
            self.gone.set_result(None)


class Relayer:
    """The broker's `Relay`: one task per relay, so the requester's read loop never waits (spec §9.10)."""

    def __init__(self, secret: str, timeout: float = 5.0) -> None:
        self._secret = secret
        self._timeout = timeout
        self._numbers = itertools.count(1)
        self._tag = os.urandom(3).hex()
        self._tasks: set[asyncio.Task[None]] = set()

    def relay(
        self, address: str, data: msgspec.Raw, origin: str, secure: bool, reply: Callable[[str | None], None]
    ) -> None:
        try:
            target = parse_relay_address(address)
        except ValueError as exc:
            reply(str(exc))
            return
        task = asyncio.get_running_loop().create_task(self._run(target, data, origin, secure, reply))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(
        self,
        target: RelayTarget,
        data: msgspec.Raw,
        origin: str,
        secure: bool,
        reply: Callable[[str | None], None],
    ) -> None:
        try:
            await asyncio.wait_for(self.send(target, data, origin, secure), self._timeout)
        except TimeoutError:
            reply("timed out")
        except asyncio.CancelledError:
            reply("server shutting down")
            raise
        except Exception as exc:
            reply(str(exc) or type(exc).__name__)
        else:
            reply(None)

    async def send(self, target: RelayTarget, data: msgspec.Raw, origin: str, secure: bool) -> None:
        """Connect, register, send the `server-to-server` frame, and confirm the target took it."""
        url = ("wss://" if secure else "ws://") + target.hostport + target.path
        context = ssl.create_default_context() if secure else None
        transport, listener = await ws_connect(_RelayListener, url, ssl_context=context)
        assert isinstance(listener, _RelayListener)
        try:
            relay_id = f"to-{target.hostport}-{self._tag}{next(self._numbers)}"
            ping = _encode({"action": act.PING, "from": relay_id})
            frame: dict[str, object] = {"action": act.SERVER_TO_SERVER, "to": target.hostport}
            if target.proxy:
                frame["id"] = target.proxy
            if self._secret:
                frame["secret"] = self._secret
            body = _encode(frame)[:-1] + b',"data":{"data":' + bytes(data) + b',"from":' + _encode(origin) + b"}}"
            transport.send(WSMsgType.TEXT, ping)
            transport.send(WSMsgType.TEXT, body)
            # A second ping: its pong arrives after any error the relayed frame caused (frames are ordered).
            transport.send(WSMsgType.TEXT, ping)
            for _ in range(2):
                await listener.pongs.get()
            if listener.errors:
                raise RuntimeError(f"target refused: {listener.errors[0]}")
        finally:
            transport.send_close(WSCloseCode.OK)
            transport.disconnect()

    async def drain(self, timeout: float) -> None:
        """Let running relays finish for up to `timeout` seconds, then cancel them."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
