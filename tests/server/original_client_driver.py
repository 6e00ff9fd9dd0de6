"""Drives the ORIGINAL Python client (PyPI `ksps==1.0.0`) against a ksps server; one JSON line per event.

It shares our import name, so test_original_client.py runs this file with the interpreter of a separate
virtual environment. The original prints banners on import; the test keeps only lines that start with `{`.

Usage: python original_client_driver.py HOST:PORT SERVER_ID TIME_UNIT_SECONDS
"""

import asyncio
import json
import sys

from ksps import Client  # the original 1.0.0, not ours


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


class Frames:
    """Every frame one client receives (the original's `OnDataWs` hook), to wait for replies."""

    def __init__(self, unit):
        self.queue = asyncio.Queue()
        self.unit = unit

        # A plain coroutine function: the original runs anything else in a thread pool.
        async def on_data_ws(data, conn):
            await self.queue.put(data)

        self.hook = on_data_ws

    async def wait_for(self, action):
        while True:
            frame = await asyncio.wait_for(self.queue.get(), 5 * self.unit)
            if frame.get("action") == action:
                return frame


async def main(address, server_id, unit):
    async def get(queue):
        return await asyncio.wait_for(queue.get(), 5 * unit)

    frames_a, frames_b = Frames(unit), Frames(unit)
    direct, news = asyncio.Queue(), asyncio.Queue()

    async def on_id(message, subscriber):
        # The original client also calls OnId with every `pong` (a quirk of the original, not of the protocol).
        if message.get("action") != "pong":
            await direct.put(message)

    async def on_news(data, unsub):
        await news.put(data)

    a = await Client.NewClient(Id="orig-a", Address=address, OnId=on_id, OnDataWs=frames_a.hook)
    b = await Client.NewClient(Id="orig-b", Address=address, OnDataWs=frames_b.hook)
    emit("registered", a=(await frames_a.wait_for("pong"))["id"], b=(await frames_b.wait_for("pong"))["id"])

    await a.Subscribe("news", on_news)
    await frames_a.wait_for("subscribed")
    await b.Publish("news", {"n": 1})
    emit("publish", data=await get(news))
    await frames_b.wait_for("published")

    await b.PublishToID("orig-a", "hello a")
    emit("direct", data=await get(direct))

    ack = await b.PublishWithAck("news", "with ack", 5 * unit)
    responses = await ack.Wait()
    emit("ack", responses=responses, delivered=await get(news))

    await b.PublishToID(server_id, "hello server")
    await b.Subscribe("from-server", on_news)
    await frames_b.wait_for("subscribed")
    emit("ready-for-server")
    emit("server-publish", data=await get(news))

    await a.Close()
    await b.Close()
    emit("done")


if __name__ == "__main__":
    host_port, server_id, unit = sys.argv[1], sys.argv[2], float(sys.argv[3])
    asyncio.run(asyncio.wait_for(main(host_port, server_id, unit), 30 * unit))
