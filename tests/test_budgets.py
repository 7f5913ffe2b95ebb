"""Prices, estimates and budgets against the loopback fake provider: where a price comes from,
what a review will cost before it runs, and a spent budget that stops the spending."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from switchboard.config import config_from_mapping
from switchboard.config.workspace import apply_overlay
from switchboard.engine import Engine
from switchboard.gateway import BudgetReached, CacheState
from switchboard.gateway.prices import PriceSource
from switchboard.tasks import Source
from tests.fake_provider import Reply, unused_tcp_port
from tests.redis_server import RedisServer
from tests.support import config_dict, toml

CODE = "def add(a, b):\n    return a - b\n\n\nprint(add(1, 2))\n"
FIXED = "```python\ndef add(a, b):\n    return a + b\n```"
REVIEW = json.dumps(
    {"findings": [{"line": 2, "severity": "error", "message": "add() subtracts", "suggestion": ""}]}
)
# OpenRouter-style per-token prices: $2 and $8 per million tokens.
PAID_IN, PAID_OUT = 2e-6, 8e-6


LOCAL = {"local": {"provider": "p", "input_cost_per_mtok": 0}}


def raw_config(tmp_path: Path, fake, models=None, routes=None, **sections):
    return config_dict(
        tmp_path,
        {"p": fake.base_url},
        {**LOCAL, **(models or {"paid": {"provider": "p"}})},
        routes or {"fix": ["paid", "local"], "explain": ["paid"], "review": ["paid"]},
        **{"prices": {"listing": True}, **sections},
    )


def engine(tmp_path: Path, fake, **kwargs) -> Engine:
    raw = raw_config(tmp_path, fake, **kwargs)
    return Engine.create(config_from_mapping(raw, environ={}, source="test"))


def source(tmp_path: Path, text: str = CODE, name: str = "calc.py") -> Source:
    path = tmp_path / name
    path.write_text(text)
    return Source(text, str(path))


async def test_prices_from_the_provider_listing_are_used_in_cost_figures(tmp_path, fake):
    fake.price("paid", prompt=PAID_IN, completion=PAID_OUT, context_length=65536)
    fake.default("paid", Reply(FIXED))
    e = engine(tmp_path, fake)
    try:
        await e.gateway.start()  # the CLI looks stale prices up before it asks
        price = e.gateway.price_of("paid")
        assert price.source is PriceSource.LISTING
        assert (price.input_per_mtok, price.output_per_mtok) == pytest.approx((2.0, 8.0))
        answer = await e.fix(source(tmp_path), 1, 1)
        assert answer.usage is not None
        expected = (answer.usage.prompt_tokens * 2.0 + answer.usage.completion_tokens * 8.0) / 1e6
        assert answer.cost_usd == pytest.approx(expected)
        row = next(m for m in e.stats().to_json()["models"] if m["model"] == "paid")
        assert row["cost_usd"] == pytest.approx(expected, abs=1e-6)
        assert row["price_per_mtok"]["source"] == "provider listing"
    finally:
        await e.aclose()
    # Kept on disk: the next process knows the price without asking.
    again = engine(tmp_path, fake)
    try:
        assert again.gateway.price_of("paid").source is PriceSource.LISTING
        assert not again.gateway.prices.stale()
    finally:
        await again.aclose()


async def test_a_price_set_in_the_config_wins_over_the_listing(tmp_path, fake):
    fake.price("paid", prompt=PAID_IN, completion=PAID_OUT)
    fake.default("paid", Reply(FIXED, prompt_tokens=1000, completion_tokens=100))
    e = engine(
        tmp_path,
        fake,
        models={"paid": {"provider": "p", "input_cost_per_mtok": 1.0, "output_cost_per_mtok": 3.0}},
    )
    try:
        await e.gateway.start()
        assert e.gateway.price_of("paid").source is PriceSource.CONFIG
        answer = await e.fix(source(tmp_path), 1, 1)
        assert answer.cost_usd == pytest.approx((1000 * 1.0 + 100 * 3.0) / 1e6)
    finally:
        await e.aclose()


async def test_the_cost_a_provider_reports_is_the_cost_counted(tmp_path, fake):
    fake.price("paid", prompt=PAID_IN, completion=PAID_OUT)
    fake.default("paid", Reply(FIXED, cost=0.0125))
    e = engine(tmp_path, fake)
    try:
        await e.gateway.start()
        answer = await e.fix(source(tmp_path), 1, 1)
        assert answer.cost_usd == pytest.approx(0.0125)
        assert e.gateway.spend().today["fix"] == pytest.approx(0.0125)
    finally:
        await e.aclose()


@pytest.mark.parametrize(
    "unusable",
    [
        Reply("```python\ndef add(a, b):\n    ...\n```", prompt_tokens=1000, completion_tokens=500),
        Reply("def add(a, b):\n    return a +", finish_reason="length", prompt_tokens=1000,
              completion_tokens=500),
        Reply("", reasoning="Let me think about it.", prompt_tokens=1000, completion_tokens=500),
    ],
    ids=["refused edit", "cut off", "only reasoning"],
)  # fmt: skip
async def test_an_answer_that_cannot_be_used_is_paid_for_all_the_same(tmp_path, fake, unusable):
    """The next model is asked, but the provider billed the first answer: spend, budgets and
    the model's cost figures count it."""
    fake.price("paid", prompt=PAID_IN, completion=PAID_OUT)
    fake.default("paid", unusable)
    fake.default("local", Reply(FIXED))
    e = engine(tmp_path, fake)
    try:
        await e.gateway.start()
        answer = await e.fix(source(tmp_path), 1, 1)
        assert answer.model == "local"
        billed = 1000 * PAID_IN + 500 * PAID_OUT
        assert e.gateway.spend().today["fix"] == pytest.approx(billed)
        [paid] = [m for m in e.stats().to_json()["models"] if m["model"] == "paid"]
        assert paid["cost_usd"] == pytest.approx(billed)
        assert (paid["prompt_tokens"], paid["completion_tokens"]) == (1000, 500)
    finally:
        await e.aclose()


