"""Route strategies: a route ordered by measured latency, by price, or by a mix of both.

The ordering itself is pure (`order_chain`); the gateway tests run real requests against the
loopback fake, with the gateway's clock injected so that the refresh period is stepped over.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from switchboard.config import ConfigError, StrategyConfig
from switchboard.engine import Engine
from switchboard.gateway import Gateway
from switchboard.gateway.strategy import Measure, order_chain
from switchboard.tasks import Source
from tests.fake_provider import Reply, ServerError
from tests.support import config_dict, make_config, toml

CODE = "def add(a, b):\n    return a - b\n"
FIXED = "```python\n    return a + b\n```"


def test_listed_keeps_the_order_and_latency_puts_the_fastest_first():
    measures = {"a": Measure(300.0, 1.0), "b": Measure(100.0, 5.0), "c": Measure(200.0, None)}
    listed = StrategyConfig()
    assert order_chain(("a", "b", "c"), listed, measures) == (("a", "b", "c"), "as listed")
    chain, why = order_chain(("a", "b", "c"), StrategyConfig(order="latency"), measures)
    assert chain == ("b", "c", "a")
    assert why.startswith("b: p50 100 ms, $5/Mtok in+out; c: p50 200 ms, price unknown")


def test_price_puts_the_cheapest_first_and_an_unknown_price_last():
    measures = {"a": Measure(300.0, 1.0), "b": Measure(100.0, 5.0), "c": Measure(50.0, None)}
    chain, _ = order_chain(("c", "b", "a"), StrategyConfig(order="price"), measures)
    assert chain == ("a", "b", "c")


def test_mixed_weighs_latency_against_price():
    # a: fast and dear; b: slow and cheap.
    measures = {"a": Measure(100.0, 10.0), "b": Measure(1000.0, 1.0)}
    by_latency = StrategyConfig(order="mixed", latency_weight=0.9)
    by_price = StrategyConfig(order="mixed", latency_weight=0.1)
    assert order_chain(("b", "a"), by_latency, measures)[0] == ("a", "b")
    assert order_chain(("a", "b"), by_price, measures)[0] == ("b", "a")


def test_an_unmeasured_model_is_tried_first_so_that_it_gets_measured():
    measures = {"a": Measure(100.0, 1.0), "b": Measure(None, 1.0)}
    assert order_chain(("a", "b"), StrategyConfig(order="latency"), measures)[0] == ("b", "a")


def test_the_config_accepts_a_strategy_name_or_a_table(tmp_path):
    models = {"a": {"provider": "p"}, "b": {"provider": "p"}}
    routes = {"fix": ["a", "b"], "review": ["b"]}
    config = make_config(
        tmp_path,
        {"p": "http://127.0.0.1:9"},
        models,
        routes,
        strategies={"fix": "latency", "review": {"order": "mixed", "latency_weight": 0.3}},
    )
    assert config.strategies["fix"] == StrategyConfig(order="latency")
    assert config.strategies["review"].latency_weight == 0.3
    with pytest.raises(ConfigError, match=r"strategies\.nope: unknown route"):
        make_config(
            tmp_path, {"p": "http://127.0.0.1:9"}, models, routes, strategies={"nope": "price"}
        )
    with pytest.raises(ConfigError, match="strategies"):
        make_config(
            tmp_path, {"p": "http://127.0.0.1:9"}, models, routes, strategies={"fix": "fastest"}
        )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def engine_on(tmp_path, fake, models, routes, strategies) -> tuple[Engine, Clock]:
    config = make_config(
        tmp_path,
        {"p": fake.base_url, "q": fake.base_url},
        models,
        routes,
        strategies=strategies,
        cache={"enabled": False},
    )
    gateway = Gateway.create(config, environ={})
    clock = Clock()
    gateway._clock = clock
    return Engine(config, gateway), clock


async def test_a_latency_ordered_route_follows_the_fastest_model_and_back(tmp_path, fake):
    """a is fast, then slow (b takes the lead), then fast again (a takes it back). Each model
    is also on a route of its own, as a model serves several routes in real use."""
    models = {"a": {"provider": "p"}, "b": {"provider": "q"}}
    routes = {"fix": ["a", "b"], "only_a": ["a"], "only_b": ["b"], "explain": ["a"]}
    engine, clock = engine_on(
        tmp_path, fake, models, routes, {"fix": {"order": "latency", "samples": 3, "refresh_s": 5}}
    )
    source = Source(CODE, str(tmp_path / "calc.py"))
    ask = engine.fix_ask(source, 1, 1)

    async def on(route: str, times: int = 3) -> str:
        for _ in range(times):
            answer = await engine.ask(dataclasses.replace(ask, route=route))
        clock.now += 10  # past refresh_s: the next answer recomputes the order
        return answer.model

    async def fix_goes_to() -> str:
        await on("fix", 1)  # recomputes the order after its answer
        first = await on("fix", 1)
        return first

    try:
        fake.default("a", Reply(FIXED, delay=0.0))
        fake.default("b", Reply(FIXED, delay=0.05))
        await on("only_b")
        assert await fix_goes_to() == "a"
        assert engine.stats().to_json()["route_orders"]["fix"]["order"] == ["a", "b"]

        fake.default("a", Reply(FIXED, delay=0.15))  # a slows down
        await on("only_a")
        assert await fix_goes_to() == "b"
        order = engine.stats().to_json()["route_orders"]["fix"]
        assert order["order"] == ["b", "a"] and order["strategy"] == "latency"
        assert order["why"].startswith("b: p50 5") and "a: p50 15" in order["why"]

        fake.default("a", Reply(FIXED, delay=0.0))  # and recovers
        await on("only_a")
        assert await fix_goes_to() == "a"
    finally:
        await engine.aclose()


async def test_a_price_ordered_route_sends_to_the_cheapest_healthy_model(tmp_path, fake):
    models = {
        "dear": {"provider": "p", "input_cost_per_mtok": 3.0, "output_cost_per_mtok": 15.0},
        "cheap": {"provider": "q", "input_cost_per_mtok": 0.1, "output_cost_per_mtok": 0.4},
        "mid": {"provider": "p", "input_cost_per_mtok": 1.0, "output_cost_per_mtok": 2.0},
    }
    routes = {"fix": ["dear", "mid", "cheap"]}
    engine, _ = engine_on(tmp_path, fake, models, routes, {"fix": "price"})
    source = Source(CODE, str(tmp_path / "calc.py"))
    try:
        for name in models:
            fake.default(name, Reply(FIXED))
        assert engine.stats().to_json()["route_orders"]["fix"]["order"] == ["cheap", "mid", "dear"]
        answer = await engine.fix(source, 1, 1)
        assert answer.model == "cheap"
        assert [r.model for r in fake.requests] == ["cheap"]
        # The cheapest failing: the next cheapest answers, in the same request.
        fake.default("cheap", ServerError(503))
        answer = await engine.fix(source, 1, 1, message="again")
        assert [(a.model, a.outcome.value) for a in answer.attempts] == [
            ("cheap", "server_error"),
            ("mid", "ok"),
        ]
    finally:
        await engine.aclose()


async def test_a_listed_route_is_unchanged(tmp_path, fake):
    models = {"a": {"provider": "p", "input_cost_per_mtok": 9.0, "output_cost_per_mtok": 9.0}}
    models["b"] = {"provider": "q", "input_cost_per_mtok": 0.0, "output_cost_per_mtok": 0.0}
    engine, _ = engine_on(tmp_path, fake, models, {"fix": ["a", "b"]}, {})
    try:
        fake.default("a", Reply(FIXED))
        assert (await engine.fix(Source(CODE, str(tmp_path / "c.py")), 1, 1)).model == "a"
        assert engine.stats().to_json()["route_orders"] == {}
    finally:
        await engine.aclose()


def test_the_route_order_benchmark_runs():
    script = Path(__file__).resolve().parent.parent / "bench" / "route_order.py"
    result = subprocess.run(
        [sys.executable, str(script), "--calls", "1000"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "ratio ordered / fixed" in result.stdout


def test_config_check_and_stats_show_the_order_in_use_and_why(tmp_path):
    models = {
        "dear": {"provider": "p", "input_cost_per_mtok": 3.0, "output_cost_per_mtok": 15.0},
        "cheap": {"provider": "p", "input_cost_per_mtok": 0.1, "output_cost_per_mtok": 0.4},
    }
    raw = config_dict(
        tmp_path,
        {"p": "http://127.0.0.1:9/v1"},
        models,
        {"fix": ["dear", "cheap"]},
        strategies={"fix": "price"},
    )
    (tmp_path / "config.toml").write_text(toml(raw))
    env = {**os.environ, "SWITCHBOARD_CONFIG": str(tmp_path / "config.toml")}

    def run(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "switchboard", *args], capture_output=True, text=True, env=env
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert (
        "  fix: price, every 10s: cheap -> dear (cheap: unmeasured, $0.5/Mtok in+out; "
        "dear: unmeasured, $18/Mtok in+out)"
    ) in run("config", "check")
    assert "route fix (price): cheap -> dear\n  why: cheap: unmeasured" in run("stats")
