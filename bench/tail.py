"""3. Tail latency: a primary that answers in 20 ms, except one answer in ten that takes 3 s;
Switchboard's explain route with hedging on (start the fallback once the primary is slower than
its learned hedge delay) against the same route with hedging off."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

from bench.contenders import Direct, SwitchboardGateway, switchboard_config
from bench.harness import ANSWER, Samples, block, learned_hedge_ms, rotations, settle, split
from bench.stats import summary
from bench.upstream import FakeUpstream, reply

PRIMARY_MS = 20
SLOW_S = 3.0
SLOW_SHARE = 0.10
FALLBACK_MS = 20
CONCURRENCY = 10  # keeps the hedging-off run short: its slow answers overlap


def _gateway(upstream: FakeUpstream, state: Path, hedge: bool) -> SwitchboardGateway:
    config = switchboard_config(
        {"prim": upstream.base_url, "fall": upstream.base_url},
        {"primary": {"provider": "prim"}, "fallback": {"provider": "fall"}},
        {"explain": ["primary", "fallback"]},
        state,
        tasks={"explain": {"hedge": hedge}},  # the hedge delay is learned (p90, 150 ms floor)
    )
    gateway = SwitchboardGateway(config, task="explain")
    gateway.name = "hedging_on" if hedge else "hedging_off"
    return gateway


def slow_pattern(
    count: int,
    seed: int,
    slow_s: float = SLOW_S,
    *,
    slow_max_s: float | None = None,
    answer: str = ANSWER,
) -> list[dict[str, Any]]:
    """`count` primary answers, exactly SLOW_SHARE of them slow, in a seeded random order; with
    `slow_max_s`, each slow one takes a time drawn between `slow_s` and it."""
    rng = random.Random(seed)
    slow = round(count * SLOW_SHARE)
    steps = [
        reply(answer, slow_s if slow_max_s is None else rng.uniform(slow_s, slow_max_s))
        for _ in range(slow)
    ]
    steps += [reply(answer, PRIMARY_MS / 1000)] * (count - slow)
    rng.shuffle(steps)
    return steps


async def run(
    upstream: FakeUpstream,
    state: Path,
    *,
    requests: int,
    rounds: int,
    warmup: int,
    slow_s: float = SLOW_S,
) -> dict[str, Any]:
    upstream.reset()
    upstream.default("primary", reply(ANSWER, PRIMARY_MS / 1000))
    upstream.default("fallback", reply(ANSWER, FALLBACK_MS / 1000))
    on, off = _gateway(upstream, state / "on", True), _gateway(upstream, state / "off", False)
    direct = Direct(upstream.base_url)
    got = {"hedging_on": Samples(), "hedging_off": Samples()}
    fallback_alone = Samples()
    try:
        for gateway in (on, off):  # latency history for the learned hedge delay
            await block(lambda g=gateway: g.complete("explain"), warmup)
        await block(lambda: direct.complete("fallback"), warmup)
        await settle()
        for n, (count, order) in enumerate(
            zip(split(requests, rounds), rotations([on, off], rounds), strict=False)
        ):
            for gateway in order:
                upstream.script("primary", slow_pattern(count, seed=n, slow_s=slow_s))
                got[gateway.name].add(
                    await block(
                        lambda g=gateway: g.complete("explain"), count, CONCURRENCY, settled=True
                    )
                )
                # Hedged requests leave their primary steps unused: start the next block clean.
                upstream.reset()
                upstream.default("primary", reply(ANSWER, PRIMARY_MS / 1000))
                upstream.default("fallback", reply(ANSWER, FALLBACK_MS / 1000))
            fallback_alone.add(
                await block(lambda: direct.complete("fallback"), count, CONCURRENCY, settled=True)
            )
        delay_ms = learned_hedge_ms(on.gateway, "explain", "primary")
    finally:
        for contender in (on, off, direct):
            await contender.aclose()
    rows = {name: {**summary(s.ms), "errors": s.errors} for name, s in got.items()}
    fallback = summary(fallback_alone.ms)
    bound = 1.5 * (fallback["p50"] + delay_ms) if fallback["p50"] is not None else None
    return {
        "primary_ms": PRIMARY_MS,
        "slow_s": slow_s,
        "slow_share": SLOW_SHARE,
        "concurrency": CONCURRENCY,
        "hedge_delay_ms": round(delay_ms, 1),
        "fallback_alone_ms": fallback,
        "latency_ms": rows,
        "target_p99_ms": round(bound, 1) if bound is not None else None,
    }


if __name__ == "__main__":  # a quick look: python -m bench.tail
    import json
    import tempfile

    async def _main() -> None:
        with FakeUpstream() as upstream:
            out = await run(upstream, Path(tempfile.mkdtemp()), requests=100, rounds=2, warmup=20)
        print(json.dumps(out, indent=1))

    asyncio.run(_main())
