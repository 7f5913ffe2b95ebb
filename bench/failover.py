"""2. Failover: the primary answers 503, answers 429 with Retry-After, or hangs; how long until
the fallback's answer arrives, on the first request (nothing known about the primary yet) and
in steady state (Switchboard's breaker open, LiteLLM's deployment cooling down)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bench.contenders import (
    Direct,
    LiteLLMRouter,
    SwitchboardGateway,
    litellm_deployment,
    switchboard_config,
)
from bench.harness import ANSWER, Contender, Samples, block, rotations, settle, split, timed
from bench.stats import summary
from bench.upstream import FakeUpstream, hang, rate_limited, reply, server_error

FALLBACK_MS = 20
HANG_TIMEOUT_S = 1.0  # the primary's per-attempt timeout, the same for both contenders
COOLDOWN_S = 30.0
RETRY_AFTER_S = 30.0


def failures() -> dict[str, dict[str, Any]]:
    return {
        "503": server_error(503),
        "429_retry_after": rate_limited(RETRY_AFTER_S),
        "hang": hang(),
    }


def _switchboard(upstream: FakeUpstream, state: Path) -> SwitchboardGateway:
    """primary and fallback at two providers (health is per provider), breaker defaults:
    open after 3 failures in a row, 30 s cool-down."""
    config = switchboard_config(
        {"prim": upstream.base_url, "fall": upstream.base_url},
        {
            "primary": {"provider": "prim", "timeout_s": HANG_TIMEOUT_S},
            "fallback": {"provider": "fall"},
        },
        {"chain": ["primary", "fallback"]},
        state,
        breaker={"failure_threshold": 3, "cooldown_s": COOLDOWN_S},
    )
    return SwitchboardGateway(config)


class _Chain:
    """Adapts a contender to the one question of this section: ask the primary's route."""

    def __init__(self, contender: Contender, route: str) -> None:
        self.name = contender.name
        self._contender = contender
        self._route = route

    async def complete(self, model: str = "") -> str:
        return await self._contender.complete(self._route)

    async def aclose(self) -> None:
        await self._contender.aclose()


def _litellm(upstream: FakeUpstream) -> LiteLLMRouter:
    """The same policy in LiteLLM's terms: fallbacks primary -> fallback, no same-model
    retries, a deployment cools down for 30 s after its third failure (allowed_fails=2)."""
    return LiteLLMRouter(
        [
            litellm_deployment("primary", upstream.base_url, timeout=HANG_TIMEOUT_S),
            litellm_deployment("fallback", upstream.base_url),
        ],
        fallbacks=[{"primary": ["fallback"]}],
        num_retries=0,
        allowed_fails=2,
        cooldown_time=COOLDOWN_S,
    )


def _make(name: str, upstream: FakeUpstream, state: Path) -> Contender:
    if name == "switchboard":
        return _Chain(_switchboard(upstream, state), "chain")
    if name == "litellm":
        return _Chain(_litellm(upstream), "primary")
    return _Chain(Direct(upstream.base_url), "fallback")  # the fallback's own latency