@pytest.mark.slow
async def test_the_price_table_prices_a_model_no_listing_prices(tmp_path, fake):
    fake.default("gpt-4o-mini", Reply(FIXED))  # listed, without prices
    models = {"mini": {"provider": "p", "model": "gpt-4o-mini"}}
    e = engine(
        tmp_path,
        fake,
        models=models,
        routes={"fix": ["mini"], "explain": ["mini"], "review": ["mini"]},
        prices={"listing": True, "table": True},
    )
    try:
        await e.gateway.start()
        price = e.gateway.price_of("mini")
        assert price.source is PriceSource.TABLE and price.known and not price.free
    finally:
        await e.aclose()


async def test_an_estimate_counts_the_input_the_provider_reports_and_holds_the_cost(tmp_path, fake):
    fake.price("paid", prompt=PAID_IN, completion=PAID_OUT)
    fake.default("paid", Reply(REVIEW))
    big = CODE + "".join(f"def f{i}(x):\n    return x * {i}\n\n" for i in range(60))
    e = engine(tmp_path, fake)
    try:
        await e.gateway.start()
        file = source(tmp_path, big)
        estimate = e.review_estimate(file)
        assert estimate is not None and estimate.model == "paid"
        assert not fake.requests_for("paid")  # nothing was sent to estimate
        answer = await e.review(file)
        assert answer.usage is not None and not answer.usage.estimated
        reported = answer.usage.prompt_tokens
        assert abs(estimate.input_tokens - reported) <= 0.1 * reported
        assert estimate.cost_low <= answer.cost_usd <= estimate.cost_high
        assert estimate.describe().startswith("≈ $") and "on paid" in estimate.describe()
        # Learned: the next estimate's low end is what the model wrote this time.
        later = e.review_estimate(file)
        assert later is not None
        assert later.output_low == answer.usage.completion_tokens
        assert later.cost_low <= answer.cost_usd <= later.cost_high
    finally:
        await e.aclose()


