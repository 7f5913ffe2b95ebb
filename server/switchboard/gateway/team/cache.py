"""The team's tier of the response cache, in Redis behind each member's local cache.

Same keys (`cache_key`) and the same entries as the local store. Every entry expires
`expire_s` after it was made (fresh for `ttl_s`, then kept as a stale-if-error fallback), and
a Lua script keeps the namespace under its entry and byte caps, oldest entries out first.
Entries are dated on Redis's clock, so that a member whose clock is wrong cannot make an answer
look newer (and stay fresh longer) for everyone else.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from redis.asyncio.client import Pipeline

from ..cache import CacheEntry
from .keys import Keys
from .link import RedisLink
from .writes import Write

log = logging.getLogger(__name__)

# KEYS: entry, index, sizes, bytes.
# ARGV: member, value, created_at, expire_ms, size, max_entries, max_bytes, expired_before,
#       entry key prefix.
_PUT = """
local member = ARGV[1]
local created = tonumber(ARGV[3])
local current = redis.call('ZSCORE', KEYS[2], member)
if current and tonumber(current) >= created and redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local total = tonumber(redis.call('GET', KEYS[4]) or '0')
local function forget(m)
  local size = redis.call('HGET', KEYS[3], m)
  if size then
    total = total - tonumber(size)
    redis.call('HDEL', KEYS[3], m)
  end
  redis.call('ZREM', KEYS[2], m)
  redis.call('UNLINK', ARGV[9] .. m)
end
forget(member)
-- Expired entries leave their index rows behind: drop a bounded batch of them on each put.
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[8], 'LIMIT', 0, 256)
for _, m in ipairs(expired) do forget(m) end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[3], member)
redis.call('HSET', KEYS[3], member, ARGV[5])
total = total + tonumber(ARGV[5])
local max_entries = tonumber(ARGV[6])
local max_bytes = tonumber(ARGV[7])
local evicted = 0
while evicted < 1024 and (redis.call('ZCARD', KEYS[2]) > max_entries or total > max_bytes) do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)
  if #oldest == 0 then break end
  forget(oldest[1])
  evicted = evicted + 1
end
if total < 0 then total = 0 end
redis.call('SET', KEYS[4], total)
return 1
"""

# KEYS: index, sizes, bytes. ARGV: entry key prefix.
_CLEAR = """
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, m in ipairs(members) do redis.call('UNLINK', ARGV[1] .. m) end
redis.call('UNLINK', KEYS[1], KEYS[2], KEYS[3])
return #members
"""


def encode(entry: CacheEntry, *, clock_offset_s: float = 0.0) -> str:
    """The entry as stored in Redis, its age on Redis's clock (ours plus `clock_offset_s`)."""
    return json.dumps(
        {
            "key": entry.key,
            "text": entry.text,
            "model": entry.model,
            "provider": entry.provider,
            "created_at": entry.created_at + clock_offset_s,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def decode(
    key: str,
    raw: bytes | str | None,
    *,
    clock_offset_s: float = 0.0,
    now: Callable[[], float] = time.time,
) -> CacheEntry | None:
    """The entry stored under `key`, or None for nothing or something unreadable. Its time is
    brought back to our clock, and never later than now: an entry from the future would stay
    fresh past its time."""
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        if data["key"] != key:  # never serve one question's answer for another
            raise ValueError("the entry belongs to another key")
        return CacheEntry(
            key,
            str(data["text"]),
            str(data["model"]),
            str(data["provider"]),
            min(float(data["created_at"]) - clock_offset_s, now()),
        )
    except (ValueError, KeyError, TypeError):
        log.debug("ignoring an unreadable team cache entry %s", key)
        return None


class SharedCache:
    def __init__(
        self,
        link: RedisLink,
        keys: Keys,
        *,
        max_entries: int,
        max_bytes: int,
        expire_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.link = link
        self.keys = keys
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.expire_s = expire_s
        self._clock = clock

    def put(self, entry: CacheEntry) -> None:
        """Share an answer, in the background."""
        now = self._clock()
        expire_ms = int((entry.created_at + self.expire_s - now) * 1000)
        if entry.size > self.max_bytes or expire_ms <= 0:
            return
        keys = self.keys

        def add(pipe: Pipeline) -> None:
            offset = self.link.clock_offset_s  # known once connected, which sending needs
            pipe.eval(
                _PUT,
                4,
                keys.entry(entry.key),
                keys.cache_index,
                keys.cache_sizes,
                keys.cache_bytes,
                entry.key,
                encode(entry, clock_offset_s=offset),
                repr(entry.created_at + offset),
                expire_ms,
                entry.size,
                self.max_entries,
                self.max_bytes,
                repr(self._clock() + offset - self.expire_s),
                keys.entry_prefix,
            )

        self.link.submit(Write(add))

    def clear(self) -> None:
        """Drop every shared entry of this namespace, in the background."""
        keys = self.keys

        def add(pipe: Pipeline) -> None:
            pipe.eval(
                _CLEAR, 3, keys.cache_index, keys.cache_sizes, keys.cache_bytes, keys.entry_prefix
            )

        self.link.submit(Write(add))

    async def stats(self) -> dict[str, Any]:
        async def read(client: Any) -> list[Any]:
            async with client.pipeline(transaction=False) as pipe:
                pipe.zcard(self.keys.cache_index)
                pipe.get(self.keys.cache_bytes)
                return await pipe.execute()

        entries, total = await self.link.query(read)
        return {"entries": int(entries), "bytes": int(total or 0)}
