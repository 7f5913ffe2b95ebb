"""The benchmark harness (bench/) in its smallest mode, so that it cannot rot unnoticed.

Every section runs on a tiny workload against the loopback fake provider and a real
`switchboard lsp`; the figures are not judged here (that is what `scripts/bench` is for), only
that each section produces them and the report and chart render. LiteLLM is left out: its
import alone takes ~5 s; `scripts/bench` exercises it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="the bench dependency group is not installed")

from bench import __main__ as bench
from bench import report

# Not in the inner loop (`pytest -m "not slow"`): every benchmark section, once.
pytestmark = pytest.mark.slow


async def test_every_section_runs_and_reports(tmp_path: Path) -> None:
    results = await bench.run("smoke", with_litellm=False, log=lambda _: None)

    for section in bench.SECTIONS:
        assert section in results, section
    for scenario in results["latency"]["scenarios"]:
        for row in scenario["latency_ms"].values():
            assert row["errors"] == 0 and row["n"] > 0
    for scenario in results["failover"]["scenarios"]:
        assert scenario["steady_ms"]["switchboard"]["errors"] == 0
        assert scenario["primary_calls_in_steady_state"]["switchboard"] == 0
    assert results["tail"]["latency_ms"]["hedging_on"]["errors"] == 0
    assert results["editor"]["hover_ms"]["cached"]["n"] > 0
    assert results["editor"]["cache_fill"]["cache"]["memory_entries"] >= 40
    fix_tokens = [row["fix_prompt_tokens"] for row in results["cost"]["rows"]]
    assert all(tokens > 0 for tokens in fix_tokens)
    complete = results["complete"]
    assert {sc["route"] for sc in complete["added"]["scenarios"]} == {"chat", "fim"}
    for scenario in complete["added"]["scenarios"]:
        for row in scenario["latency_ms"].values():
            assert row["errors"] == 0 and row["n"] > 0
    assert "/v1/completions" in complete["added"]["paths"]
    assert complete["added"]["schema_errors"] == []
    for row in complete["tail"]["latency_ms"].values():
        assert row["errors"] == 0 and row["n"] > 0
    typing = complete["typing"]
    assert typing["keystrokes"] > 0 and typing["model"] > 0
    assert (
        typing["typed_ahead"] + typing["cache"] + typing["model"] + typing["no_suggestion"]
        == typing["keystrokes"]
    )
    for by in complete["debounce"]["by_model_ms"].values():
        for row in by["by_debounce_ms"].values():
            assert row["keystrokes"] > 0 and row["requests_failed"] == 0
            assert 0 < row["model_requests"] <= row["keystrokes"]
    assert {t["target"] for t in results["targets"]} >= {"cached hover p99"}

    text = report.markdown(results)
    assert "Added latency" in text and "Inline completion" in text and "Targets" in text
    report.chart(results, tmp_path / "latency.png")
    assert (tmp_path / "latency.png").stat().st_size > 10_000
