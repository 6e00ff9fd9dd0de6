"""The ceiling for a Python fan-out server: bare picows, no pub/sub logic, coalesced writes.

Every frame that starts like a publication is broadcast to every connection; any other frame gets a tiny
reply, so benchmark clients can use one handshake for both targets. Keepalive is on, as in ksps.
Usage: picows_broadcast.py PORT
"""

from __future__ import annotations

import asyncio
import sys

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_create_server

_PUBLISH = b'{"action":"publish"'
_OK = b"\x81\x0f" + b'{"action":"ok"}'


class Hub:
    def __init__(self) -> None:
        self.clients: list[Client] = []
        self.dirty: list[Client] = []
        self.scheduled = False

    def flush(self) -> None:
        self.scheduled = False
        dirty, self.dirty = self.dirty, []
        for client in dirty:
            client.raw.write(b"".join(client.pending))
            client.pending.clear()

    def queue(self, client: Client, data: bytes) -> None:
        if not client.pending:
            self.dirty.append(client)
            if not self.scheduled:
                self.scheduled = True
                asyncio.get_running_loop().call_soon(self.flush)
        client.pending.append(data)


HUB = Hub()


def _frame(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return bytes((0x81, 126)) + n.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + payload


class Client(WSListener):
    def on_ws_connected(self, transport: WSTransport) -> None:
        self.raw = transport.underlying_transport
        self.pending: list[bytes] = []
        HUB.clients.append(self)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        HUB.clients.remove(self)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            if frame.msg_type is WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code())
                transport.disconnect()
            return
        payload = frame.get_payload_as_bytes()
        if payload.startswith(_PUBLISH):
            wire = _frame(payload)
            for client in HUB.clients:
                HUB.queue(client, wire)
        else:
            HUB.queue(self, _OK)


async def main(port: int) -> None:
    # Keepalive as ksps has it by default (a ping after 20 s of silence), so idle connections cost the same work.
    server = await ws_create_server(
        lambda request: Client(),
        "127.0.0.1",
        port,
        enable_auto_ping=True,
        auto_ping_idle_timeout=20,
        auto_ping_reply_timeout=20,
    )
    print("ready", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
