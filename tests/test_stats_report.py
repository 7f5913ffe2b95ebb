"""The stats report: one type for local and team figures, one JSON form that follows its schema.

The CLI, team and LSP tests check real reports against the schema; these check the shapes a
quiet test run rarely produces (a teammate's cool-down, a recovered provider, no cache).
"""

from __future__ import annotations

from switchboard.gateway import ModelStats
from switchboard.gateway.prices import Price, PriceSource
from switchboard.gateway.report import (
    BoardHealth,
    CacheFigures,
    ModelRow,
    StatsReport,
    TeamHealth,
    TeamScope,
)
from tests.support import assert_stats_report

FAST = ModelStats(
    "fast",
    "p",
    requests=3,
    ok=2,
    failures={"timeout": 1},
    skipped={"skipped_open_breaker": 2},
    p50_ms=12.345,
    p95_ms=40.06,
    prompt_tokens=300,
    completion_tokens=30,
    cost_usd=0.0000123456789,
    cache_fresh=1,
    cache_stale=0,
    edits={"verified": 2, "rejected": 1},
)


def test_a_local_report_with_every_kind_of_provider_health_follows_the_schema():
    report = StatsReport(
        models=(
            ModelRow(FAST, Price(0.15, 0.6, PriceSource.CONFIG)),
            ModelRow(ModelStats.unused("gone", "q")),
        ),
        providers={
            "p": BoardHealth("cooling_down", 3, 29.5, None, team_cooling_for_s=12.0),
            "q": BoardHealth("disabled", 0, 0.0, "HTTP 401: bad key"),
        },
        cache=CacheFigures(entries=2, bytes=300, memory_entries=1, memory_bytes=150),
    )
    data = report.to_json()
    assert_stats_report(data)
    assert list(data) == ["models", "providers", "cache"]
    fast, gone = data["models"]
    assert (fast["availability"], fast["p50_ms"], fast["p95_ms"]) == (0.6667, 12.3, 40.1)
    assert fast["cost_usd"] == 0.000012
    assert fast["price_per_mtok"] == {"input": 0.15, "output": 0.6, "source": "config"}
    assert fast["edits"] == {"verified": 2, "rejected": 1, "not_verified": 0}
    assert gone["availability"] is None and gone["price_per_mtok"] is None
    assert list(data["cache"]) == ["memory_entries", "memory_bytes", "entries", "bytes"]


def test_a_team_report_says_whose_figures_and_follows_the_schema():
    report = StatsReport(
        models=(ModelRow(FAST),),
        providers={
            "p": TeamHealth("cooling_down", cooling_for_s=20.0, outcome="rate_limited"),
            "q": TeamHealth("ok", recovered_s_ago=3.5),
        },
        cache=CacheFigures(entries=5, bytes=1024),
        team=TeamScope("policy-0123456789abcdef", "redis://127.0.0.1:6379/0"),
    )
    data = report.to_json()
    assert_stats_report(data)
    assert data["namespace"] == "policy-0123456789abcdef"
    assert data["providers"] == {
        "p": {"state": "cooling_down", "cooling_for_s": 20.0, "outcome": "rate_limited"},
        "q": {"state": "ok", "recovered_s_ago": 3.5},
    }
    assert data["cache"] == {"entries": 5, "bytes": 1024}


def test_a_report_without_a_cache_follows_the_schema():
    assert_stats_report(StatsReport(models=()).to_json())
