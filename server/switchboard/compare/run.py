"""Send every ask to every model alone: a one-model route per model, the cache bypassed."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import attrs

from ..gateway import Answer, NoAnswer

if TYPE_CHECKING:
    from ..engine import Engine
    from .asks import CompareAsk

ROUTE_PREFIX = "compare:"


@dataclass(frozen=True, slots=True)
class Trial:
    """One model's answer (or failure) to one ask."""

    model: str
    task: str
    label: str
    usable: bool
    failure: str | None  # the kind: an attempt's outcome, "rejected", "cost_cap"...
    ms: float
    tokens: int
    cost_usd: float

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def usable(answer: Answer[Any]) -> tuple[bool, str | None]:
    """An answer is usable unless its checker rejected it (a rejected edit never reaches here
    on a one-model route: it fails as `invalid`)."""
    verification = getattr(answer.value, "verification", None)
    if verification is not None and verification.status == "rejected":
        return False, "rejected"
    return True, None


def failure_kind(failed: NoAnswer) -> str:
    for attempt in reversed(failed.attempts):
        if attempt.outcome != "ok":
            return str(attempt.outcome)
    return "no_answer"


def one_model_routes(engine: Engine, models: Sequence[str]) -> None:
    """Give each compared model a route of its own, `compare:<alias>`."""
    config = engine.config
    routes = {**config.routes, **{f"{ROUTE_PREFIX}{alias}": (alias,) for alias in models}}
    engine.reconfigure(attrs.evolve(config, routes=routes))


async def run_compare(
    engine: Engine,
    asks: Sequence[CompareAsk],
    models: Sequence[str],
    *,
    jobs: int = 4,
    max_cost_usd: float | None = None,
    progress: Callable[[int, int, Trial], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[Trial]:
    """Every ask to every model, at most `jobs` at once; past `max_cost_usd` spent, the asks
    not yet sent are recorded as `cost_cap` failures (those in flight still finish)."""
    one_model_routes(engine, models)
    gate = asyncio.Semaphore(max(1, jobs))
    spent = 0.0
    done = 0
    total = len(asks) * len(models)
    trials: list[Trial] = []

    async def one(item: CompareAsk, alias: str) -> None:
        nonlocal spent, done
        async with gate:
            if max_cost_usd is not None and spent >= max_cost_usd:
                trial = Trial(alias, item.task, item.label, False, "cost_cap", 0.0, 0, 0.0)
            else:
                trial = await _trial(engine, item, alias, clock)
                spent += trial.cost_usd
        trials.append(trial)
        done += 1
        if progress is not None:
            progress(done, total, trial)

    # Interleave the models so that a cost cap cuts every model's run alike.
    await asyncio.gather(*(one(item, alias) for item in asks for alias in models))
    return trials


async def _trial(engine: Engine, item: CompareAsk, alias: str, clock: Callable[[], float]) -> Trial:
    ask = dataclasses.replace(item.ask, route=f"{ROUTE_PREFIX}{alias}", use_cache=False)
    started = clock()
    try:
        answer = await engine.ask(ask)
    except NoAnswer as failed:
        ms = (clock() - started) * 1000.0
        return Trial(alias, item.task, item.label, False, failure_kind(failed), ms, 0, 0.0)
    ms = (clock() - started) * 1000.0
    ok, why = usable(answer)
    usage = answer.usage
    tokens = usage.prompt_tokens + usage.completion_tokens if usage is not None else 0
    return Trial(alias, item.task, item.label, ok, why, ms, tokens, answer.cost_usd)
