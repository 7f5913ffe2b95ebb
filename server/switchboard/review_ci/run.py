"""Review many files at once: a bounded number in flight, a budget for the whole run.

Every file goes through the engine like any other review, so routing, fallback, the cache
(a re-run on the same commit is answered from it) and redaction are the same as everywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from ..engine import Engine
from ..gateway import Answer, NoAnswer
from ..tasks import Finding, Review
from .options import DEFAULT_JOBS
from .selection import ReviewJob, Skipped


@dataclass(frozen=True)
class FileReview:
    """One file's outcome: the answer, or why nothing could answer."""

    path: str
    answer: Answer[Review] | None
    failure: NoAnswer | None = None

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.answer.value.findings if self.answer is not None else ()


@dataclass
class ReviewRun:
    """A run's result: the files reviewed (in the order given), skipped and never started."""

    reviewed: list[FileReview] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    not_started: list[str] = field(default_factory=list)  # left when the budget ran out
    max_cost: float | None = None

    @property
    def cost_usd(self) -> float:
        return _cost(self.reviewed)

    @property
    def unanswered(self) -> list[FileReview]:
        return [r for r in self.reviewed if r.answer is None]

    @property
    def models(self) -> list[tuple[str, str]]:
        """(model, provider) of every model that answered, first answer first."""
        seen = (r.answer for r in self.reviewed if r.answer is not None)
        return list(dict.fromkeys((a.model, a.provider) for a in seen))


async def review_all(
    engine: Engine,
    jobs: Sequence[ReviewJob],
    *,
    limit: int = DEFAULT_JOBS,
    max_cost: float | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> ReviewRun:
    """Review `jobs`, at most `limit` at a time; once the counted cost reaches `max_cost`, no
    new file is started (those in flight finish, and their cost counts)."""
    run = ReviewRun(max_cost=max_cost)
    slots = asyncio.Semaphore(max(1, limit))
    results: dict[int, FileReview] = {}
    done = 0

    async def review(index: int, job: ReviewJob) -> None:
        nonlocal done
        try:
            result = await _review_one(engine, job)
        finally:
            slots.release()
        results[index] = result
        done += 1
        progress(f"[{done}/{len(jobs)}] {job.path}: {_summary(result)}")

    async with asyncio.TaskGroup() as group:
        for index, job in enumerate(jobs):
            await slots.acquire()
            # Checked once a slot is free, so the cost of every file finished so far counts.
            if max_cost is not None and _cost(results.values()) >= max_cost:
                slots.release()
                run.not_started = [j.path for j in jobs[index:]]
                break
            group.create_task(review(index, job))
    run.reviewed = [results[i] for i in sorted(results)]
    return run


def _cost(reviews: Iterable[FileReview]) -> float:
    return sum(r.answer.cost_usd for r in reviews if r.answer is not None)


async def _review_one(engine: Engine, job: ReviewJob) -> FileReview:
    try:
        if job.changes is None:
            ask = engine.review_ask(job.source)
        else:
            ask = engine.review_changes_ask(job.source, job.changes)
        return FileReview(job.path, await engine.ask(ask))
    except NoAnswer as failed:
        return FileReview(job.path, None, failed)


def _summary(result: FileReview) -> str:
    if result.answer is None:
        assert result.failure is not None
        return f"no answer: {result.failure}"
    count = len(result.findings)
    noun = "finding" if count == 1 else "findings"
    return f"{count} {noun}, {result.answer.describe()}"