async def test_a_daily_budget_reached_mid_session_moves_to_the_free_model_then_the_cache(
    tmp_path, fake
):
    fake.default("paid", Reply(FIXED, cost=0.004))
    fake.default("local", Reply(FIXED))
    fake.script("paid", Reply(REVIEW, cost=0.004))
    models = {
        "paid": {"provider": "p", "input_cost_per_mtok": 3.0, "output_cost_per_mtok": 15.0},
        "local": {"provider": "p", "input_cost_per_mtok": 0.0, "output_cost_per_mtok": 0.0},
    }
    e = engine(tmp_path, fake, models=models, budget={"daily_usd": 0.01})
    try:
        reviewed = await e.review(source(tmp_path, name="a.py"))
        assert reviewed.model == "paid" and reviewed.budget == "ok"
        first = await e.fix(source(tmp_path), 0, 0)
        assert first.model == "paid" and first.budget == "near"
        assert any("Near the budget" in n for n in first.notices)
        second = await e.fix(source(tmp_path), 1, 1)
        assert second.model == "paid" and second.budget == "reached"  # this one spent it
        assert any("Budget reached" in n for n in second.notices)
        spent_paid = len(fake.requests_for("paid"))
        third = await e.fix(source(tmp_path), 4, 4)
        assert third.model == "local" and third.cache is CacheState.MISS
        assert third.budget == "reached" and not third.notices  # said once
        # The review route has no free model: the cache alone answers.
        again = await e.review(source(tmp_path, name="a.py"))
        assert again.cache is CacheState.FRESH and again.budget == "reached"
        with pytest.raises(BudgetReached) as failed:
            await e.review(source(tmp_path, "x = 1\n", name="b.py"))
        assert "budget is reached" in str(failed.value)
        assert len(fake.requests_for("paid")) == spent_paid  # nothing more was spent
        assert e.stats().to_json()["budget"]["state"] == "reached"
    finally:
        await e.aclose()
    # Spend is kept across restarts.
    later = engine(tmp_path, fake, models=models, budget={"daily_usd": 0.01})
    try:
        assert later.gateway.budget_state("fix").level == "reached"
    finally:
        await later.aclose()


def test_a_workspace_may_lower_a_budget_but_not_raise_it(tmp_path, fake):
    config = config_from_mapping(
        raw_config(
            tmp_path, fake, budget={"daily_usd": 1.0, "tasks": {"review": {"daily_usd": 0.5}}}
        ),
        environ={},
        source="test",
    )
    lowered, warnings = apply_overlay(
        config, {"budget": {"monthly_usd": 20, "tasks": {"review": {"daily_usd": 0.2}}}}, "ws"
    )
    assert not warnings
    assert lowered.budget.monthly_usd == 20 and lowered.budget.tasks["review"].daily_usd == 0.2
    raised, warnings = apply_overlay(
        config, {"budget": {"daily_usd": 50, "tasks": {"review": {"daily_usd": 5}}}}, "ws"
    )
    assert raised.budget == config.budget
    [warning] = warnings
    assert "budget.daily_usd" in warning and "never raise" in warning


# -- from the shell --------------------------------------------------------------------------


