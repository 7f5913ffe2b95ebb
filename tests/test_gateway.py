"""The gateway against real loopback providers: routing, fallback, breaker, hedging, cache."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from switchboard.gateway import CacheState, NoAnswer, Outcome
from switchboard.tasks import Source
from tests.fake_provider import (
    AuthError,
    CloseConnection,
    ContextTooLong,
    CutStream,
    Drip,
    EmptyContent,
    FakeProvider,
    Hang,
    HangAfterHeaders,
    Malformed,
    ModelNotFound,
    NoChoices,
    RateLimited,
    Reply,
    ServerError,
    blackhole,
    unused_tcp_port,
)
from tests.support import CODE, FIXED, make_config


def outcomes(result):
    return [(a.model, a.outcome.value) for a in result.attempts]


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "calc.py"
    path.write_text(CODE)
    return Source(CODE, str(path))


@pytest.fixture
def engine_for(tmp_path, engines):
    """engine_for(fake, models, routes, **sections) -> an Engine on the fake provider."""

    def build(fake, models=None, routes=None, environ=None, providers=None, **sections):
        # Two providers behind one fake: health (cool-downs, breakers) is per provider.
        models = models or {"fast": {"provider": "p"}, "backup": {"provider": "q"}}
        routes = routes or {
            "fix": ["fast", "backup"],
            "explain": ["fast", "backup"],
            "review": ["backup", "fast"],
        }
        sections.setdefault("tasks", {}).setdefault("explain", {"hedge": False})
        config = make_config(
            tmp_path,
            providers or {"p": fake.base_url, "q": fake.base_url},
            models,
            routes,
            environ=environ,
            **sections,
        )
        return engines(config, environ)

    return build


@pytest.fixture(autouse=True)
def every_body_follows_the_openai_schema(fake):
    yield
    bad = [(r.model, r.schema_errors) for r in fake.requests if r.schema_errors]
    assert not bad, f"request bodies outside CreateChatCompletionRequest: {bad}"


async def test_each_task_uses_its_own_route(fake, engine_for, source):
    fake.default("fast", Reply(FIXED))
    fake.default("backup", Reply('{"findings": []}'))
    engine = engine_for(fake)
    fixed = await engine.fix(source, 0, 1)
    reviewed = await engine.review(source)
    assert (fixed.model, reviewed.model) == ("fast", "backup")
    assert fixed.value.replacement.new_text().startswith("def add(a, b):\n    return a + b\n")
    assert fixed.cache is CacheState.MISS
    await engine.aclose()


async def test_fix_falls_back_when_primary_rate_limited_and_honours_retry_after(
    fake, engine_for, source
):
    fake.script("fast", RateLimited(retry_after=0.4))
    fake.default("backup", Reply(FIXED))
    fake.default("fast", Reply(FIXED))
    engine = engine_for(fake)
    first = await engine.fix(source, 1, 1)
    assert first.model == "backup"
    assert outcomes(first) == [("fast", "rate_limited"), ("backup", "ok")]
    # Within the Retry-After window the primary is skipped without a request.
    second = await engine.fix(source, 1, 1, message="other")
    assert outcomes(second)[0] == ("fast", "skipped_open_breaker")
    assert len(fake.requests_for("fast")) == 1
    await asyncio.sleep(0.45)
    third = await engine.fix(source, 1, 1, message="third")
    assert third.model == "fast"
    await engine.aclose()


@pytest.mark.parametrize(
    "failure",
    [
        ServerError(500),
        ServerError(502),
        ServerError(503),
        ServerError(408),
        Malformed(),
        NoChoices(),
        EmptyContent(),
        EmptyContent(null=True),
        CloseConnection(),
        ModelNotFound(),
    ],
    ids=lambda b: type(b).__name__ + str(getattr(b, "code", "")),
)
async def test_fix_falls_back_on_retryable_failures(fake, engine_for, source, failure):
    fake.default("fast", failure)
    fake.default("backup", Reply(FIXED))
    answer = await engine_for(fake).fix(source, 1, 1)
    assert answer.model == "backup"
    assert answer.attempts[0].outcome is not Outcome.OK


async def test_fallback_from_a_refused_connection(fake, engine_for, source):
    dead = f"http://127.0.0.1:{unused_tcp_port()}/v1"
    fake.default("backup", Reply(FIXED))
    engine = engine_for(
        fake,
        models={"fast": {"provider": "dead"}, "backup": {"provider": "q"}},
        providers={"dead": dead, "q": fake.base_url},
    )
    answer = await engine.fix(source, 1, 1)
    assert outcomes(answer) == [("fast", "connect_error"), ("backup", "ok")]


@pytest.mark.parametrize("stall", [Hang(), HangAfterHeaders(), Drip("x" * 50, interval=0.2)])
async def test_fallback_from_a_stalled_provider_within_its_timeout(fake, engine_for, source, stall):
    fake.default("fast", stall)
    fake.default("backup", Reply(FIXED))
    engine = engine_for(
        fake, models={"fast": {"provider": "p", "timeout_s": 0.5}, "backup": {"provider": "q"}}
    )
    started = time.monotonic()
    answer = await engine.fix(source, 1, 1)
    assert answer.model == "backup"
    assert outcomes(answer)[0] == ("fast", "timeout")
    assert time.monotonic() - started < 2.0
    assert fake.requests_for("fast")[0].wait_client_disconnected(2.0)


async def test_an_address_that_never_answers_times_out(fake, engine_for, source):
    fake.default("backup", Reply(FIXED))
    with blackhole() as hole:
        engine = engine_for(
            fake,
            models={"fast": {"provider": "hole", "timeout_s": 0.4}, "backup": {"provider": "q"}},
            providers={"hole": hole.base_url, "q": fake.base_url},
        )
        answer = await engine.fix(source, 1, 1)
    assert outcomes(answer) == [("fast", "timeout"), ("backup", "ok")]


async def test_a_stream_cut_midway_never_reaches_the_user(fake, engine_for, source):
    fake.default("fast", CutStream(FIXED, after_chunks=2))
    fake.default("backup", Reply(FIXED))
    engine = engine_for(
        fake,
        models={
            "fast": {"provider": "p", "stream": True},
            "backup": {"provider": "q", "stream": True},
        },
    )
    answer = await engine.fix(source, 1, 1)
    assert outcomes(answer) == [("fast", "bad_response"), ("backup", "ok")]
    assert fake.requests_for("backup")[0].stream
    assert answer.usage is not None and not answer.usage.estimated  # from include_usage


async def test_auth_failure_stops_using_that_provider_and_says_so_once(fake, engine_for, source):
    second = FakeProvider().start()
    try:
        fake.default("fast", AuthError(401))
        second.default("backup", Reply(FIXED))
        engine = engine_for(
            fake,
            models={"fast": {"provider": "p"}, "backup": {"provider": "q"}},
            providers={"p": fake.base_url, "q": second.base_url},
        )
        first = await engine.fix(source, 1, 1)
        assert first.model == "backup"
        assert len(first.notices) == 1 and "'p' rejected the API key" in first.notices[0]
        again = await engine.fix(source, 1, 1, message="again")
        assert outcomes(again)[0] == ("fast", "skipped_auth")
        assert again.notices == ()
        assert len(fake.requests_for("fast")) == 1
    finally:
        second.stop()


async def test_context_too_long_moves_to_a_model_with_a_larger_window(fake, engine_for, source):
    fake.default("small", ContextTooLong())
    fake.default("same", Reply(FIXED))
    fake.default("large", Reply(FIXED))
    engine = engine_for(
        fake,
        models={
            "small": {"provider": "p", "context_window": 8192},
            "same": {"provider": "p", "context_window": 8192},
            "large": {"provider": "p", "context_window": 65536},
        },
        routes={"fix": ["small", "same", "large"]},
    )
    answer = await engine.fix(source, 1, 1)
    assert outcomes(answer) == [
        ("small", "context_too_long"),
        ("same", "skipped_context_window"),
        ("large", "ok"),
    ]


async def test_a_model_whose_window_is_too_small_is_skipped_without_a_request(
    fake, engine_for, tmp_path
):
    big = "x = 1\n" * 3000
    fake.default("tiny", Reply('{"findings": []}'))
    fake.default("roomy", Reply('{"findings": []}'))
    engine = engine_for(
        fake,
        models={
            "tiny": {"provider": "p", "context_window": 2048},
            "roomy": {"provider": "p", "context_window": 200000},
        },
        routes={"review": ["tiny", "roomy"]},
    )
    answer = await engine.review(Source(big, str(tmp_path / "big.py")))
    assert outcomes(answer) == [("tiny", "skipped_context_window"), ("roomy", "ok")]
    assert fake.requests_for("tiny") == []


def test_a_review_no_model_has_room_for_is_refused_before_its_prompt_is_built(
    fake, engine_for, tmp_path
):
    # About 1500 tokens: inside a 2048-token window, but not with room for a 1024-token answer,
    # which is the router's rule for skipping a model, and so the engine's for refusing early.
    text = "x = 1\n" * 750
    engine = engine_for(
        fake,
        models={"tiny": {"provider": "p", "context_window": 2048, "max_output_tokens": 1024}},
        routes={"review": ["tiny"]},
    )
    with pytest.raises(NoAnswer) as refused:
        engine.review_ask(Source(text, str(tmp_path / "mid.py")))
    [attempt] = refused.value.attempts
    assert attempt.outcome is Outcome.SKIPPED_CONTEXT_WINDOW
    assert "the file needs about 1501 tokens" in attempt.detail
    assert fake.requests == []


async def test_a_large_fix_escalates_to_the_strong_route(fake, engine_for, tmp_path):
    text = "".join(f"x{i} = {i}\n" for i in range(200))
    fixed = "".join(f"x{i} = {i + 1}\n" for i in range(100))  # a fix keeps its lines
    fake.default("fast", Reply(f"```python\n{fixed}```"))
    fake.default("strong", Reply(f"```python\n{fixed}```"))
    engine = engine_for(
        fake,
        models={"fast": {"provider": "p"}, "strong": {"provider": "p"}},
        routes={"fix": ["fast"], "review": ["strong"]},
        tasks={"fix": {"large_fix_lines": 50}, "explain": {"hedge": False}},
    )
    source = Source(text, str(tmp_path / "many.py"))
    assert (await engine.fix(source, 0, 9)).model == "fast"
    assert (await engine.fix(source, 0, 99)).model == "strong"


async def test_breaker_opens_after_repeated_failures_then_lets_a_probe_through(
    fake, engine_for, source
):
    fake.default("fast", ServerError(503))
    fake.default("backup", Reply(FIXED))
    engine = engine_for(fake, breaker={"failure_threshold": 2, "cooldown_s": 0.3})
    for i in range(2):
        await engine.fix(source, 1, 1, message=f"m{i}")
    skipped = await engine.fix(source, 1, 1, message="m2")
    assert outcomes(skipped)[0] == ("fast", "skipped_open_breaker")
    assert len(fake.requests_for("fast")) == 2
    await asyncio.sleep(0.35)
    fake.default("fast", Reply(FIXED))
    probed = await engine.fix(source, 1, 1, message="m3")
    assert probed.model == "fast"
    closed = await engine.fix(source, 1, 1, message="m4")
    assert outcomes(closed) == [("fast", "ok")]


async def test_when_every_candidate_cools_down_the_first_to_recover_is_tried(
    fake, engine_for, source
):
    fake.script("fast", RateLimited(retry_after=0.3))
    fake.script("backup", RateLimited(retry_after=5))
    fake.default("fast", Reply(FIXED))
    engine = engine_for(fake, tasks={"fix": {"deadline_s": 5}, "explain": {"hedge": False}})
    with pytest.raises(NoAnswer):
        await engine.fix(source, 1, 1)
    started = time.monotonic()
    answer = await engine.fix(source, 1, 1, message="again")
    assert answer.model == "fast"
    assert 0.2 < time.monotonic() - started < 2.0
    assert [a.outcome.value for a in answer.attempts][:2] == [
        "skipped_open_breaker",
        "skipped_open_breaker",
    ]


async def test_requests_waiting_on_a_recovering_provider_let_one_probe_go_first(
    fake, engine_for, source
):
    fake.script("fast", ServerError(503), Reply(FIXED, delay=0.4))
    fake.default("fast", Reply(FIXED))
    engine = engine_for(
        fake,
        routes={"fix": ["fast"], "explain": ["fast"], "review": ["fast"]},
        breaker={"failure_threshold": 1, "cooldown_s": 0.3},
    )
    with pytest.raises(NoAnswer):
        await engine.fix(source, 1, 1)
    waiting = [asyncio.create_task(engine.fix(source, 1, 1, message=f"m{i}")) for i in range(6)]
    await asyncio.to_thread(fake.wait_for_requests, 2)  # the failure, then the probe
    answers = await asyncio.gather(*waiting)
    probe, *rest = fake.requests_for("fast")[1:]
    assert len(rest) == 5
    # Nothing else went out while the probe was being answered.
    assert all(r.received_at >= probe.received_at + 0.35 for r in rest)
    assert all(a.model == "fast" for a in answers)


async def test_waiters_give_up_when_the_probe_fails_and_recovery_is_past_the_deadline(
    fake, engine_for, source
):
    fake.script("fast", ServerError(503), ServerError(503, delay=0.3))
    engine = engine_for(
        fake,
        routes={"fix": ["fast"], "explain": ["fast"], "review": ["fast"]},
        breaker={"failure_threshold": 1, "cooldown_s": 0.3},
        tasks={"fix": {"deadline_s": 1.5}, "explain": {"hedge": False}},
    )
    with pytest.raises(NoAnswer):
        await engine.fix(source, 1, 1)
    started = time.monotonic()
    results = await asyncio.gather(
        *(engine.fix(source, 1, 1, message=f"m{i}") for i in range(4)), return_exceptions=True
    )
    assert all(isinstance(r, NoAnswer) for r in results)
    assert len(fake.requests_for("fast")) == 2  # one probe, which failed: no stampede after it
    # The failed probe doubled the cool-down to 0.6 s: too late to answer within the 1.5 s
    # deadline, so the waiters give up when the probe fails instead of at their deadline.
    assert time.monotonic() - started < 1.4


async def test_a_provider_that_recovers_while_a_request_tries_elsewhere_is_used(
    fake, engine_for, source
):
    # `fast` trips its breaker; a hover-like request waits and probes it (the probe takes
    # 0.4 s and succeeds). Meanwhile a fix skips `fast` (probe taken), and its `backup` fails:
    # by then `fast` is healthy again, and the fix must use it rather than give up.
    fake.script("fast", ServerError(503), Reply("explained", delay=0.4), Reply(FIXED))
    fake.script("backup", ServerError(503, delay=0.5))
    engine = engine_for(
        fake,
        routes={"fix": ["fast", "backup"], "explain": ["fast"], "review": ["fast"]},
        breaker={"failure_threshold": 1, "cooldown_s": 0.3},
        tasks={"fix": {"deadline_s": 5}, "explain": {"hedge": False, "deadline_s": 5}},
    )
    with pytest.raises(NoAnswer):
        await engine.explain(source, 0)
    probe = asyncio.create_task(engine.explain(source, 1))
    await asyncio.to_thread(fake.wait_for_requests, 2)  # the probe is out
    fixed = await engine.fix(source, 1, 1)
    assert (await probe).model == "fast"
    assert fixed.model == "fast"
    assert [a.outcome.value for a in fixed.attempts] == [
        "skipped_open_breaker",
        "server_error",
        "ok",
    ]


async def test_a_retry_after_beyond_the_deadline_fails_at_once(fake, engine_for, source):
    fake.script("fast", RateLimited(retry_after=60))
    engine = engine_for(
        fake,
        routes={"fix": ["fast"], "explain": ["fast"], "review": ["fast"]},
        tasks={"fix": {"deadline_s": 10}, "explain": {"hedge": False}},
    )
    with pytest.raises(NoAnswer):
        await engine.fix(source, 1, 1)
    started = time.monotonic()
    with pytest.raises(NoAnswer) as failed:
        await engine.fix(source, 1, 1, message="again")
    assert time.monotonic() - started < 2.0  # not a 10 s wait for nothing
    assert [a.outcome.value for a in failed.value.attempts] == ["skipped_open_breaker"]


async def test_an_answer_cut_at_the_token_limit_escalates_without_blaming_the_provider(
    fake, engine_for, source
):
    fake.default("fast", Reply("```python\ndef add(a, b):\n", finish_reason="length"))
    fake.default("backup", Reply(FIXED))
    engine = engine_for(fake, breaker={"failure_threshold": 2, "cooldown_s": 30})
    for i in range(3):
        answer = await engine.fix(source, 1, 1, message=f"m{i}")
        assert outcomes(answer) == [("fast", "cut_off"), ("backup", "ok")]
    assert engine.gateway.provider_health()["p"].state == "ok"
    # Counted apart from unusable answers, so stats show why the model never answers.
    [fast] = [m for m in engine.stats().to_json()["models"] if m["model"] == "fast"]
    assert fast["failures_by_kind"] == {"cut_off": 3}


async def test_the_task_deadline_bounds_all_attempts_together(fake, engine_for, source):
    fake.default("fast", Hang())
    fake.default("backup", Hang())
    engine = engine_for(fake, tasks={"fix": {"deadline_s": 0.6}, "explain": {"hedge": False}})
    started = time.monotonic()
    with pytest.raises(NoAnswer) as failed:
        await engine.fix(source, 1, 1)
    elapsed = time.monotonic() - started
    assert elapsed < 1.5
    assert [a.outcome.value for a in failed.value.attempts] == ["timeout"]
    assert fake.requests_for("fast")[0].wait_client_disconnected(2.0)


async def test_hedging_returns_the_faster_answer_and_cancels_the_slower_request(
    fake, engine_for, source
):
    fake.default("fast", Reply("slow explanation", delay=3.0))
    fake.default("backup", Reply("quick explanation"))
    engine = engine_for(
        fake, tasks={"explain": {"hedge": True, "hedge_delay_ms": 100, "deadline_s": 10}}
    )
    started = time.monotonic()
    answer = await engine.explain(source, 1)
    assert answer.value.markdown == "quick explanation"
    assert answer.model == "backup"
    assert time.monotonic() - started < 1.5
    assert [a.outcome.value for a in answer.attempts] == ["ok"]
    assert fake.requests_for("fast")[0].wait_client_disconnected(2.0)


async def test_without_hedging_a_slow_primary_is_waited_for(fake, engine_for, source):
    fake.default("fast", Reply("slow but fine", delay=0.4))
    fake.default("backup", Reply("never asked"))
    answer = await engine_for(fake).explain(source, 1)
    assert answer.model == "fast"
    assert fake.requests_for("backup") == []


async def test_an_invalid_fix_escalates_to_the_next_model(fake, engine_for, source):
    fake.default("fast", Reply("Just change the minus to a plus."))  # no code block
    fake.default("backup", Reply(FIXED))
    answer = await engine_for(fake).fix(source, 1, 1)
    assert outcomes(answer) == [("fast", "invalid"), ("backup", "ok")]


async def test_a_fix_that_breaks_python_syntax_escalates(fake, engine_for, source):
    fake.default("fast", Reply("```python\ndef add(a, b:\n    return a + b\n```"))
    fake.default("backup", Reply(FIXED))
    answer = await engine_for(fake).fix(source, 0, 1)
    assert outcomes(answer) == [("fast", "invalid"), ("backup", "ok")]


async def test_a_fresh_cache_hit_makes_no_request(fake, engine_for, source):
    fake.default("fast", Reply(FIXED))
    engine = engine_for(fake)
    first = await engine.fix(source, 1, 1)
    second = await engine.fix(source, 1, 1)
    assert (first.cache, second.cache) == (CacheState.MISS, CacheState.FRESH)
    assert second.model == "fast"
    assert len(fake.requests) == 1


async def test_stale_answer_is_served_when_every_model_fails(fake, engine_for, source):
    fake.default("fast", Reply(FIXED))
    engine = engine_for(fake, cache={"ttl_s": 0})
    await engine.fix(source, 1, 1)
    fake.default("fast", ServerError(503))
    fake.default("backup", ServerError(500))
    await asyncio.sleep(0.01)
    answer = await engine.fix(source, 1, 1)
    assert answer.cache is CacheState.STALE
    assert answer.model == "fast"
    assert outcomes(answer) == [("fast", "server_error"), ("backup", "server_error")]


async def test_failures_are_never_cached(fake, engine_for, source):
    fake.default("fast", ServerError(503))
    fake.default("backup", Reply("no code block here"))
    engine = engine_for(fake)
    with pytest.raises(NoAnswer) as failed:
        await engine.fix(source, 1, 1)
    assert "fast: server error; backup: unusable answer" in str(failed.value)
    fake.default("fast", Reply(FIXED))
    answer = await engine.fix(source, 1, 1)
    assert answer.cache is CacheState.MISS


async def test_the_persistent_cache_survives_a_restart(fake, engine_for, source):
    fake.default("fast", Reply(FIXED))
    first = engine_for(fake)
    await first.fix(source, 1, 1)
    await first.aclose()
    second = engine_for(fake)
    answer = await second.fix(source, 1, 1)
    assert answer.cache is CacheState.FRESH
    assert len(fake.requests) == 1


async def test_a_corrupt_cache_file_is_rebuilt_with_a_warning(
    fake, engine_for, source, tmp_path, caplog
):
    (tmp_path / "cache.sqlite").write_bytes(b"this is not a database" * 100)
    fake.default("fast", Reply(FIXED))
    with caplog.at_level(logging.WARNING):
        engine = engine_for(fake)
    assert "unreadable" in caplog.text
    assert (await engine.fix(source, 1, 1)).cache is CacheState.MISS
    assert (await engine.fix(source, 1, 1)).cache is CacheState.FRESH
    assert list(tmp_path.glob("cache.sqlite.corrupt-*"))


async def test_each_key_goes_only_to_its_own_provider(fake, engine_for, source):
    other = FakeProvider().start()
    try:
        fake.default("fast", ServerError(500))
        other.default("backup", Reply(FIXED))
        engine = engine_for(
            fake,
            models={"fast": {"provider": "keyed_a"}, "backup": {"provider": "keyed_b"}},
            providers={"keyed_a": fake.base_url, "keyed_b": other.base_url},
            environ={"KEY_KEYED_A": "sk-aaaa-1111", "KEY_KEYED_B": "sk-bbbb-2222"},
        )
        await engine.fix(source, 1, 1)
        assert {r.headers.get("authorization") for r in fake.requests} == {"Bearer sk-aaaa-1111"}
        assert {r.headers.get("authorization") for r in other.requests} == {"Bearer sk-bbbb-2222"}
    finally:
        other.stop()


async def test_cancelling_a_request_closes_the_provider_connection(fake, engine_for, source):
    fake.default("fast", Hang())
    engine = engine_for(fake)
    task = asyncio.create_task(engine.explain(source, 1))
    await asyncio.to_thread(fake.wait_for_requests, 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fake.requests[0].wait_client_disconnected(2.0)
    assert fake.requests_for("backup") == []


async def test_review_asks_for_json_where_the_model_supports_it(fake, engine_for, source):
    fake.default(
        "backup",
        Reply(
            '{"findings": [{"line": 2, "severity": "error", '
            '"message": "subtracts", "suggestion": "    return a + b"}]}'
        ),
    )
    engine = engine_for(
        fake, models={"fast": {"provider": "p"}, "backup": {"provider": "q", "json_mode": True}}
    )
    answer = await engine.review(source)
    body = fake.requests_for("backup")[0].json
    assert body["response_format"] == {"type": "json_object"}
    [finding] = answer.value.findings
    assert (finding.line, finding.severity) == (1, "error")
    assert finding.fix is not None


async def test_usage_is_counted_per_model_with_cost(fake, engine_for, source):
    fake.default("fast", RateLimited())
    fake.default("backup", Reply(FIXED, prompt_tokens=1000, completion_tokens=200))
    engine = engine_for(
        fake,
        models={
            "fast": {"provider": "p"},
            "backup": {"provider": "q", "input_cost_per_mtok": 1.0, "output_cost_per_mtok": 5.0},
        },
    )
    answer = await engine.fix(source, 1, 1)
    assert answer.cost_usd == pytest.approx((1000 * 1.0 + 200 * 5.0) / 1e6)
    await engine.fix(source, 1, 1)  # fresh cache hit
    stats = {m["model"]: m for m in engine.stats().to_json()["models"]}
    assert stats["fast"]["failures_by_kind"] == {"rate_limited": 1}
    assert stats["backup"]["requests"] == 1
    assert stats["backup"]["prompt_tokens"] == 1000
    assert stats["backup"]["cache_hits"] == {"fresh": 1, "stale": 0}
    assert stats["backup"]["p50_ms"] is not None


async def test_a_rate_limit_cools_down_every_model_of_that_provider(fake, engine_for, source):
    fake.script("fast", RateLimited(retry_after=5))
    fake.default("sibling", Reply(FIXED))
    fake.default("elsewhere", Reply(FIXED))
    engine = engine_for(
        fake,
        models={
            "fast": {"provider": "p"},
            "sibling": {"provider": "p"},
            "elsewhere": {"provider": "q"},
        },
        routes={"fix": ["fast", "sibling", "elsewhere"]},
    )
    answer = await engine.fix(source, 1, 1)
    assert outcomes(answer) == [
        ("fast", "rate_limited"),
        ("sibling", "skipped_open_breaker"),
        ("elsewhere", "ok"),
    ]
