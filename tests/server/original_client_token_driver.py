"""Drives the ORIGINAL Python client (PyPI `ksps==1.0.0`) against a server that requires tokens.

The original cannot put a token in its `ping`, but its `Path` option ends up in the URL, so `?token=` works
(docs/security.md, "Compatibility with the original clients"). One JSON line per event, like
original_client_driver.py.

Usage: python original_client_token_driver.py HOST:PORT GOOD_TOKEN BAD_TOKEN TIME_UNIT_SECONDS
"""

import asyncio
import json
import sys

from ksps import Client  # the original 1.0.0, not ours


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


async def main(address, good, bad, unit):
    pongs = asyncio.Queue()

    async def on_data_ws(data, conn):
        if data.get("action") == "pong":
            await pongs.put(data)

    client = await Client.NewClient(Id="alice", Address=address, Path=f"/ws/bus?token={good}", OnDataWs=on_data_ws)
    emit("registered", id=(await asyncio.wait_for(pongs.get(), 5 * unit))["id"])
    try:
        await Client.NewClient(Id="alice", Address=address, Path=f"/ws/bus?token={bad}")
    except Exception as exc:
        emit("refused", error=type(exc).__name__, status=getattr(getattr(exc, "response", None), "status_code", None))
    await client.Close()
    emit("done")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
