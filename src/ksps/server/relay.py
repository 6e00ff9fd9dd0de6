"""The outbound half of server-to-server forwarding (spec §8.2, §12.1): a short-lived client per relay."""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from collections.abc import Callable

import msgspec
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from ..broker.federation import RelayTarget
from ..broker.signing import SignedFields, sign
from ..logs import ThrottledLog
from ..protocol import actions as act

__all__ = ["Relayer"]

_encode = msgspec.json.encode


class _RelayListener(WSListener):
    """Waits for the target's answer to the relayed frame: `server_message_sent`, or an `error`."""

    def __init__(self) -> None:
        self.answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT or self.answer.done():
            return
        try:
            message = msgspec.json.decode(frame.get_payload_as_bytes())
        except msgspec.DecodeError:
            return
        if not isinstance(message, dict):
            return
        if message.get("action") == act.SERVER_MESSAGE_SENT:
            self.answer.set_result("")
        elif message.get("action") == act.ERROR:
            self.answer.set_result(f"target refused: {message.get('error')}")

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.answer.done():
            self.answer.set_result("target closed the connection")


class Relayer:
    """The broker's `Relay`: one task per relay, so the requester's read loop never waits (spec §9.10)."""

    def __init__(self, secret: str, timeout: float = 5.0) -> None:
        self._secret = secret
        self._timeout = timeout
        self._tasks: set[asyncio.Task[None]] = set()
        self._log = ThrottledLog()

    def relay(
        self, target: RelayTarget, data: msgspec.Raw, origin: str, secure: bool, reply: Callable[[bool], None]
    ) -> None:
        task = asyncio.get_running_loop().create_task(self._run(target, data, origin, secure, reply))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(
        self, target: RelayTarget, data: msgspec.Raw, origin: str, secure: bool, reply: Callable[[bool], None]
    ) -> None:
        # Whatever went wrong, the requester only learns that it did (spec §12.2): telling a refused port
        # from a silent one or from an HTTP server made the relay a port scanner. The log has the reason.
        try:
            await asyncio.wait_for(self.send(target, data, origin, secure), self._timeout)
        except asyncio.CancelledError:
            reply(False)
            raise
        except Exception as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
            self._log.warning("relay", "relay to %s for %s failed: %s", target.hostport, origin, reason)
            reply(False)
        else:
            reply(True)

    async def send(self, target: RelayTarget, data: msgspec.Raw, origin: str, secure: bool) -> None:
        """Connect, send the signed `server-to-server` frame, and wait for the target's answer (spec §12.1)."""
        if not self._secret:
            raise RuntimeError("no peer secret configured (--peer-secret): peers would refuse the frame")
        url = ("wss://" if secure else "ws://") + target.hostport + target.path
        context = ssl.create_default_context() if secure else None
        transport, listener = await ws_connect(_RelayListener, url, ssl_context=context)
        assert isinstance(listener, _RelayListener)
        try:
            transport.send(WSMsgType.TEXT, self.signed_frame(target, data, origin))
            refusal = await listener.answer
            if refusal:
                raise RuntimeError(refusal)
        finally:
            transport.send_close(WSCloseCode.OK)
            transport.disconnect()

    def signed_frame(self, target: RelayTarget, data: msgspec.Raw, origin: str) -> bytes:
        """The `server-to-server` frame for `target`, signed with the peer secret (spec §12.1)."""
        wrapped = b'{"data":' + bytes(data) + b',"from":' + _encode(origin) + b"}"
        fields = SignedFields(
            ts=int(time.time()), nonce=os.urandom(16).hex(), to=target.hostport, id=target.proxy, data=wrapped
        )
        frame: dict[str, object] = {"action": act.SERVER_TO_SERVER, "to": fields.to}
        if fields.id:
            frame["id"] = fields.id
        frame.update(ts=fields.ts, nonce=fields.nonce, sig=sign(self._secret, fields))
        return _encode(frame)[:-1] + b',"data":' + wrapped + b"}"

    async def drain(self, timeout: float) -> None:
        """Let running relays finish for up to `timeout` seconds, then cancel them."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
