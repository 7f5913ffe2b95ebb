"""The gateway: cache in front of the router, usage behind it. One call for every task."""

from __future__ import annotations

import dataclasses
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import platformdirs

from ..config import Config
from ..config.secrets import resolve_api_key
from ..config.team import redis_url
from .answers import Answer, Ask, CacheState, NoAnswer
from .cache import CacheStore, ResponseCache, SqliteStore, cache_key
from .health import HealthBoard
from .provider import ProviderClient
from .report import BoardHealth, StatsReport
from .router import AllFailed, Router, RouteRequest
from .tiered_cache import TieredCache
from .transport import fair_transport
from .usage import UsageLog

if TYPE_CHECKING:
    from .team import Team

T = TypeVar("T")

log = logging.getLogger(__name__)

APP_NAME = "switchboard"


def default_cache_path() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME)) / "cache.sqlite"


def default_usage_path() -> Path:
    return Path(platformdirs.user_state_dir(APP_NAME)) / "usage.sqlite"


@dataclass
class Gateway:
    """Routes asks to models, with a cache in front and usage accounting behind.

    Build it with `Gateway.create(config)`; close it with `await gateway.aclose()`.
    """

    config: Config
    router: Router
    cache: ResponseCache | None
    usage: UsageLog
    http: httpx.AsyncClient
    team: Team | None = None  # the shared Redis tier, when the config names one
    _clock: Callable[[], float] = field(default=time.monotonic)
    # Which cached copy counts (local, the team's, fresh or stale): one object decides.
    tiers: TieredCache = field(init=False)

    def __post_init__(self) -> None:
        self.tiers = TieredCache(self.cache, self.team, self.usage)

    @classmethod
    def create(
        cls,
        config: Config,
        *,
        environ: Mapping[str, str] | None = None,
        cache_store: CacheStore | None = None,
        max_connections: int = 64,
    ) -> Gateway:
        environ = os.environ if environ is None else environ
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        http = httpx.AsyncClient(
            transport=fair_transport(limits), limits=limits, follow_redirects=False
        )
        clients = {
            name: ProviderClient(name, provider, http, resolve_api_key(provider, environ))
            for name, provider in config.providers.items()
        }
        usage = UsageLog(
            config.usage.path or default_usage_path(), latency_samples=config.usage.latency_samples
        )
        cache = None
        if config.cache.enabled:
            store = cache_store or _open_store(config)
            cache = ResponseCache(
                store, ttl_s=config.cache.ttl_s, memory_max_bytes=config.cache.memory_max_bytes
            )
        team = None
        if redis_url(config.cache, environ) is not None:
            from .team import Team  # the Redis client is imported only in team mode

            try:
                team = Team.open(config, usage, environ)
            except BaseException:
                usage.close()  # the files opened so far, before the error goes up
                if cache is not None:
                    cache.close()
                raise
        health = team.health if team is not None and team.health is not None else None
        router = Router(config, clients, health or HealthBoard(config.breaker), usage)
        return cls(config=config, router=router, cache=cache, usage=usage, http=http, team=team)

    def warm(self) -> None:
        """Begin connecting to the team's Redis in the background, so that the first request
        finds its connections open (call it once an event loop runs)."""
        if self.team is not None:
            self.team.link.start()

    async def start(self) -> None:
        """Connect to the team's Redis now, waiting at most its connect timeout (for the CLI,
        which asks once and exits; the editor's first request only waits `timeout_ms`)."""
        if self.team is not None:
            await self.team.link.ready(self.team.link.io_timeout_s)

    def cache_key_of(self, ask: Ask[Any]) -> str:
        """Where `ask`'s answer is cached, here and in the team's Redis alike."""
        return cache_key(ask.task, ask.route, self.config.route_models(ask.route), ask.prompt)

    def cached(self, ask: Ask[T]) -> Answer[T] | None:
        """The cached answer for `ask` (labelled fresh or stale), without asking any model."""
        key = self._key(ask)
        return self.tiers.cached(ask, key) if key is not None else None

    async def recall(self, ask: Ask[T]) -> Answer[T] | None:
        """A cached answer from this machine or, in team mode, the team's cache (one bounded
        round trip), without asking any model. For callers that must not spend money."""
        key = self._key(ask)
        return await self.tiers.recall(ask, key) if key is not None else None

    async def ask(self, ask: Ask[T]) -> Answer[T]:
        """Answer from a fresh cache entry, else from the route, else from a stale entry."""
        found = await self.tiers.lookup(ask, self._key(ask))
        if found.answer is not None:
            return self._with_team_notices(found.answer)
        knobs = self.config.task(ask.task)
        try:
            routed = await self.router.route(
                RouteRequest(
                    task=ask.task,
                    chain=self.config.route(ask.route),
                    prompt=ask.prompt,
                    parse=ask.parse,
                    deadline_s=knobs.deadline_s,
                    knobs=knobs,
                    verify=ask.verify,
                )
            )
        except AllFailed as failed:
            self.usage.maybe_flush()
            notices = failed.notices + self._team_notices()
            stale = self.tiers.stale(ask, found, failed.attempts, notices)
            if stale is not None:
                return stale
            raise NoAnswer(ask.route, failed.attempts, notices) from None
        if found.key is not None:
            self.tiers.store(found.key, routed.text, routed.model, routed.provider)
        self.usage.maybe_flush()
        return Answer(
            value=routed.value,
            text=routed.text,
            model=routed.model,
            provider=routed.provider,
            cache=CacheState.MISS,
            route=ask.route,
            attempts=routed.attempts,
            usage=routed.usage,
            cost_usd=routed.cost_usd,
            notices=routed.notices + self._team_notices(),
        )

    def _key(self, ask: Ask[Any]) -> str | None:
        """Where `ask`'s answer is cached; None when it bypasses the cache or there is none."""
        return self.cache_key_of(ask) if self.cache is not None and ask.use_cache else None

    def _team_notices(self) -> tuple[str, ...]:
        return self.team.notices() if self.team is not None else ()

    def _with_team_notices(self, answer: Answer[T]) -> Answer[T]:
        notices = self._team_notices()
        return dataclasses.replace(answer, notices=answer.notices + notices) if notices else answer

    def reconfigure(self, config: Config) -> None:
        """Adopt new routes and knobs (providers are fixed for the gateway's life)."""
        self.config = config
        self.router.config = config

    def provider_health(self) -> dict[str, BoardHealth]:
        return self.router.health.snapshot(self._clock())

    def clear_cache(self) -> None:
        """Clear the local cache and, in team mode, the team's entries for this policy."""
        if self.cache is not None:
            self.cache.clear()
        if self.team is not None and self.team.cache is not None:
            self.team.cache.clear()

    async def team_stats(self) -> StatsReport | None:
        """The team's shared figures; None when team mode is off. Raises TeamUnavailable."""
        if self.team is None:
            return None
        self.usage.flush()  # this member's latest figures count too
        await self.team.link.drain(self.team.link.io_timeout_s)
        return await self.team.stats()

    async def aclose(self) -> None:
        self.usage.flush()  # hands the last figures to the team before its link closes
        if self.team is not None:
            await self.team.aclose()
        await self.http.aclose()
        self.usage.close()
        if self.cache is not None:
            self.cache.close()


def _open_store(config: Config) -> CacheStore | None:
    """The persistent cache, or None (memory only) when its file cannot be used: a cache
    is never a reason not to answer."""
    path = config.cache.path or default_cache_path()
    try:
        return SqliteStore(
            path, max_entries=config.cache.max_entries, max_bytes=config.cache.max_bytes
        )
    except (sqlite3.Error, OSError) as exc:
        log.warning(
            "The cache file %s cannot be used (%s); answers are cached in memory only.", path, exc
        )
        return None
