"""1. Added latency: the same completion through each contender, interleaved, against a
provider that answers at once or after 20 ms, one at a time and 32 at a time."""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path
from typing import Any

from bench.contenders import Direct, LiteLLMRouter, SwitchboardGateway
from bench.harness import ANSWER, Contender, Samples, block, rotations, settle, split
from bench.stats import percentile, ratio, summary
from bench.upstream import FakeUpstream, reply

DELAYS_MS = (0, 20)
CONCURRENCY = (1, 32)


def paired_difference(rounds: list[list[float]], baseline: list[list[float]], q: float) -> float:
    """The median over rounds of (percentile q of this round) - (the same of the baseline's
    round): each round's contenders ran back to back, so a slow spell on the machine shifts
    both sides of a difference and cancels out instead of landing on one contender."""
    diffs = [percentile(a, q) - percentile(b, q) for a, b in zip(rounds, baseline, strict=True)]
    return round(statistics.median(diffs), 3)


def model_for(delay_ms: int) -> str:
    return f"m{delay_ms}"


async def run(
    upstream: FakeUpstream,
    state: Path,
    *,
    requests: int,
    rounds: int,
    warmup: int,
    with_litellm: bool,
    delays_ms: tuple[int, ...] = DELAYS_MS,
    concurrency: tuple[int, ...] = CONCURRENCY,
) -> dict[str, Any]:
    upstream.reset()
    models = [model_for(d) for d in delays_ms]
    for delay_ms in delays_ms:
        upstream.default(model_for(delay_ms), reply(ANSWER, delay_ms / 1000))
    contenders: list[Contender] = [
        Direct(upstream.base_url),
        SwitchboardGateway.simple(upstream.base_url, models, state / "latency"),
    ]
    if with_litellm:
        contenders.append(LiteLLMRouter.simple(upstream.base_url, models))
    try:
        for contender in contenders:
            for model in models:
                await block(lambda c=contender, m=model: c.complete(m), warmup)
                # Fill the connection pools as the concurrent runs will need them.
                top = max(concurrency)
                await block(lambda c=contender, m=model: c.complete(m), 2 * top, top)
        await settle()
        scenarios = []
        for delay_ms in delays_ms:
            for level in concurrency:
                scenarios.append(
                    await scenario(
                        contenders, model_for(delay_ms), delay_ms, level, requests, rounds
                    )
                )
        schema_errors = upstream.schema_errors()
    finally:
        for contender in contenders:
            await contender.aclose()
    return {
        "requests_per_contender": requests,
        "rounds": rounds,
        "scenarios": scenarios,
        "schema_errors": schema_errors,
    }


async def scenario(
    contenders: list[Contender],
    model: str,
    delay_ms: int,
    concurrency: int,
    requests: int,
    rounds: int,
) -> dict[str, Any]:
    samples = {c.name: Samples() for c in contenders}
    per_round: dict[str, list[list[float]]] = {c.name: [] for c in contenders}
    counts = split(requests, rounds)
    for count, order in zip(counts, rotations(contenders, len(counts)), strict=True):
        for contender in order:
            got = await block(
                lambda c=contender: c.complete(model), count, concurrency, settled=True
            )
            samples[contender.name].add(got)
            per_round[contender.name].append(got.ms)
    results: dict[str, Any] = {}
    for name, got in samples.items():
        results[name] = {
            **summary(got.ms),
            "per_s": got.per_s,
            "cpu_ms_per_request": got.cpu_ms_per_request,
            "errors": got.errors,
        }
    added = {
        name: {q: paired_difference(per_round[name], per_round["direct"], q) for q in (50, 99)}
        for name in results
        if name != "direct"
    }
    added = {name: {"p50": a[50], "p99": a[99]} for name, a in added.items()}
    scenario: dict[str, Any] = {
        "provider_ms": delay_ms,
        "concurrency": concurrency,
        "latency_ms": results,
        "added_ms": added,
    }
    if "litellm" in added:
        scenario["litellm_vs_switchboard_added"] = {
            q: ratio(added["litellm"][q], added["switchboard"][q]) for q in ("p50", "p99")
        }
    return scenario


if __name__ == "__main__":  # a quick look: python -m bench.latency
    import json
    import tempfile

    async def _main() -> None:
        with FakeUpstream() as upstream:
            out = await run(
                upstream,
                Path(tempfile.mkdtemp()),
                requests=300,
                rounds=3,
                warmup=30,
                with_litellm=True,
            )
        print(json.dumps(out, indent=1))

    asyncio.run(_main())
