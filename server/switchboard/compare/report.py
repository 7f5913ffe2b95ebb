"""Figures per model and task, a suggested route per task, and how to print them."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..gateway.policy import percentile
from .run import Trial

# Models whose usable rate is within this of the best count as good enough to put first.
USABLE_MARGIN = 0.1


@dataclass(frozen=True, slots=True)
class Figures:
    model: str
    task: str
    asks: int
    usable: int
    p50_ms: float | None
    p95_ms: float | None
    tokens: int
    cost_usd: float
    failures: dict[str, int] = field(default_factory=dict)

    @property
    def usable_rate(self) -> float:
        return self.usable / self.asks if self.asks else 0.0

    @property
    def cost_per_answer(self) -> float | None:
        answered = self.asks - sum(self.failures.values()) + self.failures.get("rejected", 0)
        return self.cost_usd / answered if answered else None

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "task": self.task,
            "asks": self.asks,
            "usable": self.usable,
            "usable_rate": round(self.usable_rate, 4),
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "tokens": self.tokens,
            "cost_usd": self.cost_usd,
            "cost_per_answer_usd": self.cost_per_answer,
            "failures": self.failures,
        }


def figures(trials: Sequence[Trial]) -> list[Figures]:
    """One row per (task, model), in the order they first appear."""
    groups: dict[tuple[str, str], list[Trial]] = {}
    for trial in trials:
        groups.setdefault((trial.task, trial.model), []).append(trial)
    rows = []
    for (task, model), group in groups.items():
        answered = [t.ms for t in group if t.failure not in ("cost_cap",)]
        rows.append(
            Figures(
                model=model,
                task=task,
                asks=len(group),
                usable=sum(t.usable for t in group),
                p50_ms=percentile(answered, 50),
                p95_ms=percentile(answered, 95),
                tokens=sum(t.tokens for t in group),
                cost_usd=sum(t.cost_usd for t in group),
                failures=dict(Counter(t.failure for t in group if t.failure is not None)),
            )
        )
    return rows


def suggest(rows: Sequence[Figures]) -> dict[str, list[str]]:
    """Per task, a route: first the models nearly as usable as the best, cheapest per answer
    first (the fastest for `explain`, where a person waits on a hover), then the other models
    that gave any usable answer, most usable first. A model that never helped is left out."""
    routes: dict[str, list[str]] = {}
    for task in dict.fromkeys(row.task for row in rows):
        mine = [row for row in rows if row.task == task and row.usable]
        if not mine:
            continue
        best = max(row.usable_rate for row in mine)
        good = [row for row in mine if row.usable_rate >= best - USABLE_MARGIN]
        rest = [row for row in mine if row not in good]

        def cheap(row: Figures) -> tuple[float, float]:
            return (row.cost_per_answer or 0.0, row.p50_ms or 0.0)

        def fast(row: Figures) -> tuple[float, float]:
            return (row.p50_ms or 0.0, row.cost_per_answer or 0.0)

        good.sort(key=fast if task == "explain" else cheap)
        rest.sort(key=lambda row: (-row.usable_rate, *cheap(row)))
        routes[task] = [row.model for row in good + rest]
    return routes


def suggested_toml(routes: dict[str, list[str]]) -> str:
    lines = ["[routes]"]
    for task, chain in routes.items():
        lines.append(f"{task} = [{', '.join(json.dumps(m) for m in chain)}]")
    return "\n".join(lines) + "\n"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def table(rows: Sequence[Figures]) -> str:
    head = ("task", "model", "usable", "p50 ms", "p95 ms", "tokens", "$/answer", "failures")
    body = [
        (
            row.task,
            row.model,
            f"{row.usable}/{row.asks} ({row.usable_rate:.0%})",
            _ms(row.p50_ms),
            _ms(row.p95_ms),
            str(row.tokens),
            "-" if row.cost_per_answer is None else f"{row.cost_per_answer:.6f}",
            ", ".join(f"{k} {v}" for k, v in sorted(row.failures.items())) or "-",
        )
        for row in rows
    ]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    return (
        "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip()
            for r in [head, *body]
        )
        + "\n"
    )
