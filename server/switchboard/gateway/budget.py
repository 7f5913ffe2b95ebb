"""Spending limits as data plus pure functions: where spend stands against the limits, what a
route may still use, and what to tell the user. No I/O: the gateway passes the spend in."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..config import BudgetConfig
from .usage import Spend


class BudgetLevel(StrEnum):
    OK = "ok"
    NEAR = "near"
    REACHED = "reached"


@dataclass(frozen=True, slots=True)
class Limit:
    """One limit and what was spent against it."""

    scope: str  # "overall" or a task name
    period: str  # "daily" or "monthly"
    limit_usd: float
    spent_usd: float

    @property
    def ratio(self) -> float:
        return self.spent_usd / self.limit_usd if self.limit_usd > 0 else float("inf")

    def describe(self) -> str:
        what = "" if self.scope == "overall" else f" for {self.scope}"
        return f"the {self.period} budget{what} (${self.spent_usd:.2f} of ${self.limit_usd:.2f})"

    def to_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "period": self.period,
            "limit_usd": self.limit_usd,
            "spent_usd": round(self.spent_usd, 6),
        }


@dataclass(frozen=True, slots=True)
class BudgetState:
    level: BudgetLevel
    limit: Limit | None = None  # the limit nearest to (or past) its end

    def notice(self, period_key: str) -> tuple[str, str] | None:
        """(a key to say it once by, the sentence) for a state worth saying, else None."""
        if self.limit is None or self.level is BudgetLevel.OK:
            return None
        key = f"{self.level}:{self.limit.scope}:{self.limit.period}:{period_key}"
        if self.level is BudgetLevel.REACHED:
            return key, (
                f"Budget reached: {self.limit.describe()}. Only models that cost nothing are "
                "used now, then cached answers; raise the limit in your user config to go on."
            )
        return key, f"Near the budget: {self.limit.describe()} is {self.limit.ratio:.0%} spent."


def limits(budget: BudgetConfig, spend: Spend, task: str | None) -> list[Limit]:
    """Every limit that applies to `task` (all of them when None), with its spend."""
    found: list[Limit] = []

    def add(scope: str, daily: float | None, monthly: float | None, today: float, month: float):
        if daily is not None:
            found.append(Limit(scope, "daily", daily, today))
        if monthly is not None:
            found.append(Limit(scope, "monthly", monthly, month))

    add("overall", budget.daily_usd, budget.monthly_usd, spend.today_total, spend.month_total)
    for name, task_limits in budget.tasks.items():
        if task is None or name == task:
            add(
                name,
                task_limits.daily_usd,
                task_limits.monthly_usd,
                spend.today.get(name, 0.0),
                spend.month.get(name, 0.0),
            )
    return found


def limited(budget: BudgetConfig, task: str | None) -> bool:
    """Whether any limit applies to `task` (to anything, when None): without one, the spend
    need not be read to know a request may go ahead."""
    return bool(limits(budget, Spend("", {}, {}), task))


def assess(budget: BudgetConfig, spend: Spend, task: str | None) -> BudgetState:
    """Where `task` stands: reached when any limit that applies is spent, near past the
    warning share of one, else ok."""
    applying = limits(budget, spend, task)
    if not applying:
        return BudgetState(BudgetLevel.OK)
    worst = max(applying, key=lambda limit: limit.ratio)
    if worst.ratio >= 1:
        return BudgetState(BudgetLevel.REACHED, worst)
    if worst.ratio >= budget.warn_ratio:
        return BudgetState(BudgetLevel.NEAR, worst)
    return BudgetState(BudgetLevel.OK, worst)


def free_chain(chain: Iterable[str], is_free: Callable[[str], bool]) -> tuple[str, ...]:
    """What a route may use once its budget is spent: only the models that cost nothing."""
    return tuple(alias for alias in chain if is_free(alias))
