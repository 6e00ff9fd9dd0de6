"""Bench target `ksps-asgi`: the bus served by ksps.asgi under uvicorn (uvloop), with the limits the `ksps`
target lifts lifted here too (bench/harness/targets.py). Usage: python bench/targets/ksps_asgi.py PORT"""

from __future__ import annotations

import sys

import uvicorn

from ksps import Server
from ksps.asgi import ASGIApp


def main() -> None:
    port = int(sys.argv[1])
    server = Server(
        address=f"127.0.0.1:{port}", max_connections=0, max_connections_per_address=0, max_frames_per_second=0
    )
    config = server.config
    uvicorn.run(
        ASGIApp(server),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        ws="websockets-sansio",
        ws_max_size=config.max_message_size,
        ws_ping_interval=config.keepalive_interval,
        ws_ping_timeout=config.keepalive_timeout,
        log_level="error",
        lifespan="on",
    )


if __name__ == "__main__":
    main()
