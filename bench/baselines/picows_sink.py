"""A bare picows server with no pub/sub logic, the ceiling of the client scenarios (bench/pyloadgen): it answers
`ping` with `pong` and a `publish_with_ack` with an empty `ack_response`, and drops everything else. What the
Python client reaches against it is the client's own limit.

Usage: python bench/baselines/picows_sink.py PORT
"""

from __future__ import annotations

import asyncio
import json
import sys

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_create_server


class Sink(WSListener):
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        payload = frame.get_payload_as_bytes()
        if payload.startswith(b'{"action":"ping"'):
            reply = {"action": "pong", "id": json.loads(payload).get("from") or "bench-sink"}
            rid = json.loads(payload).get("rid")
            if rid is not None:
                reply["rid"] = rid
            transport.send(WSMsgType.TEXT, json.dumps(reply).encode())
        elif payload.startswith(b'{"action":"publish_with_ack"'):
            ack_id = json.dumps(json.loads(payload)["ack_id"]).encode()
            transport.send(WSMsgType.TEXT, b'{"action":"ack_response","ack_id":' + ack_id + b"}")


async def main(port: int) -> None:
    server = await ws_create_server(lambda request: Sink(), "127.0.0.1", port)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
