"""Usage added up across the team: every member's per-model figures, summed in Redis.

Each batch the local usage log saves is also added to per-model counters in Redis (HINCRBY, so
members never overwrite each other; inline suggestions shown and accepted among them) and to
capped lists of recent latencies (of answers, and of suggestions). Figures that
cannot be sent wait for the next batch; `switchboard stats --team` reads them back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redis.asyncio.client import Pipeline

from ..policy import percentile
from ..usage import ModelStats, Spend, UsageDelta, sorted_kinds
from .keys import Keys
from .link import RedisLink
from .writes import Write

# A day's spend is kept past the end of its month, for monthly budgets.
_SPEND_EXPIRE_S = 40 * 86400

_INT_FIELDS = (
    "requests",
    "ok",
    "prompt_tokens",
    "completion_tokens",
    "cache_fresh",
    "cache_stale",
    "shown",
    "accepted",
)


class TeamUsage:
    def __init__(self, link: RedisLink, keys: Keys, *, latency_samples: int) -> None:
        self.link = link
        self.keys = keys
        self.latency_samples = latency_samples
        self._pending: dict[str, UsageDelta] = {}
        self._sending: dict[str, UsageDelta] = {}
        self._queued = False

    def push(self, batch: Mapping[str, UsageDelta]) -> None:
        """Add a batch to what goes to Redis next (a `UsageLog` sink: never waits)."""
        for alias, delta in batch.items():
            self._merge(alias, delta)
        if not self._queued:
            self._queued = True
            self.link.submit(Write(self._add, self._failed, self._sent))

    def _merge(self, alias: str, delta: UsageDelta) -> None:
        mine = self._pending.get(alias)
        if mine is None:
            mine = self._pending[alias] = UsageDelta(delta.provider)
        mine.merge(delta)

    def _add(self, pipe: Pipeline) -> None:
        self._sending, self._pending = self._pending, {}
        self._queued = False
        keys = self.keys
        for alias, d in self._sending.items():
            counters = keys.usage(alias)
            pipe.sadd(keys.usage_models, alias)
            pipe.hset(counters, "provider", d.provider)
            for name in _INT_FIELDS:
                if getattr(d, name):
                    pipe.hincrby(counters, name, getattr(d, name))
            if d.cost_usd:
                pipe.hincrbyfloat(counters, "cost_usd", d.cost_usd)
            for outcome, count in d.outcomes.items():
                pipe.hincrby(counters, f"outcome:{outcome}", count)
            for key, samples in (
                (keys.latency(alias), d.latencies),
                (keys.suggestion_latency(alias), d.suggestion_latencies),
            ):
                if samples:
                    pipe.lpush(key, *(round(ms, 3) for ms, _ in samples))
                    pipe.ltrim(key, 0, self.latency_samples - 1)
            for (day, task), usd in d.spend.items():
                pipe.hincrbyfloat(keys.spend(day), task, usd)
                pipe.expire(keys.spend(day), _SPEND_EXPIRE_S)

    def _sent(self) -> None:
        self._sending = {}

    def _failed(self) -> None:
        # Keep the figures for the next batch; the queued flag frees a later push to resend.
        sending, self._sending = self._sending, {}
        for alias, delta in sending.items():
            self._merge(alias, delta)
        self._queued = False

    async def spend(self, day: str) -> Spend:
        """The team's spend on `day` and in its month so far (raises TeamUnavailable)."""
        days = [f"{day[:8]}{n:02d}" for n in range(1, int(day[8:]) + 1)]

        async def read(client: Any) -> list[dict[bytes, bytes]]:
            async with client.pipeline(transaction=False) as pipe:
                for when in days:
                    pipe.hgetall(self.keys.spend(when))
                return await pipe.execute()

        today: dict[str, float] = {}
        month: dict[str, float] = {}
        for when, raw in zip(days, await self.link.query(read), strict=True):
            for task, usd in raw.items():
                name = task.decode()
                month[name] = month.get(name, 0.0) + float(usd)
                if when == day:
                    today[name] = float(usd)
        return Spend(day, today, month)

    async def snapshot(self) -> list[ModelStats]:
        """The team's figures per model (raises TeamUnavailable when Redis cannot be asked)."""
        keys = self.keys

        async def read(client: Any) -> list[tuple[Any, ...]]:  # alias, counters, two latency lists
            aliases = sorted(a.decode() for a in await client.smembers(keys.usage_models))
            async with client.pipeline(transaction=False) as pipe:
                for alias in aliases:
                    pipe.hgetall(keys.usage(alias))
                    pipe.lrange(keys.latency(alias), 0, -1)
                    pipe.lrange(keys.suggestion_latency(alias), 0, -1)
                results = await pipe.execute()
            return [(alias, *results[3 * i : 3 * i + 3]) for i, alias in enumerate(aliases)]

        stats = []
        for alias, raw, latency, suggestion_latency in await self.link.query(read):
            fields = {k.decode(): v.decode() for k, v in raw.items()}
            kinds = {
                name.removeprefix("outcome:"): int(value)
                for name, value in fields.items()
                if name.startswith("outcome:")
            }
            samples = [float(ms) for ms in latency]
            suggestion_samples = [float(ms) for ms in suggestion_latency]
            stats.append(
                ModelStats(
                    model=alias,
                    provider=fields.get("provider", "?"),
                    requests=int(fields.get("requests", 0)),
                    ok=int(fields.get("ok", 0)),
                    **sorted_kinds(kinds),
                    p50_ms=percentile(samples, 50),
                    p95_ms=percentile(samples, 95),
                    prompt_tokens=int(fields.get("prompt_tokens", 0)),
                    completion_tokens=int(fields.get("completion_tokens", 0)),
                    cost_usd=float(fields.get("cost_usd", 0.0)),
                    cache_fresh=int(fields.get("cache_fresh", 0)),
                    cache_stale=int(fields.get("cache_stale", 0)),
                    shown=int(fields.get("shown", 0)),
                    accepted=int(fields.get("accepted", 0)),
                    suggestion_p50_ms=percentile(suggestion_samples, 50),
                    suggestion_p95_ms=percentile(suggestion_samples, 95),
                )
            )
        return stats
