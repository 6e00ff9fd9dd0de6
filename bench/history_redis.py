"""Redis history engines compared: list + Lua (what ksps uses) vs Streams + Lua, appends and recovery reads.

Both keep the same meta hash (offset via HINCRBY, epoch) so the offsets are atomic either way; they differ in
how publications are stored: RPUSH + LTRIM with per-entry expiry, or XADD with the offset as the entry ID and
MAXLEN. Appends go in script calls of --batch publications, as the engine sends them; reads fetch --read
publications after a position in the middle, as a recovery does.

Usage: python bench/history_redis.py [--appends 20000] [--batch 100] [--reads 2000] [--read 300]
Starts its own throwaway redis-server (persisting nothing) on a free port.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import time

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ksps.cluster.history import APPEND, READ
from ksps.testing import free_port

STREAM_APPEND = """
local out = {}
for i = 1, #KEYS / 2 do
  local meta, stream = KEYS[2 * i - 1], KEYS[2 * i]
  local item = ARGV[3 + i]
  local c1 = string.find(item, ',', 1, true)
  local c2 = string.find(item, ',', c1 + 1, true)
  local size, ttl = tonumber(string.sub(item, 1, c1 - 1)), tonumber(string.sub(item, c1 + 1, c2 - 1))
  local epoch = redis.call('HGET', meta, 'e')
  if not epoch then epoch = ARGV[1]; redis.call('HSET', meta, 'e', epoch, 't', 0) end
  local top = redis.call('HINCRBY', meta, 't', 1)
  redis.call('XADD', stream, 'MAXLEN', size, top .. '-1', 'x', tonumber(ARGV[3]) + ttl, 'p', string.sub(item, c2 + 1))
  redis.call('PEXPIRE', stream, ttl)
  out[2 * i - 1] = top
  out[2 * i] = epoch
end
return out
"""

STREAM_READ = """
local epoch = redis.call('HGET', KEYS[1], 'e')
local top = tonumber(redis.call('HGET', KEYS[1], 't'))
local items = redis.call('XRANGE', KEYS[2], '(' .. ARGV[3] .. '-1', '+', 'COUNT', tonumber(ARGV[5]))
return {top, epoch, 0, items}
"""


async def measure(url: str, name: str, append: str, read: str, args: argparse.Namespace) -> None:
    client = aioredis.Redis.from_url(url)
    add, get = client.register_script(append), client.register_script(read)
    keys = [f"b:{name}:m", f"b:{name}:l"]
    entry = msgspec.json.encode(("publisher", {"sensor": "t-1", "value": 21.5, "pad": "x" * 40}))
    # ksps' script takes the writer's marker key first and the batch's token after the time (spec/cluster.md
    # §11.4); the Streams variant is measured without them.
    marker = [f"b:{name}:ab"] if append == APPEND else []
    start = time.perf_counter()
    for batch in range(args.appends // args.batch):  # one script call per batch, as the engine sends them
        batch_args: list[str | int | bytes] = ["e1", 86400, int(time.time() * 1000)]
        if marker:
            batch_args.append(str(batch))
        for _ in range(args.batch):
            batch_args.append(b"100000,300000," + entry)
        await add(keys=marker + keys * args.batch, args=batch_args)
    appended = time.perf_counter() - start
    middle = args.appends // 2
    start = time.perf_counter()
    for _ in range(args.reads):
        await get(keys=keys, args=["e1", 86400, middle, -1, args.read, 0, int(time.time() * 1000)])
    reads = time.perf_counter() - start
    memory = await client.memory_usage(keys[1])
    print(f"{name:12s} appends {args.appends / appended:>9,.0f}/s   reads of {args.read}: {args.reads / reads:>7,.0f}/s"
          f"   {memory / args.appends:>5.0f} bytes/publication")  # fmt: skip
    await client.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--appends", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--reads", type=int, default=2_000)
    parser.add_argument("--read", type=int, default=300)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is measured
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        url = f"redis://127.0.0.1:{port}/0"
        probe = aioredis.Redis.from_url(url)
        for _ in range(100):
            try:
                await probe.ping()
                break
            except (OSError, RedisError):
                await asyncio.sleep(0.05)
        await probe.aclose()
        await measure(url, "list+lua", APPEND, READ, args)
        await measure(url, "streams+lua", STREAM_APPEND, STREAM_READ, args)
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    asyncio.run(main())