def run(directory: Path, *args: str, env: dict[str, str] | None = None):
    result = subprocess.run(
        [sys.executable, "-m", "switchboard", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "SWITCHBOARD_CONFIG": str(directory / "config.toml"), **(env or {})},
        cwd=directory,
        timeout=60,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def write_config(directory: Path, raw) -> Path:
    directory.mkdir(exist_ok=True)
    (directory / "config.toml").write_text(toml(raw))
    (directory / "calc.py").write_text(CODE)
    return directory


@pytest.mark.slow
def test_models_lists_prices_and_flags_a_configured_model_the_provider_does_not_list(
    tmp_path, fake
):
    fake.price("paid", prompt=PAID_IN, completion=PAID_OUT, context_length=65536)
    raw = config_dict(
        tmp_path,
        {"p": fake.base_url, "down": f"http://127.0.0.1:{unused_tcp_port()}/v1"},
        {
            "paid": {"provider": "p"},
            "typo": {"provider": "p", "model": "paid-v9"},
            "gone": {"provider": "down"},
        },
        {"fix": ["paid"], "explain": ["paid"], "review": ["paid"]},
        prices={"listing": True},
    )
    directory = write_config(tmp_path / "ws", raw)
    data = json.loads(run(directory, "models", "--json").stdout)
    listed = data["providers"]["p"]["models"]
    assert {
        "id": "paid",
        "context_window": 65536,
        "price_per_mtok": {"input": 2.0, "output": 8.0},
    } in listed
    assert data["providers"]["p"]["unlisted"] == ["typo"]
    assert data["providers"]["down"]["error"]
    configured = {m["alias"]: m for m in data["configured"]}
    assert configured["typo"]["listed"] is False and configured["gone"]["listed"] is None
    assert configured["paid"]["price_per_mtok"]["source"] == "provider listing"
    text = run(directory, "models")
    assert text.returncode == 0
    assert "typo (paid-v9) is configured but p does not list it" in text.stdout
    [down] = [line for line in text.stdout.splitlines() if line.startswith("down")]
    assert "unreachable" in down
    check = run(directory, "config", "check").stdout
    assert "paid: 2/8 (provider listing)" in check and "gone: - (unknown)" in check


@pytest.mark.slow
def test_a_budget_reached_from_the_shell_moves_to_the_free_model_then_says_so(tmp_path, fake):
    fake.default("paid", Reply(FIXED, cost=0.02))
    fake.default("local", Reply(FIXED))
    fake.script("paid", Reply(REVIEW, cost=0.02))
    raw = raw_config(tmp_path, fake, budget={"daily_usd": 0.01})
    directory = write_config(tmp_path / "ws", raw)
    estimate = run(directory, "review", "calc.py", "--estimate")
    assert estimate.returncode == 0 and "on paid" in estimate.stdout
    assert not fake.requests_for("paid")
    first = run(directory, "fix", "calc.py", "--line", "2")
    assert first.returncode == 0 and "answered by paid" in first.stderr
    assert "Budget reached" in first.stderr
    second = run(directory, "fix", "calc.py", "--line", "5", "--json")
    assert json.loads(second.stdout)["served_by"]["model"] == "local"
    review = run(directory, "review", "calc.py")
    assert review.returncode == 3 and "budget is reached" in review.stderr
    stats = json.loads(run(directory, "stats", "--json").stdout)["budget"]
    assert stats["state"] == "reached" and stats["today_usd"] == pytest.approx(0.02)
    assert "daily limit: $0.0200 of $0.01" in run(directory, "stats").stdout


@pytest.mark.slow
def test_a_team_budget_holds_across_two_processes_sharing_redis(tmp_path, fake):
    server = RedisServer(tmp_path / "redis").start()
    try:
        fake.default("paid", Reply(FIXED, cost=0.02))
        fake.default("local", Reply(FIXED))
        members = []
        for name in ("alice", "bob"):
            (tmp_path / name).mkdir()
            raw = raw_config(
                tmp_path / name,
                fake,
                budget={"daily_usd": 0.03},
                cache={"url": server.url, "timeout_ms": 500.0},
            )
            members.append(write_config(tmp_path / name, raw))
        alice, bob = members
        assert run(alice, "fix", "calc.py", "--line", "2").returncode == 0
        # Bob has spent nothing himself; the team has spent $0.02 of its $0.03.
        first = run(bob, "fix", "calc.py", "--line", "1", "--json")
        assert json.loads(first.stdout)["served_by"]["model"] == "paid"
        assert "Budget reached" in first.stderr
        # Alice's next request sees the team's spend, not only her own.
        second = run(alice, "fix", "calc.py", "--line", "5", "--json")
        assert json.loads(second.stdout)["served_by"]["model"] == "local", second.stderr
    finally:
        server.stop()


async def test_the_editor_moves_to_the_free_model_then_the_cache_and_says_budget_reached(
    tmp_path, fake, lsp
):
    from lsprotocol import types

    from tests.lsp_support import apply_text_edits, edits_of

    fake.default("paid", Reply(FIXED, cost=0.006))
    fake.default("local", Reply(FIXED))
    models = {
        "paid": {"provider": "p", "input_cost_per_mtok": 3.0, "output_cost_per_mtok": 15.0},
        "local": {"provider": "p", "input_cost_per_mtok": 0.0, "output_cost_per_mtok": 0.0},
    }
    config = tmp_path / "user-config.toml"
    config.write_text(toml(raw_config(tmp_path, fake, models=models, budget={"daily_usd": 0.01})))
    session = await lsp(config)
    uri = session.open("calc.py", CODE)

    async def fix(message: str) -> types.CodeAction:
        diagnostic = types.Diagnostic(
            range=types.Range(
                start=types.Position(line=1, character=4), end=types.Position(line=1, character=16)
            ),
            message=message,
        )
        return await session.client.code_action_resolve_async(
            await session.quick_fix(uri, diagnostic)
        )

    first = await fix("first")  # $0.006 of $0.01: near the limit
    second = await fix("second")  # $0.012: the budget is reached by this one
    third = await fix("third")  # past the limit: only the free model is asked
    for resolved in (first, second, third):
        _, edits = edits_of(resolved.edit, uri)
        assert apply_text_edits(CODE, edits) == CODE.replace("a - b", "a + b")
    assert [r.model for r in fake.requests] == ["paid", "paid", "local"]
    await session.wait_for(lambda: session.status and session.status[-1].get("budget"))
    assert session.status[-1]["model"] == "local"
    assert session.status[-1]["budget"] == "reached"
    # The status bar's tooltip says what was spent: the two paid answers, $0.006 each.
    assert session.status[-1]["spend"] == {"today_usd": 0.012, "month_usd": 0.012}
    messages = [m.message for m in session.client.messages]
    assert sum("Budget reached" in m for m in messages) == 1  # said once
