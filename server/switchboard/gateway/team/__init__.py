"""Team mode: the cache, provider health and usage shared through a Redis/Valkey server.

Everything here is an addition to the local state, never a replacement: each member keeps its
SQLite cache, health board and usage log, and Switchboard works the same without Redis.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio.client import Pipeline

from ...config import CacheConfig, Config
from ...config.team import redis_password, redis_url
from ..cache import CacheEntry
from ..report import CacheFigures, ModelRow, StatsReport, TeamHealth, TeamScope
from ..usage import UsageLog
from .cache import SharedCache, decode
from .connection import LinkState, TeamUnavailable, describe_url, open_client
from .health import SharedHealthBoard, parse_health
from .keys import Keys, policy_namespace
from .link import RedisLink
from .usage import TeamUsage
from .writes import Write

__all__ = [
    "LinkState",
    "RedisLink",
    "SharedCache",
    "SharedHealthBoard",
    "Team",
    "TeamUnavailable",
    "TeamUsage",
    "redis_url",
    "shared_expire_s",
]

_THIRTY_DAYS_S = 30 * 24 * 3600.0

# A cool-down replaces what is there unless a longer one already stands.
# KEYS: health key. ARGV: value, until, expire_ms.
_COOLDOWN = """
local current = redis.call('GET', KEYS[1])
if current then
  local ok, v = pcall(cjson.decode, current)
  if ok and type(v) == 'table' and tonumber(v['until'])
     and tonumber(v['until']) >= tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
"""

# A success ends a breaker's cool-down that began before it; a Retry-After runs its course.
# KEYS: health key. ARGV: value, success time, keep_ms.
_RECOVER = """
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local ok, v = pcall(cjson.decode, current)
if not ok or type(v) ~= 'table' or not tonumber(v['until']) then return 0 end
if v['kind'] == 'retry_after' or (tonumber(v['at']) or 0) >= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
"""


def shared_expire_s(cache: CacheConfig) -> float:
    """How long a shared entry lives in Redis: by default fresh for `ttl_s`, then 30 days more
    as a stale-if-error fallback (whatever `ttl_s` is, the stale window stays)."""
    if cache.shared_expire_s is not None:
        return cache.shared_expire_s
    return cache.ttl_s + _THIRTY_DAYS_S


@dataclass
class Team:
    """The shared parts of one gateway: a link to Redis and what goes over it."""

    link: RedisLink
    keys: Keys
    cache: SharedCache | None
    health: SharedHealthBoard | None
    usage: TeamUsage | None
    providers: tuple[str, ...]

    @classmethod
    def open(cls, config: Config, usage_log: UsageLog, environ: Mapping[str, str]) -> Team | None:
        """The team for `config`, or None when no Redis is configured."""
        settings = config.cache
        url = redis_url(settings, environ)
        if url is None:
            return None
        io_timeout_s = settings.connect_timeout_ms / 1000
        client = open_client(
            url,
            password=redis_password(settings, environ),
            ca_file=settings.ca_file,
            io_timeout_s=io_timeout_s,
        )
        link = RedisLink(
            client,
            where=describe_url(url),
            timeout_s=settings.timeout_ms / 1000,
            io_timeout_s=io_timeout_s,
        )
        keys = Keys(settings.namespace or policy_namespace(config))
        cache = None
        if settings.enabled:
            cache = SharedCache(
                link,
                keys,
                max_entries=settings.shared_max_entries,
                max_bytes=settings.shared_max_bytes,
                expire_s=shared_expire_s(settings),
            )
        team = cls(link, keys, cache, None, None, tuple(sorted(config.providers)))
        if settings.share_health:
            team.health = SharedHealthBoard(config.breaker, channel=team)
        if settings.share_usage:
            team.usage = TeamUsage(link, keys, latency_samples=config.usage.latency_samples)
            usage_log.add_sink(team.usage.push)
        link.start()
        return team

    async def before_route(self, key: str | None) -> CacheEntry | None:
        """One round trip, bounded by `timeout_ms`, before a request is routed: the shared
        entry for `key` (if any) and the team's view of provider health."""
        health = self.health
        names = [self.keys.health(p) for p in self.providers] if health is not None else []
        want_entry = key is not None and self.cache is not None
        if not names and not want_entry:
            return None

        commands: list[tuple[Any, ...]] = []
        if want_entry and key is not None:
            commands.append(("GET", self.keys.entry(key)))
        if names:
            commands.append(("MGET", *names))
        results = await self.link.read(commands)
        if results is None:
            return None
        if names and health is not None:
            for provider, raw in zip(self.providers, results[-1], strict=True):
                health.observe(provider, raw)
        if not want_entry or key is None:
            return None
        return decode(key, results[0], clock_offset_s=self.link.clock_offset_s, now=self.link.wall)

    def share(self, entry: CacheEntry) -> None:
        if self.cache is not None:
            self.cache.put(entry)

    # -- HealthChannel: what the health board tells the team, sent in the background --

    def cooldown(self, provider: str, value: dict[str, Any], expire_ms: int) -> None:
        name, data = self.keys.health(provider), json.dumps(value, separators=(",", ":"))
        until = repr(value["until"])

        def add(pipe: Pipeline) -> None:
            pipe.eval(_COOLDOWN, 1, name, data, until, expire_ms)

        self.link.submit(Write(add))

    def success(self, provider: str, at: float, keep_ms: int) -> None:
        name = self.keys.health(provider)
        data = json.dumps({"recovered": at}, separators=(",", ":"))

        def add(pipe: Pipeline) -> None:
            pipe.eval(_RECOVER, 1, name, data, repr(at), keep_ms)

        self.link.submit(Write(add))

    def notices(self) -> tuple[str, ...]:
        return self.link.take_notices()

    async def stats(self) -> StatsReport:
        """The team's figures (raises TeamUnavailable when Redis cannot be asked)."""
        models = await self.usage.snapshot() if self.usage is not None else []
        cache = await self.cache.stats() if self.cache is not None else None
        names = [self.keys.health(p) for p in self.providers]

        async def read_health(client: Any) -> list[Any]:
            return await client.mget(names) if names else []

        providers: dict[str, TeamHealth] = {}
        now = time.time()
        for provider, raw in zip(self.providers, await self.link.query(read_health), strict=True):
            value = parse_health(raw)
            if value is None:
                continue
            if isinstance(value.get("until"), int | float) and value["until"] > now:
                providers[provider] = TeamHealth(
                    "cooling_down",
                    cooling_for_s=round(value["until"] - now, 3),
                    outcome=value.get("outcome"),
                )
            elif isinstance(value.get("recovered"), int | float):
                ago = round(now - value["recovered"], 1)
                providers[provider] = TeamHealth("ok", recovered_s_ago=ago)
        return StatsReport(
            models=tuple(ModelRow(figures) for figures in models),
            providers=providers,
            cache=CacheFigures(**cache) if cache is not None else None,
            team=TeamScope(self.keys.namespace, self.link.where),
        )

    async def aclose(self) -> None:
        await self.link.aclose()

    @property
    def up(self) -> bool:
        return self.link.state is LinkState.UP
