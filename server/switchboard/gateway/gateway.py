"""The gateway: cache in front of the router, usage behind it. One call for every task."""

from __future__ import annotations

import asyncio
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
from .answers import Answer, Ask, BudgetReached, CacheState, NoAnswer
from .budget import BudgetLevel, BudgetState, assess, free_chain, limited, limits
from .cache import CacheStore, ResponseCache, SqliteStore, cache_key
from .estimate import Estimate, estimate_ask
from .experience import Experience, fast_ones_failed
from .health import HealthBoard
from .outcomes import Attempt
from .policy import stronger_route
from .prices import UNKNOWN, Price, PriceBook, default_prices_path
from .provider import ProviderClient
from .report import BoardHealth, StatsReport
from .router import AllFailed, Router, RouteRequest
from .strategy import RouteOrders, measurer
from .tiered_cache import TieredCache
from .transport import fair_transport
from .usage import Spend, UsageLog, default_usage_path

if TYPE_CHECKING:
    from .team import Team

T = TypeVar("T")

log = logging.getLogger(__name__)

APP_NAME = "switchboard"

# How often a request may check whether prices are due a refresh, and re-read the team's spend.
_PRICES_CHECK_S = 60.0
_TEAM_SPEND_EVERY_S = 2.0


def default_cache_path() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME)) / "cache.sqlite"


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
    prices: PriceBook | None = None
    clients: Mapping[str, ProviderClient] = field(default_factory=dict)
    _clock: Callable[[], float] = field(default=time.monotonic)
    # Which cached copy counts (local, the team's, fresh or stale): one object decides.
    tiers: TieredCache = field(init=False)
    # The order in use per route with a strategy (latency, price, mixed): looked up per request.
    orders: RouteOrders = field(init=False)
    # Which kinds of fix the fast models recently failed on (escalation by experience).
    experience: Experience = field(init=False, default_factory=Experience)

    def __post_init__(self) -> None:
        self.tiers = TieredCache(self.cache, self.team, self.usage)
        self.orders = RouteOrders(self.config, measurer(self.usage.recent_latencies, self.price_of))
        self.orders.refresh(self._clock(), force=True)

    _told: set[str] = field(default_factory=set)  # budget notices already given
    _team_spend: Spend | None = None  # the team's spend as last read from Redis
    _mine_at_team_read: Spend | None = None  # this machine's spend at that read
    _team_spend_at: float = -1e9
    _team_spend_task: asyncio.Task[None] | None = None
    _prices_checked_at: float = -1e9

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
        prices = PriceBook(
            config, Path(config.prices.path) if config.prices.path else default_prices_path()
        )
        router = Router(
            config, clients, health or HealthBoard(config.breaker), usage, prices=prices
        )
        return cls(
            config=config,
            router=router,
            cache=cache,
            usage=usage,
            http=http,
            team=team,
            prices=prices,
            clients=clients,
        )

    def warm(self) -> None:
        """Begin connecting to the team's Redis and looking up missing prices in the
        background, so that the first request waits for neither (call it once a loop runs)."""
        if self.team is not None:
            self.team.link.start()
        self._maybe_refresh_prices()

    async def start(self) -> None:
        """Connect to the team's Redis and look up stale prices now, each waiting at most its
        timeout (for the CLI, which asks once and exits; the editor never waits for these)."""
        if self.team is not None:
            await self.team.link.ready(self.team.link.io_timeout_s)
            await self._read_team_spend()
        if self.prices is not None and self.prices.stale():
            try:
                async with asyncio.timeout(self.config.prices.timeout_s * 2):
                    await self.prices.refresh(self.clients)
            except TimeoutError:
                log.info("Looking up model prices took too long; costs may show as unknown.")

    def _maybe_refresh_prices(self) -> None:
        now = self._clock()
        if self.prices is not None and now - self._prices_checked_at >= _PRICES_CHECK_S:
            self._prices_checked_at = now
            self.prices.refresh_in_background(self.clients)

    def estimate(self, ask: Ask[Any]) -> Estimate | None:
        """What `ask` would likely cost on its route's first fitting model; sends nothing."""
        return estimate_ask(self.config, ask, self.price_of, self.usage.output_samples)

    def price_of(self, alias: str) -> Price:
        return self.prices.price(alias) if self.prices is not None else UNKNOWN

    def budget_report(self) -> dict[str, Any]:
        """Today's and this month's spend against every limit, for `stats` and editors."""
        spend = self.spend()
        state = self.budget_state()
        return {
            "day": spend.day,
            "today_usd": round(spend.today_total, 6),
            "month_usd": round(spend.month_total, 6),
            "by_task": {
                task: {
                    "today_usd": round(spend.today.get(task, 0.0), 6),
                    "month_usd": round(usd, 6),
                }
                for task, usd in sorted(spend.month.items())
            },
            "limits": [limit.to_json() for limit in limits(self.config.budget, spend, None)],
            "state": state.level.value,
        }

    # -- budgets ------------------------------------------------------------------------------

    def spend(self) -> Spend:
        """Today's and this month's spend: this machine's, or the team's where it is larger."""
        local = self.usage.spend()
        team, then = self._team_spend, self._mine_at_team_read
        if team is None or then is None or team.day != local.day:
            return local
        return local.with_team(team, then)

    def budget_state(self, task: str | None = None) -> BudgetState:
        """Where spend stands against the limits that apply to `task` (all when None)."""
        if not limited(self.config.budget, task):  # each request asks: no spend read
            return BudgetState(BudgetLevel.OK)
        return assess(self.config.budget, self.spend(), task)

    def _budget_notices(self, state: BudgetState) -> tuple[str, ...]:
        if state.limit is None or state.level is BudgetLevel.OK:
            return ()
        day = self.spend().day
        daily = state.limit is not None and state.limit.period == "daily"
        said = state.notice(day if daily else day[:7])  # said again next day / month
        if said is None or said[0] in self._told:
            return ()
        self._told.add(said[0])
        log.warning("%s", said[1])
        return (said[1],)

    def _is_free(self, alias: str) -> bool:
        return self.price_of(alias).free

    def _refresh_team_spend(self) -> None:
        """Re-read the team's spend in the background, at most every few seconds."""
        if self.team is None or self.team.usage is None:
            return
        if self._team_spend_task is not None and not self._team_spend_task.done():
            return
        if self._clock() - self._team_spend_at < _TEAM_SPEND_EVERY_S:
            return
        self._team_spend_task = asyncio.get_running_loop().create_task(self._read_team_spend())

    async def _read_team_spend(self) -> None:
        if self.team is None or self.team.usage is None:
            return
        self._team_spend_at = self._clock()
        mine = self.usage.spend()
        try:
            self._team_spend = await self.team.usage.spend(mine.day)
            self._mine_at_team_read = mine
        except Exception as exc:  # TeamUnavailable and friends: this machine's figures serve
            log.info("Could not read the team's spend (%s).", exc)

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
        """Answer from a fresh cache entry, else from the route, else from a stale entry.

        Past a budget, the route keeps only its free models, then serves the cache alone."""
        self._maybe_refresh_prices()
        self._refresh_team_spend()
        before = self.budget_state(ask.task)
        ask, escalated = self._by_experience(ask)
        try:
            answer = await self._ask(ask, before)
        except NoAnswer as failed:
            after = self.budget_state(ask.task)
            failed.notices = self._budget_notices(after) + failed.notices
            failed.budget = after.level.value
            self._learn(ask, failed.attempts)
            raise
        self._learn(ask, answer.attempts)
        after = self.budget_state(ask.task)
        return dataclasses.replace(
            answer,
            notices=self._budget_notices(after) + escalated + answer.notices,
            budget=after.level.value,
        )

    def _by_experience(self, ask: Ask[T]) -> tuple[Ask[T], tuple[str, ...]]:
        """`ask` sent to the stronger route when the fast models recently failed on its kind
        of fix, with a notice saying so; else `ask` as it is."""
        knobs = self.config.task(ask.task)
        if ask.experience is None or not knobs.escalate_after_failures:
            return ask, ()
        stronger = stronger_route(ask.task, self.config.routes)
        if ask.route != ask.task or stronger == ask.route:
            return ask, ()  # already escalated (a large fix), or nowhere to go
        failures = self.experience.failures(
            ask.experience, self._clock(), knobs.escalation_memory_s
        )
        if failures < knobs.escalate_after_failures:
            return ask, ()
        notice = (
            f"Sent to the '{stronger}' route: the '{ask.route}' route's models failed "
            f"{failures} times on this kind of fix in this file lately."
        )
        return dataclasses.replace(ask, route=stronger), (notice,)

    def _learn(self, ask: Ask[Any], attempts: tuple[Attempt, ...]) -> None:
        if ask.experience is None or ask.route != ask.task:
            return
        if fast_ones_failed(attempts, self.config.route(ask.route)):
            knobs = self.config.task(ask.task)
            self.experience.failed(ask.experience, self._clock(), knobs.escalation_memory_s)

    async def _ask(self, ask: Ask[T], budget: BudgetState) -> Answer[T]:
        found = await self.tiers.lookup(ask, self._key(ask))
        if found.answer is not None:
            return self._with_team_notices(found.answer)
        chain = self.orders.chain(ask.route, self.config.route(ask.route))
        if budget.level is BudgetLevel.REACHED:
            chain = free_chain(chain, self._is_free)
            if not chain:  # the cache alone, whatever the age of its answer
                cached = self.tiers.newest(ask, found)
                if cached is not None:
                    return cached
                raise BudgetReached(ask.route, (), self._team_notices())
        knobs = self.config.task(ask.task)
        try:
            routed = await self.router.route(
                RouteRequest(
                    task=ask.task,
                    chain=chain,
                    prompt=ask.prompt,
                    parse=ask.parse,
                    deadline_s=knobs.deadline_s,
                    knobs=knobs,
                    verify=ask.verify,
                )
            )
        except AllFailed as failed:
            self.usage.maybe_flush()
            self.orders.refresh(self._clock())
            notices = failed.notices + self._team_notices()
            stale = self.tiers.stale(ask, found, failed.attempts, notices)
            if stale is not None:
                return stale
            raise NoAnswer(ask.route, failed.attempts, notices) from None
        if found.key is not None:
            self.tiers.store(found.key, routed.text, routed.model, routed.provider)
        self.usage.maybe_flush()
        self.orders.refresh(self._clock())
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
        if self.prices is not None:
            self.prices.config = config
        self.orders.reconfigure(config)
        self.orders.refresh(self._clock(), force=True)

    def route_orders(self) -> dict[str, dict[str, object]]:
        """Each route with a strategy: the order in use and why (for `stats`)."""
        return self.orders.snapshot(self._clock())

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
        if self.prices is not None:
            await self.prices.aclose()
        if self._team_spend_task is not None:
            self._team_spend_task.cancel()
            await asyncio.gather(self._team_spend_task, return_exceptions=True)
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
