"""6. Inline completion (issue 13): what a suggestion costs through Switchboard, and how few
keystrokes reach a model.

- added latency of `engine.complete_ask` + the ask (the language server's path, cache off) over
  a direct httpx call with the same body, for a chat model and a fill-in-the-middle one;
- p50/p95/p99 with a first model slow on one answer in ten, hedged and not;
- over the real `switchboard lsp`, a scripted typing session (bench/keystrokes.py): the share
  of keystrokes served with no model call, and model requests with and without the debounce
  for a model answering in 20 ms and in 100 ms.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench import keystrokes
from bench.contenders import Direct, switchboard_config
from bench.harness import Contender, Samples, block, learned_hedge_ms, rotations, settle, split
from bench.latency import scenario
from bench.stats import ratio, summary
from bench.tail import PRIMARY_MS, slow_pattern
from bench.upstream import FakeUpstream, reply
from switchboard.engine import Engine
from switchboard.gateway.wire import fim_body, request_body
from switchboard.tasks import Source

# A cursor in the middle of a function, in a file of a realistic size (the prompt's window is
# 40 lines before the cursor and 15 after).
SOURCE = Source(
    "".join(f"def helper_{i}(x):\n    return x * {i}\n\n\n" for i in range(12))
    + "def mean(values):\n    if not values:\n        return 0.0\n    total = \n"
    + "    return total / len(values)\n\n\n"
    + "".join(f"def other_{i}(y):\n    return y + {i}\n\n\n" for i in range(6)),
    "stats.py",
)
CURSOR = (12 * 4 + 3, len("    total = "))
SUGGESTION = "sum(values)"
DELAYS_MS = (0, 20)
KINDS = ("chat", "fim")
SLOW_S = (0.3, 0.5)  # one answer in ten from the first model takes this long
TAIL_CONCURRENCY = 1  # an editor asks for one suggestion at a time


def alias(kind: str, delay_ms: int) -> str:
    return f"{kind}{delay_ms}"


def engine(
    upstream: FakeUpstream,
    state: Path,
    models: Mapping[str, Mapping[str, Any]],
    route: list[str],
    **tasks: Any,
) -> Engine:
    """An engine whose `complete` route is `route`, over the fake, the cache off."""
    config = switchboard_config(
        {"fake": upstream.base_url},
        {name: {"provider": "fake", **settings} for name, settings in models.items()},
        {"complete": route},
        state,
        tasks={"complete": tasks},
    )
    return Engine.create(config, environ={})


class EngineComplete:
    """What the language server does for a suggestion: build the ask, look in the cache, ask.
    `complete(model)` takes the engine registered for `model`."""

    def __init__(self, engines: Mapping[str, Engine], name: str = "switchboard") -> None:
        self.name = name
        self._engines = dict(engines)

    async def complete(self, model: str) -> str:
        engine = self._engines[model]
        ask = engine.complete_ask(SOURCE, *CURSOR)
        cached = engine.cached(ask)
        answer = cached if cached is not None else await engine.ask(ask)
        return answer.value.text

    async def aclose(self) -> None:
        for engine in self._engines.values():
            await engine.gateway.aclose()


class DirectComplete(Direct):
    """The baseline: the body Switchboard sends for `model`, POSTed with one pooled client."""

    def __init__(self, base_url: str, engines: Mapping[str, Engine]) -> None:
        super().__init__(base_url)
        self._bodies: dict[str, tuple[str, dict[str, Any]]] = {}
        for model, one in engines.items():
            prompt = one.complete_ask(SOURCE, *CURSOR).prompt
            config = one.config.models[model]
            if config.fim:
                path, body = "/completions", fim_body(config, prompt, stream=False)
            else:
                path, body = "/chat/completions", request_body(config, prompt, stream=False)
            self._bodies[model] = (base_url.rstrip("/") + path, body)

    async def complete(self, model: str) -> str:
        url, body = self._bodies[model]
        response = await self._http.post(url, json=body)
        response.raise_for_status()
        choice = response.json()["choices"][0]
        return choice["text"] if "text" in choice else choice["message"]["content"]


async def added_latency(
    upstream: FakeUpstream, state: Path, *, requests: int, rounds: int, warmup: int
) -> dict[str, Any]:
    upstream.reset()
    engines: dict[str, Engine] = {}
    for kind in KINDS:
        for delay_ms in DELAYS_MS:
            model = alias(kind, delay_ms)
            upstream.default(model, reply(SUGGESTION, delay_ms / 1000))
            settings = {"fim": kind == "fim"}
            engines[model] = engine(upstream, state / model, {model: settings}, [model])
    switchboard = EngineComplete(engines)
    direct = DirectComplete(upstream.base_url, engines)
    contenders: list[Contender] = [direct, switchboard]
    scenarios = []
    try:
        for contender in contenders:
            for model in engines:
                await block(lambda c=contender, m=model: c.complete(m), warmup)
        if await switchboard.complete(alias("fim", 0)) != SUGGESTION:
            raise RuntimeError("the FIM route did not suggest what the provider answered")
        await settle()
        for kind in KINDS:
            for delay_ms in DELAYS_MS:
                got = await scenario(
                    contenders, alias(kind, delay_ms), delay_ms, 1, requests, rounds
                )
                scenarios.append({"route": kind, **got})
        paths = sorted({r["path"] for r in upstream.requests()})
        schema_errors = upstream.schema_errors()
    finally:
        for contender in contenders:
            await contender.aclose()
    return {
        "requests_per_contender": requests,
        "rounds": rounds,
        "scenarios": scenarios,
        "paths": paths,
        "schema_errors": schema_errors,
    }


async def hedged_tail(
    upstream: FakeUpstream, state: Path, *, requests: int, rounds: int, warmup: int
) -> dict[str, Any]:
    """A FIM model answering in 20 ms but 300-500 ms on one answer in ten, then a chat model
    answering in 20 ms; the `complete` task with `hedge` on (its default) and off."""
    models = {"first": {"fim": True}, "second": {}}

    def defaults() -> None:
        upstream.reset()
        upstream.default("first", reply(SUGGESTION, PRIMARY_MS / 1000))
        upstream.default("second", reply(SUGGESTION, PRIMARY_MS / 1000))

    defaults()
    on = EngineComplete(
        {"complete": engine(upstream, state / "on", models, ["first", "second"], hedge=True)},
        "hedging_on",
    )
    off = EngineComplete(
        {"complete": engine(upstream, state / "off", models, ["first", "second"], hedge=False)},
        "hedging_off",
    )
    got = {"hedging_on": Samples(), "hedging_off": Samples()}
    second_calls = {"hedging_on": 0, "hedging_off": 0}
    try:
        for contender in (on, off):  # latency history for the learned hedge delay
            await block(lambda c=contender: c.complete("complete"), warmup)
        await settle()
        for n, (count, order) in enumerate(
            zip(split(requests, rounds), rotations([on, off], rounds), strict=False)
        ):
            for contender in order:
                steps = slow_pattern(
                    count, seed=n, slow_s=SLOW_S[0], slow_max_s=SLOW_S[1], answer=SUGGESTION
                )
                upstream.script("first", steps)
                got[contender.name].add(
                    await block(
                        lambda c=contender: c.complete("complete"),
                        count,
                        TAIL_CONCURRENCY,
                        settled=True,
                    )
                )
                second_calls[contender.name] += upstream.count("second")
                defaults()  # a hedged request leaves its slow step's answer unread
        delay_ms = learned_hedge_ms(on._engines["complete"].gateway, "complete", "first")
    finally:
        for contender in (on, off):
            await contender.aclose()
    rows = {name: {**summary(s.ms), "errors": s.errors} for name, s in got.items()}
    return {
        "first_ms": PRIMARY_MS,
        "second_ms": PRIMARY_MS,
        "slow_s": list(SLOW_S),
        "slow_share": 0.1,
        "hedge_delay_ms": round(delay_ms, 1),
        "latency_ms": rows,
        "second_model_calls": second_calls,
        "p99_off_over_on": ratio(rows["hedging_off"]["p99"], rows["hedging_on"]["p99"]),
    }


async def run(
    upstream: FakeUpstream,
    state: Path,
    *,
    requests: int,
    rounds: int,
    warmup: int,
    tail_requests: int,
    sessions: int,
    lines: int | None,
    paced_lines: int | None,
    gap_scale: float,
) -> dict[str, Any]:
    return {
        "added": await added_latency(
            upstream, state / "added", requests=requests, rounds=rounds, warmup=warmup
        ),
        "tail": await hedged_tail(
            upstream, state / "tail", requests=tail_requests, rounds=rounds, warmup=warmup
        ),
        "typing": await keystrokes.typed_ahead(
            upstream, state / "typing", sessions=sessions, lines=lines
        ),
        "debounce": await keystrokes.debounce(
            upstream, state / "debounce", lines=paced_lines, gap_scale=gap_scale
        ),
    }
