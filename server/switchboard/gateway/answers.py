"""What the gateway is asked and what it answers: plain data, shared by every caller.

Kept apart from the gateway itself (which needs the HTTP stack) so that the language server
can name these types without loading it before it has answered `initialize`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from .outcomes import Attempt, EditQuality, TokenUsage
from .wire import Prompt

T = TypeVar("T")


class CacheState(StrEnum):
    MISS = "miss"
    FRESH = "fresh"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class Ask(Generic[T]):
    """One question for the gateway: which task and route, the prompt, how to read the answer."""

    task: str
    route: str
    prompt: Prompt
    parse: Callable[[str], T]
    use_cache: bool = True
    # A second look at a parsed answer that takes time (a checker run), given the seconds left
    # before the deadline: the value (with its verdict) and how the edit fared, or `Rejected`.
    verify: Callable[[T, float], Awaitable[tuple[T, EditQuality]]] | None = None


@dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    value: T
    text: str
    model: str
    provider: str
    cache: CacheState
    route: str
    attempts: tuple[Attempt, ...] = ()
    usage: TokenUsage | None = None
    cost_usd: float = 0.0
    notices: tuple[str, ...] = ()

    @property
    def fell_back(self) -> bool:
        return any(attempt.outcome != "ok" for attempt in self.attempts)

    def describe(self) -> str:
        """'answered by strong (q), from the cache after fast: rate-limited', for a log line."""
        how = {"miss": "", "fresh": ", from the cache", "stale": ", from the cache (stale)"}
        failed = [a for a in self.attempts if a.outcome != "ok"]
        fallback = ""
        if failed:
            fallback = " after " + "; ".join(f"{a.model}: {a.outcome.describe()}" for a in failed)
        return f"answered by {self.model} ({self.provider}){how[self.cache.value]}{fallback}"

    def envelope(self) -> dict[str, Any]:
        """The fields every `--json` result carries besides the task's own result."""
        return {
            "served_by": {"model": self.model, "provider": self.provider},
            "cache": self.cache.value,
            "route": self.route,
            "attempts": [attempt.to_json() for attempt in self.attempts],
            "usage": self.usage.to_json() if self.usage else None,
            "cost_usd": round(self.cost_usd, 8),
        }


class NoAnswer(Exception):
    """Nothing on the route answered and nothing was cached."""

    def __init__(
        self, route: str, attempts: tuple[Attempt, ...], notices: tuple[str, ...] = ()
    ) -> None:
        self.route = route
        self.attempts = attempts
        self.notices = notices
        super().__init__(
            f"No model on the '{route}' route could answer ({describe_attempts(attempts)}) "
            "and nothing was cached."
        )

    def envelope(self) -> dict[str, Any]:
        return {
            "served_by": None,
            "cache": CacheState.MISS.value,
            "route": self.route,
            "attempts": [attempt.to_json() for attempt in self.attempts],
            "usage": None,
            "cost_usd": 0.0,
        }


def describe_attempts(attempts: tuple[Attempt, ...]) -> str:
    """'fast: rate-limited; local: unreachable' — what happened to each model, in words."""
    if not attempts:
        return "no model was tried"
    return "; ".join(f"{a.model}: {a.outcome.describe()}" for a in attempts)
