"""Timing loops shared by the sections: sequential and concurrent blocks, interleaved rounds."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

# What a provider answers in the latency benches: an explanation of a realistic size.
ANSWER = (
    "`total` adds up the price of every item in `items`, weighting each by its quantity, and "
    "returns the sum (0 for an empty list). It walks the items once with a generator, so no "
    "intermediate list is built. Note that `price` and `quantity` are read as attributes: "
    "passing dicts instead of objects raises `AttributeError`, and a `Decimal` price with a "
    "float quantity raises `TypeError` when multiplied."
)


class Contender(Protocol):
    name: str

    async def complete(self, model: str) -> str: ...

    async def aclose(self) -> None: ...


@dataclass
class Samples:
    """Per-request latencies (ms) and the wall time of the blocks that produced them."""

    ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0  # this process's CPU time, all threads, from block start to settled
    errors: int = 0
    first_error: str = ""

    def add(self, other: Samples) -> None:
        self.ms += other.ms
        self.wall_s += other.wall_s
        self.cpu_s += other.cpu_s
        self.errors += other.errors
        self.first_error = self.first_error or other.first_error

    @property
    def cpu_ms_per_request(self) -> float | None:
        n = len(self.ms) + self.errors
        return round(self.cpu_s * 1000.0 / n, 3) if n else None

    @property
    def per_s(self) -> float | None:
        return round(len(self.ms) / self.wall_s, 1) if self.wall_s > 0 else None


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, BaseException | None]:
    start = time.perf_counter()
    try:
        await call()
    except Exception as exc:
        return (time.perf_counter() - start) * 1000.0, exc
    return (time.perf_counter() - start) * 1000.0, None


async def block(
    call: Callable[[], Awaitable[Any]], count: int, concurrency: int = 1, *, settled: bool = False
) -> Samples:
    """`count` calls, `concurrency` at a time; each call's latency in ms. Failed calls are
    counted, not timed. With `settled`, the block ends after `settle()`, and the CPU time it
    reports includes the work the calls left behind (a contender's deferred logging)."""
    samples = Samples()
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            ms, exc = await timed(call)
            if exc is None:
                samples.ms.append(ms)
            else:
                samples.errors += 1
                samples.first_error = samples.first_error or repr(exc)

    cpu = time.process_time()
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, count)))))
    samples.wall_s = time.perf_counter() - start
    if settled:
        await asyncio.sleep(settle_seconds)
    samples.cpu_s = time.process_time() - cpu
    if settled:
        await settle(0)
    return samples


settle_seconds = 0.05  # the smoke run (tests) shortens it


async def settle(seconds: float | None = None) -> None:
    """Between blocks: let a contender's background work (logging tasks, callbacks) finish and
    collect its garbage, so that it is not billed to the next contender."""
    await asyncio.sleep(settle_seconds if seconds is None else seconds)
    gc.collect(1)  # the young generations: what the block just left; a full pass takes ~50 ms
    await asyncio.sleep(0)


def rotations(items: Sequence[Any], rounds: int) -> list[list[Any]]:
    """The order of contenders in each round: rotated, so none always goes first or last."""
    n = len(items)
    return [[items[(r + i) % n] for i in range(n)] for r in range(rounds)]


def split(total: int, parts: int) -> list[int]:
    """`total` as `parts` near-equal counts."""
    parts = max(1, min(parts, total))
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def learned_hedge_ms(gateway: Any, task: str, alias: str) -> float:
    """The hedge delay `gateway` uses for `task` after `alias`'s latencies so far, in ms."""
    from switchboard.gateway.policy import hedge_delay

    knobs = gateway.config.task(task)
    return 1000.0 * hedge_delay(
        gateway.usage.recent_latencies(alias),
        fixed_ms=knobs.hedge_delay_ms,
        min_ms=knobs.hedge_min_ms,
        max_ms=knobs.hedge_max_ms,
    )
