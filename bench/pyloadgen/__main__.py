"""The Python load generator: scenarios whose load must come from Python (the ksps client library itself, or
bare picows clients as its baseline), driven by the harness exactly like the Go one (bench/loadgen).

    python bench/pyloadgen SUBCOMMAND -url ws://127.0.0.1:PORT/ws/bus [flags]

Same two phases and the same JSON lines on stdout: set up, print `{"event":"ready",...}`, wait for a line on
stdin, run the measured phase, print `{"event":"result",...}` with this process's CPU time over it (plus what its
subscriber processes report), and exit when stdin closes. One event loop runs through all phases, so the
connections stay served (keepalive) while the harness samples the server.

Subcommands: client-publish, client-ack, client-latency (the ksps Python client), raw-publish, raw-ack (bare
picows clients sending pre-encoded frames: what the client adds), fanout (1 publisher -> N subscribers in
subscriber processes). `python bench/pyloadgen SUBCOMMAND -h` lists the flags of one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

import client_load
import fanout_load
import raw_load
from common import Setup

SUBCOMMANDS = {
    "client-publish": client_load.publish,
    "client-ack": client_load.ack,
    "client-latency": client_load.latency,
    "raw-publish": raw_load.publish,
    "raw-ack": raw_load.ack,
    "fanout": fanout_load.fanout,
}


def _emit(fields: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


async def _run(name: str, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"pyloadgen {name}", description=SUBCOMMANDS[name].__doc__)
    parser.add_argument("-url", required=True, help="server WebSocket URL")
    parser.add_argument("-url2", default="", help="another node's WebSocket URL (cross-node scenarios)")
    # Workers behind one port: the Python subcommands take the kernel's placement as it comes.
    parser.add_argument("-server-pids", default="", help=argparse.SUPPRESS)
    setup: Setup = await SUBCOMMANDS[name](parser, argv)
    ready = dict(setup.ready, event="ready")
    _emit(ready)
    loop = asyncio.get_running_loop()
    if not await loop.run_in_executor(None, sys.stdin.readline):  # the harness samples the server, then says go
        raise SystemExit("pyloadgen: stdin closed before go")
    cpu_before, wall_before = time.process_time(), time.monotonic()
    result = await setup.measure()
    # Subprocesses (the fan-out's subscribers) report their own CPU: they may have exited by now.
    cpu = time.process_time() - cpu_before + result.pop("subprocess_cpu_s", 0.0)
    result.update(event="result", loadgen_cpu_s=cpu)
    result["loadgen_wall_s"] = time.monotonic() - wall_before
    _emit(result)
    await loop.run_in_executor(None, sys.stdin.read)  # until the harness has sampled the server again
    await setup.close()
    return 0


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in SUBCOMMANDS:
        print("usage: pyloadgen SUBCOMMAND [flags]; subcommands: " + ", ".join(SUBCOMMANDS), file=sys.stderr)
        return 2
    return asyncio.run(_run(sys.argv[1], sys.argv[2:]))


if __name__ == "__main__":
    sys.exit(main())
