"""The stats report: per model figures, provider health and cache size, for this machine or the
whole team, in one type with one JSON form.

`switchboard stats --json`, `stats --team --json` and the `switchboard.stats` LSP command print
`StatsReport.to_json()`; editors (vscode-client/src/stats.ts, neovim/lua/switchboard/stats.lua)
read it. Its JSON Schema is `switchboard/schemas/stats.schema.json`: change both together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .outcomes import EditQuality
from .prices import Price
from .usage import ModelStats


@dataclass(frozen=True, slots=True)
class ModelRow:
    """One model's figures, and its price where a config names it (not for the team's sums,
    which members with different configs add up)."""

    figures: ModelStats
    price: Price | None = None

    # The figures as reported, rounded: the CLI's table shows what the JSON says.

    @property
    def availability(self) -> float | None:
        """The share of requests answered; None before the first request."""
        figures = self.figures
        return round(figures.ok / figures.requests, 4) if figures.requests else None

    @property
    def p50_ms(self) -> float | None:
        return _tenths(self.figures.p50_ms)

    @property
    def p95_ms(self) -> float | None:
        return _tenths(self.figures.p95_ms)

    @property
    def cost_usd(self) -> float:
        return round(self.figures.cost_usd, 6)

    @property
    def acceptance_rate(self) -> float | None:
        """The share of inline suggestions shown that were accepted; None before the first."""
        figures = self.figures
        return round(min(1.0, figures.accepted / figures.shown), 4) if figures.shown else None

    @property
    def suggestion_p50_ms(self) -> float | None:
        return _tenths(self.figures.suggestion_p50_ms)

    @property
    def suggestion_p95_ms(self) -> float | None:
        return _tenths(self.figures.suggestion_p95_ms)

    def suggestions_json(self) -> dict[str, Any] | None:
        figures = self.figures
        if not figures.shown and not figures.accepted:
            return None
        return {
            "shown": figures.shown,
            "accepted": figures.accepted,
            "acceptance_rate": self.acceptance_rate,
            "p50_ms": self.suggestion_p50_ms,
            "p95_ms": self.suggestion_p95_ms,
        }

    def to_json(self) -> dict[str, Any]:
        figures = self.figures
        suggestions = self.suggestions_json()
        return {
            **({"suggestions": suggestions} if suggestions is not None else {}),
            "model": figures.model,
            "provider": figures.provider,
            "requests": figures.requests,
            "ok": figures.ok,
            "failures": figures.failure_count,
            "failures_by_kind": dict(sorted(figures.failures.items())),
            "skipped_by_kind": dict(sorted(figures.skipped.items())),
            "availability": self.availability,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "prompt_tokens": figures.prompt_tokens,
            "completion_tokens": figures.completion_tokens,
            "cost_usd": self.cost_usd,
            "cache_hits": {"fresh": figures.cache_fresh, "stale": figures.cache_stale},
            "edits": {
                quality.value: figures.edits.get(quality.value, 0) for quality in EditQuality
            },
            "price_per_mtok": self.price.to_json() if self.price else None,
        }


def _tenths(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass(frozen=True, slots=True)
class BoardHealth:
    """A provider as this process's health board sees it."""

    state: str  # "ok", "cooling_down" or "disabled"
    consecutive_failures: int
    cooling_for_s: float
    disabled_reason: str | None
    team_cooling_for_s: float | None = None  # a teammate's cool-down, seen in team mode

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "state": self.state,
            "consecutive_failures": self.consecutive_failures,
            "cooling_for_s": self.cooling_for_s,
            "disabled_reason": self.disabled_reason,
        }
        if self.team_cooling_for_s is not None:
            data["team_cooling_for_s"] = self.team_cooling_for_s
        return data


@dataclass(frozen=True, slots=True)
class TeamHealth:
    """A provider as the team's Redis knows it: cooling down (and why), or recovered."""

    state: str  # "cooling_down" or "ok"
    cooling_for_s: float | None = None
    outcome: str | None = None  # what started the cool-down
    recovered_s_ago: float | None = None

    def to_json(self) -> dict[str, Any]:
        if self.state == "cooling_down":
            return {
                "state": self.state,
                "cooling_for_s": self.cooling_for_s,
                "outcome": self.outcome,
            }
        return {"state": self.state, "recovered_s_ago": self.recovered_s_ago}


ProviderHealth = BoardHealth | TeamHealth


@dataclass(frozen=True, slots=True)
class CacheFigures:
    """How much the cache holds; the in-memory part only for this process's cache."""

    entries: int
    bytes: int
    memory_entries: int | None = None
    memory_bytes: int | None = None

    def to_json(self) -> dict[str, int]:
        memory = (
            {"memory_entries": self.memory_entries, "memory_bytes": self.memory_bytes}
            if self.memory_entries is not None and self.memory_bytes is not None
            else {}
        )
        return {**memory, "entries": self.entries, "bytes": self.bytes}


@dataclass(frozen=True, slots=True)
class TeamScope:
    """Whose figures a team report holds: the policy's namespace in which Redis."""

    namespace: str
    redis: str  # where, without credentials


@dataclass(frozen=True, slots=True)
class StatsReport:
    models: tuple[ModelRow, ...]
    providers: Mapping[str, ProviderHealth] = field(default_factory=dict)
    cache: CacheFigures | None = None
    team: TeamScope | None = None  # None: this machine's own figures
    # Spend against the limits (gateway/budget.py), and the order of strategy-ordered routes
    # (gateway/strategy.py): their modules give them in JSON form.
    budget: Mapping[str, Any] | None = None
    route_orders: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        scope = {"namespace": self.team.namespace, "redis": self.team.redis} if self.team else {}
        return {
            **scope,
            "models": [row.to_json() for row in self.models],
            "providers": {name: health.to_json() for name, health in self.providers.items()},
            "cache": self.cache.to_json() if self.cache is not None else None,
            **({"budget": self.budget} if self.budget is not None else {}),
            **({"route_orders": self.route_orders} if self.route_orders is not None else {}),
        }
