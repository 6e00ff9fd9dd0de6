"""The Redis history engine (spec §14.5, spec/cluster.md §7): topic history shared by every node.

Per topic two keys: a hash `<prefix>:h:<topic>` holding the offset of the latest publication (`t`) and the
epoch (`e`), and a list `<prefix>:hl:<topic>` of the kept publications, each `<offset>,<expires ms>,<json
[sender, data]>`. Two Lua scripts do all the work atomically in Redis:

- append (a whole batch at once): create the epoch if the hash is gone (Redis lost it, or it expired),
  HINCRBY the offset (so two nodes never hand out the same one), RPUSH, LTRIM to the size, and refresh the
  keys' expiry;
- read: the same epoch creation, drop expired heads, and LRANGE the asked window, computed from the offsets
  (the list holds consecutive offsets, so index = offset - first).

Appends are queued and sent as one script call per batch (whatever accumulated while the previous call was
in flight) by one writer task, so their callbacks run in the order the publications were made. Reads run on
other connections; a read's answer is handed over only after the batch in flight when it came back was
answered, so its page never holds a publication of this node that was not delivered here yet. While Redis
is unreachable, or this node is cut off from the cluster, appends answer None at once (publications are then
delivered on this node without an offset, spec §14.3) and are kept in the outage buffer (`outage.py`); reads
answer None while this engine's own connection fails, and a probe reconnects in the background. When the node
is joined again (`resume`), the buffer is stored in order, each publication is handed to `on_stored` (which
sends it to the other nodes) and appends flow again (spec/cluster.md §11).
Why a list and Lua rather than Streams: docs/architecture.md (decisions).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from ..broker.history import HistoryPolicy, Page, Position, Query, Record
from .outage import OutageBuffer, Unsent

__all__ = ["META_TTL", "RedisHistory"]

log = logging.getLogger("ksps.cluster")

#: Seconds a topic's offset and epoch outlive its last publication or read (its publications live `ttl`).
META_TTL = 86_400
#: Seconds between two reconnection attempts while Redis is unreachable.
PROBE_INTERVAL = 0.5
#: Publications of the outage buffer stored per script call when Redis is back: their `pub`s then leave in
#: PUBLISHes of about this many, not in one message the size of the buffer (Redis closes a subscriber whose
#: output buffer passes 32 MB by default, `client-output-buffer-limit pubsub`).
STORE_CHUNK = 500

_EPOCH = """
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'e', epoch, 't', 0)
  redis.call('DEL', KEYS[2])
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
"""

#: One call for a whole batch, grouped in runs: consecutive publications of one topic (and policy). KEYS: this
#: writer's marker, then meta and list of each run. ARGV: new epoch, meta ttl s, now ms, the batch's token, then
#: one argument per run: `<size>,<ttl ms>,<count>,` followed by its `count` entries, each `<length>:<entry>`
#: (one argument per run, not one per publication: redis-py packs every argument in Python, and the script
#: increments the offset, trims and refreshes the expiry once per run). Returns the top offset and epoch of
#: each run; its publications have the `count` offsets up to that top, in order (the script is atomic).
#: The marker keeps the token and answer of the writer's latest batch: a batch sent again with the same token
#: (its answer was lost with the connection) gets that answer instead of being stored twice (spec/cluster.md §11).
APPEND = """
local marker = redis.call('GET', KEYS[1])
local token = ARGV[4] .. '|'
if marker and string.sub(marker, 1, #token) == token then
  return cjson.decode(string.sub(marker, #token + 1))
end
local out = {}
local now = tonumber(ARGV[3])
for i = 1, (#KEYS - 1) / 2 do
  local meta, list = KEYS[2 * i], KEYS[2 * i + 1]
  local blob = ARGV[4 + i]
  local c1 = string.find(blob, ',', 1, true)
  local c2 = string.find(blob, ',', c1 + 1, true)
  local c3 = string.find(blob, ',', c2 + 1, true)
  local size, ttl = tonumber(string.sub(blob, 1, c1 - 1)), tonumber(string.sub(blob, c1 + 1, c2 - 1))
  local count = tonumber(string.sub(blob, c2 + 1, c3 - 1))
  local epoch = redis.call('HGET', meta, 'e')
  if not epoch then
    epoch = ARGV[1] .. '.' .. i
    redis.call('HSET', meta, 'e', epoch, 't', 0)
    redis.call('DEL', list)
  end
  redis.call('EXPIRE', meta, tonumber(ARGV[2]))
  local top = redis.call('HINCRBY', meta, 't', count)
  local suffix = ',' .. (now + ttl) .. ','
  local offset = top - count
  local pos = c3 + 1
  local chunk = {}
  for _ = 1, count do
    local colon = string.find(blob, ':', pos, true)
    local stop = colon + tonumber(string.sub(blob, pos, colon - 1))
    offset = offset + 1
    chunk[#chunk + 1] = offset .. suffix .. string.sub(blob, colon + 1, stop)
    pos = stop + 1
    if #chunk == 1000 then -- unpack() takes about 8,000 values at most
      redis.call('RPUSH', list, unpack(chunk))
      chunk = {}
    end
  end
  if #chunk > 0 then redis.call('RPUSH', list, unpack(chunk)) end
  redis.call('LTRIM', list, -size, -1)
  redis.call('PEXPIRE', list, ttl)
  out[2 * i - 1] = top
  out[2 * i] = epoch
end
redis.call('SET', KEYS[1], token .. cjson.encode(out), 'EX', tonumber(ARGV[2]))
return out
"""

#: KEYS: meta, list. ARGV: new epoch, meta ttl s, after, before (-1 = none), limit, tail (0/1), now ms.
READ = (
    _EPOCH
    + """
local now = tonumber(ARGV[7])
while true do
  local head = redis.call('LINDEX', KEYS[2], 0)
  if not head then break end
  local c1 = string.find(head, ',', 1, true)
  local c2 = string.find(head, ',', c1 + 1, true)
  if tonumber(string.sub(head, c1 + 1, c2 - 1)) > now then break end
  redis.call('LPOP', KEYS[2])
end
local top = tonumber(redis.call('HGET', KEYS[1], 't'))
local n = redis.call('LLEN', KEYS[2])
local first = top - n + 1
local after, before, limit = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local start = math.max(after + 1 - first, 0)
local stop = n
if before >= 0 then stop = math.max(math.min(before - first, n), 0) end
if stop - start > limit then
  if ARGV[6] == '1' then start = stop - limit end
  stop = start + limit
end
local items = {}
if stop > start then items = redis.call('LRANGE', KEYS[2], start, stop - 1) end
return {top, epoch, first, items}
"""
)

_Entry = tuple[str, msgspec.Raw]
_decode_entry = msgspec.json.Decoder(_Entry).decode
_encode_entry = msgspec.json.encode
_Append = tuple[str, HistoryPolicy, bytes, str, Callable[[Position | None], None]]
#: Sends a publication of the outage buffer, once stored, to the other nodes: (topic, data, sender, position).
Stored = Callable[[str, bytes, str, Position], None]
_position = tuple.__new__  # Position(...) costs twice as much; this runs once per publication


def _run_argument(policy: HistoryPolicy | None, entries: list[bytes]) -> bytes:
    """One run's argument of the append script: `<size>,<ttl ms>,<count>,` then its length-prefixed entries."""
    assert policy is not None
    return b"%d,%d,%d," % (policy.size, int(policy.ttl * 1000), len(entries)) + b"".join(entries)


def _positions(results: list[Any], counts: list[int]) -> Iterator[Position]:
    """The position of each publication of a batch, from the append script's answer: top and epoch per run."""
    for index, count in enumerate(counts):
        top, epoch = int(results[2 * index]), results[2 * index + 1].decode()
        for offset in range(top - count + 1, top + 1):
            yield _position(Position, (offset, epoch))


class RedisHistory:
    """History in Redis; implements the broker's `HistoryEngine` (broker/history/engine.py)."""

    def __init__(self, url: str, prefix: str, *, outage_max_bytes: int = 16 * 1024 * 1024) -> None:
        self._redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=2.0, socket_timeout=5.0, socket_keepalive=True, retry=Retry(NoBackoff(), 1)
        )
        self._prefix = prefix
        self._key_cache: dict[str, tuple[str, str]] = {}
        self._append = self._redis.register_script(APPEND)
        self._read = self._redis.register_script(READ)
        self._queue: list[_Append] = []
        self._wake = asyncio.Event()
        self._healthy = True
        self._tasks: set[asyncio.Task[None]] = set()
        self._writer: asyncio.Task[None] | None = None
        self._probe: asyncio.Task[None] | None = None
        self._busy = False  # a script call of the writer is in flight
        #: Resolved once the writer's batch in flight is answered and its callbacks ran (None: none in flight).
        self._in_flight: asyncio.Future[None] | None = None
        #: Publications made while appends were closed, stored when the node is joined again (spec/cluster.md §11).
        self.outage = OutageBuffer(outage_max_bytes)
        #: Whether appends go to Redis: the node is joined to the cluster and its outage buffer was stored.
        self.open = True
        #: Whether the node is joined to the cluster now (the backplane's answer); appends wait for it.
        self.joined: Callable[[], bool] = lambda: True
        #: Gets each publication of the outage buffer once stored (the backplane sends it to the other nodes).
        self.on_stored: Stored = lambda topic, data, sender, position: None
        self._resuming: asyncio.Lock | None = None
        self._storing = False  # the outage buffer is being stored: newer publications go behind it
        #: This writer's marker key (the answer of its latest batch), and the tokens of its batches.
        self._marker = f"{prefix}:ab:{uuid.uuid4().hex[:16]}"
        self._tokens = itertools.count(1)
        #: The batch whose answer was lost (it may be stored or not): sent again, as it was, before anything else.
        self._uncertain: tuple[list[str], list[str | int | bytes], list[_Append], list[int]] | None = None
        self._drop_logged = 0

    def _keys(self, topic: str) -> tuple[str, str]:
        keys = self._key_cache.get(topic)
        if keys is None:
            if len(self._key_cache) >= 4096:  # bounded: a client cycling topics cannot grow it
                self._key_cache.clear()
            keys = self._key_cache[topic] = (f"{self._prefix}:h:{topic}", f"{self._prefix}:hl:{topic}")
        return keys

    @staticmethod
    def _new_epoch() -> str:
        return uuid.uuid4().hex[:12]

    # -- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer task (in the running loop)."""
        self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name="ksps-history-writer")

    async def stop(self) -> None:
        """Answer what is queued with None, stop the tasks and close the connection."""
        for task in (self._writer, self._probe, *self._tasks):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                    await task
        self._fail(self._queue)
        self._queue = []
        with contextlib.suppress(RedisError, OSError):
            await self._redis.aclose()

    # -- the engine interface ------------------------------------------------------------------------------

    def append(
        self, topic: str, policy: HistoryPolicy, data: bytes, sender: str, done: Callable[[Position | None], None]
    ) -> None:
        """Queue one publication for the next pipeline; `done` gets its position (None while Redis is away)."""
        if self._writer is None:
            done(None)
            return
        if self._storing or (not (self.open and self._healthy) and not (self._busy or self._queue)):
            # Closed (or the buffer is being stored), and nothing of ours still on its way to Redis (a
            # publication behind those waits its turn, so that order is kept): delivered here now, stored and
            # sent when the node is back, behind the others.
            self.keep(topic, policy, data, sender)
            done(None)
            return
        self._queue.append((topic, policy, data, sender, done))
        self._wake.set()

    def keep(
        self, topic: str, policy: HistoryPolicy, data: bytes, sender: str, position: Position | None = None
    ) -> None:
        """Keep a publication in the outage buffer (stored, if `position` is None, and sent when back)."""
        outage = self.outage
        outage.keep(topic, policy, data, sender, position)
        # A line at the first drop, then at 2, 4, 8...: the flood shows its size without filling the log.
        if outage.dropped > self._drop_logged and (not self._drop_logged or outage.dropped >= 2 * self._drop_logged):
            log.warning(
                "history: %d publications dropped from the outage buffer so far (bounds: the topic's history"
                " size, --history-outage-max-bytes %d)",
                outage.dropped,
                outage.max_bytes,
            )
            self._drop_logged = outage.dropped

    def close(self) -> None:
        """The node is cut off from the cluster: publications wait in the outage buffer from now on."""
        self.open = False

    async def resume(self) -> bool:
        """The node is joined again: store the outage buffer in order, then open appends (spec/cluster.md §11).

        Returns once every kept publication has its answer (stored and handed to `on_stored`, or kept again if
        Redis failed once more); False when Redis cannot be reached.
        """
        if self._resuming is None:
            self._resuming = asyncio.Lock()
        async with self._resuming:
            if not self._healthy:
                try:
                    await self._redis.ping()
                except (RedisError, OSError):
                    self._start_probe()  # it resumes once Redis answers
                    return False
                self._healthy = True
            if self._uncertain is not None and not await self._settle_uncertain():
                return False
            self._storing = True
            try:
                stored = await self._store_outage()
            finally:
                self._storing = False
            if stored:
                self.open = True  # the buffer is stored: newer publications get higher offsets
            return stored and self._healthy

    async def _store_outage(self) -> bool:
        """Store the outage buffer, STORE_CHUNK publications per call, until it is empty; False if Redis failed."""
        total = 0
        while len(self.outage):
            entries = self.outage.take(STORE_CHUNK)
            waiting = [entry for entry in entries if entry.position is None]
            for entry in entries:
                if entry.position is not None:  # stored while cut off from the other nodes: only sent
                    self.on_stored(entry.topic, entry.data, entry.sender, entry.position)
            if not waiting:
                continue
            if not total:
                log.warning("history: storing and sending the publications made while Redis was away")
            total += len(waiting)
            finished = asyncio.get_running_loop().create_future()
            for index, entry in enumerate(waiting):
                done = self._stored(entry, finished if index == len(waiting) - 1 else None)
                self._queue.append((entry.topic, entry.policy, entry.data, entry.sender, done))
            self._wake.set()
            await finished
            if self._uncertain is not None:  # Redis failed again: this chunk is sent again next time
                return False
        if total:
            log.warning("history: stored and sent %d publications made while Redis was away", total)
        return True

    async def _settle_uncertain(self) -> bool:
        """Send the batch whose answer was lost again, with its token: stored once, whatever happened."""
        assert self._uncertain is not None
        keys, args, batch, counts = self._uncertain
        try:
            results: list[Any] = await self._append(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            self._unhealthy(exc)
            return False
        self._uncertain = None
        for (topic, _, data, sender, _), position in zip(batch, _positions(results, counts), strict=True):
            self.on_stored(topic, data, sender, position)  # delivered here already, without an offset
        return True

    def _stored(self, entry: Unsent, finished: asyncio.Future[None] | None) -> Callable[[Position | None], None]:
        def done(position: Position | None) -> None:
            if position is not None:
                self.on_stored(entry.topic, entry.data, entry.sender, position)
            # None: the batch's answer was lost; it is sent again as it was (`_uncertain`) on the next resume.
            if finished is not None and not finished.done():
                finished.set_result(None)

        return done

    def read(self, topic: str, query: Query, done: Callable[[Page | None], None]) -> None:
        """Run the read script; `done` gets the page, or None while Redis is away."""
        if not self._healthy:
            done(None)
            return
        task = asyncio.get_running_loop().create_task(self._run_read(topic, query, done))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def size(self) -> tuple[int, int]:
        """Not counted per node: the history lives in Redis."""
        return 0, 0

    # -- I/O -----------------------------------------------------------------------------------------------

    async def _run_read(self, topic: str, query: Query, done: Callable[[Page | None], None]) -> None:
        args: list[str | int] = [self._new_epoch(), META_TTL, query.after, -1 if query.before is None else query.before,
                query.limit, int(query.tail), int(time.time() * 1000)]  # fmt: skip
        try:
            top, epoch, first, items = await self._read(keys=list(self._keys(topic)), args=args)
        except (RedisError, OSError) as exc:
            self._unhealthy(exc)
            done(None)
            return
        # Reads and appends use different connections: Redis may have run the batch in flight before this
        # read, so the page may hold publications of this node not delivered here yet. Their callbacks run
        # first (delivered with their offsets, noted by the gap fill), so a reader of the page never hands
        # them out a second time (spec/cluster.md §11). A batch sent after this answer arrived is not in it.
        in_flight = self._in_flight
        if in_flight is not None:
            await asyncio.shield(in_flight)
        records = []
        for item in items:
            offset, _, entry = item.split(b",", 2)
            sender, data = _decode_entry(entry)
            records.append(Record(int(offset), bytes(data), sender))
        done(Page(Position(int(top), epoch.decode()), int(first), records))

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._queue = self._queue, []
            if not batch:
                continue
            keys, args, counts = self._pack(batch)
            self._busy = True
            answered = self._in_flight = asyncio.get_running_loop().create_future()
            try:
                await self._write_batch(keys, args, batch, counts)
            finally:
                self._in_flight = None
                answered.set_result(None)

    async def _write_batch(
        self, keys: list[str], args: list[str | int | bytes], batch: list[_Append], counts: list[int]
    ) -> None:
        """One script call for `batch`; each publication's callback runs before this returns."""
        try:
            results: list[Any] = await self._append(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            self._busy = False
            self._unhealthy(exc)
            # Stored or not, we cannot tell: sent again as it was when Redis is back (the marker answers
            # if it was stored). What queued up behind it is kept in the outage buffer, in order.
            self._uncertain = (keys, args, batch, counts)
            for *_, done in batch:
                done(None)
            behind, self._queue = self._queue, []
            for topic, policy, data, sender, done in behind:
                self.keep(topic, policy, data, sender)
                done(None)
            return
        self._busy = False
        for (*_, done), position in zip(batch, _positions(results, counts), strict=True):
            done(position)

    def _pack(self, batch: list[_Append]) -> tuple[list[str], list[str | int | bytes], list[int]]:
        """The keys and arguments of the append script for `batch`, one run per stretch of publications of
        one topic and policy, and the length of each run."""
        keys: list[str] = [self._marker]
        args: list[str | int | bytes] = [self._new_epoch(), META_TTL, int(time.time() * 1000), f"{next(self._tokens)}"]
        counts: list[int] = []
        run_topic: str | None = None
        run_policy: HistoryPolicy | None = None
        entries: list[bytes] = []
        for topic, policy, data, sender, _ in batch:
            if topic != run_topic or policy is not run_policy:
                if entries:
                    args.append(_run_argument(run_policy, entries))
                    counts.append(len(entries))
                    entries = []
                keys += self._keys(topic)
                run_topic, run_policy = topic, policy
            entry = _encode_entry((sender, msgspec.Raw(data)))
            entries.append(b"%d:%b" % (len(entry), entry))
        if entries:
            args.append(_run_argument(run_policy, entries))
            counts.append(len(entries))
        return keys, args, counts

    @staticmethod
    def _fail(batch: list[_Append]) -> None:
        for *_, done in batch:
            done(None)

    def _unhealthy(self, exc: BaseException) -> None:
        self.open = False
        if self._healthy:
            log.warning("history: redis unreachable (%s); publications are kept until it is back", exc)
            self._healthy = False
        self._start_probe()

    def _start_probe(self) -> None:
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().create_task(self._reconnect(), name="ksps-history-probe")

    async def _reconnect(self) -> None:
        while True:
            await asyncio.sleep(PROBE_INTERVAL)
            try:
                await self._redis.ping()
            except (RedisError, OSError):
                continue
            if not self._healthy:
                log.info("history: redis reachable again")
                self._healthy = True
            # Joined to the cluster (only this connection failed): store the outage buffer here. Otherwise the
            # backplane does it when it rejoins.
            if not self.joined() or await self.resume():
                return