async def run(
    upstream: FakeUpstream,
    state: Path,
    *,
    first_reps: int,
    hang_first_reps: int,
    steady_requests: int,
    rounds: int,
    with_litellm: bool,
    kinds: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    names = ["direct", "switchboard"] + (["litellm"] if with_litellm else [])
    out: dict[str, Any] = {
        "fallback_ms": FALLBACK_MS,
        "hang_timeout_s": HANG_TIMEOUT_S,
        "scenarios": [],
    }
    for kind, behaviour in failures().items():
        if kinds is not None and kind not in kinds:
            continue

        def script(behaviour: dict[str, Any] = behaviour) -> None:
            upstream.reset()
            upstream.default("primary", behaviour)
            upstream.default("fallback", reply(ANSWER, FALLBACK_MS / 1000))

        script()
        reps = hang_first_reps if kind == "hang" else first_reps
        first = await _first_requests(names, upstream, state / kind, reps)
        steady, primary_calls = await _steady(
            names, upstream, state / kind, steady_requests, rounds, script
        )
        out["scenarios"].append(_scenario(kind, first, steady, primary_calls))
    return out


async def _first_requests(
    names: list[str], upstream: FakeUpstream, state: Path, reps: int
) -> dict[str, Samples]:
    """Each rep builds every contender afresh (no health known, no open connections) and
    times its first request; `direct` is a fresh client's first call to the fallback."""
    got = {name: Samples() for name in names}
    for name in names:  # once per process, untimed: lazy imports, first-use set-up
        contender = _make(name, upstream, state / f"warm-{name}")
        await timed(contender.complete)
        await contender.aclose()
    for rep, order in enumerate(rotations(names, reps)):
        for name in order:
            contender = _make(name, upstream, state / f"first-{rep}-{name}")
            ms, exc = await timed(contender.complete)
            await contender.aclose()
            if exc is None:
                got[name].ms.append(ms)
            else:
                got[name].errors += 1
                got[name].first_error = got[name].first_error or repr(exc)
            await settle()
    return got


async def _steady(
    names: list[str],
    upstream: FakeUpstream,
    state: Path,
    requests: int,
    rounds: int,
    script: Any,
) -> tuple[dict[str, Samples], dict[str, int]]:
    """One long-lived contender each: first run until the primary is written off (breaker open
    / deployment cooling), then time `requests` more, interleaved in `rounds`."""
    contenders = [_make(name, upstream, state / f"steady-{name}") for name in names]
    got = {name: Samples() for name in names}
    primary_calls = dict.fromkeys(names, 0)
    try:
        for contender in contenders:
            await block(contender.complete, 4)  # three failures open the breaker; one more
        await settle()
        for count, order in zip(
            split(requests, rounds), rotations(contenders, rounds), strict=False
        ):
            for contender in order:
                script()  # also forgets recorded requests, so the count below is this block's
                got[contender.name].add(await block(contender.complete, count, settled=True))
                primary_calls[contender.name] += upstream.count("primary")
    finally:
        for contender in contenders:
            await contender.aclose()
    return got, primary_calls


def _scenario(
    kind: str,
    first: dict[str, Samples],
    steady: dict[str, Samples],
    primary_calls: dict[str, int],
) -> dict[str, Any]:
    def table(samples: dict[str, Samples]) -> dict[str, Any]:
        rows = {}
        for name, s in samples.items():
            rows[name] = {**summary(s.ms), "errors": s.errors}
            if s.first_error:
                rows[name]["first_error"] = s.first_error
        return rows

    first_rows, steady_rows = table(first), table(steady)
    over: dict[str, Any] = {}
    for name in first_rows:
        if name == "direct":
            continue
        over[name] = {
            "first_p50": _minus(first_rows[name]["p50"], first_rows["direct"]["p50"]),
            "steady_p50": _minus(steady_rows[name]["p50"], steady_rows["direct"]["p50"]),
            "steady_p99": _minus(steady_rows[name]["p99"], steady_rows["direct"]["p99"]),
        }
    return {
        "failure": kind,
        "first_request_ms": first_rows,
        "steady_ms": steady_rows,
        "over_fallback_ms": over,
        "primary_calls_in_steady_state": {k: v for k, v in primary_calls.items() if k != "direct"},
    }


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 3)


if __name__ == "__main__":  # a quick look: python -m bench.failover
    import json
    import sys
    import tempfile

    async def _main() -> None:
        with FakeUpstream() as upstream:
            out = await run(
                upstream,
                Path(tempfile.mkdtemp()),
                first_reps=3,
                hang_first_reps=1,
                steady_requests=60,
                rounds=2,
                with_litellm=True,
                kinds=tuple(sys.argv[1:]) or None,
            )
        print(json.dumps(out, indent=1))

    asyncio.run(_main())
