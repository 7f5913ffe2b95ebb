"""`switchboard compare` against fake models that differ in latency, price and answer quality.

The asks are real: ruff's own JSON for a file's diagnostics (or the installed ruff, run by the
command itself), and each model's fix is verified by ruff, so a model whose edit leaves the
diagnostic counts as unusable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from switchboard.compare.report import Figures, suggest, suggested_toml
from tests.fake_provider import Reply, ServerError
from tests.support import config_dict, toml

HELLO = 'def greet(name):\n    print("hello " + nam)\n\n\ngreet("you")\n'
LEAVES_IT = '```python\n    print("hello " + nam.upper())\n```'
CLEARS_IT = '```python\n    print("hello " + name)\n```'
REVIEW = json.dumps({"findings": [{"line": 2, "end_line": 2, "severity": "error", "message": "x"}]})


@pytest.fixture
def workspace(tmp_path: Path, fake) -> Path:
    """fast: cheap and quick but its edits fail ruff; mid: cheap, good, a bit slower; strong:
    good, ten times the price and slower still; flaky: answers 500."""
    models = {
        "fast": {"provider": "p", "input_cost_per_mtok": 0.1, "output_cost_per_mtok": 0.1},
        "mid": {"provider": "p", "input_cost_per_mtok": 0.2, "output_cost_per_mtok": 0.2},
        "strong": {"provider": "p", "input_cost_per_mtok": 2.0, "output_cost_per_mtok": 2.0},
        "flaky": {"provider": "q", "input_cost_per_mtok": 0.0, "output_cost_per_mtok": 0.0},
    }
    routes = {"fix": ["fast", "mid", "strong", "flaky"], "review": ["strong"]}
    raw = config_dict(tmp_path, {"p": fake.base_url, "q": fake.base_url}, models, routes)
    (tmp_path / "config.toml").write_text(toml(raw))
    root = tmp_path / "project"
    root.mkdir()
    (root / "hello.py").write_text(HELLO)
    fake.default("fast", Reply(LEAVES_IT, delay=0.01))
    fake.default("mid", Reply(CLEARS_IT, delay=0.08))
    fake.default("strong", Reply(CLEARS_IT, delay=0.2))
    fake.default("flaky", ServerError())
    return root


def compare(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "switchboard", "compare", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "SWITCHBOARD_CONFIG": str(root.parent / "config.toml")},
        cwd=root,
        timeout=60,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def ruff_json(root: Path) -> Path:
    out = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--output-format", "json", "hello.py"],
        capture_output=True,
        text=True,
        cwd=root,
    )
    path = root / "diagnostics.json"
    path.write_text(out.stdout)
    assert json.loads(out.stdout)[0]["code"] == "F821"
    return path


def test_compare_fixes_from_ruffs_json_table_route_and_chart(workspace, fake):
    diagnostics = ruff_json(workspace)
    result = compare(
        workspace, "--diagnostics", str(diagnostics), "--chart", "chart.html", "--jobs", "2"
    )
    assert result.returncode == 0, result.stderr
    lines = {line.split()[1]: line for line in result.stdout.splitlines() if line[:4] == "fix "}
    assert "1/1 (100%)" in lines["mid"] and "1/1 (100%)" in lines["strong"]
    assert "0/1 (0%)" in lines["fast"] and "invalid 1" in lines["fast"]
    assert "server_error 1" in lines["flaky"]
    # Suggested: the cheaper of the two good models first; the useless ones left out.
    assert '[routes]\nfix = ["mid", "strong"]\n' in result.stdout
    assert "[4/4]" in result.stderr  # progress, one line per answer
    page = (workspace / "chart.html").read_text()
    assert page.startswith("<!doctype html>") and "<script" not in page
    assert page.count("<svg") == 2
    # Cost: only the models with a usable answer have a cost per answer; latency: all four.
    assert page.count('class="model"') == 2 + 4
    # Every model really answered: the cache was bypassed, one request per model.
    assert sorted(r.model for r in fake.requests) == ["fast", "flaky", "mid", "strong"]


@pytest.mark.slow  # the installed checkers (ruff, basedpyright, mypy) run on the file
def test_compare_json_runs_the_installed_ruff_and_bypasses_the_cache(workspace, fake):
    for _ in range(2):
        result = compare(workspace, "hello.py", "--models", "fast,mid", "--json")
        assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    rows = {row["model"]: row for row in data["models"]}
    assert rows["mid"]["usable"] == 1 and rows["mid"]["cost_per_answer_usd"] > 0
    assert rows["fast"]["failures"] == {"invalid": 1}
    assert rows["mid"]["p50_ms"] >= 80
    assert data["suggested_routes"] == {"fix": ["mid"]}
    assert len(fake.requests) == 4  # the second run asked again, nothing came from the cache


@pytest.mark.slow  # the installed checkers run on the file
def test_compare_stops_sending_past_the_cost_cap(workspace, fake):
    result = compare(
        workspace, "hello.py", "--task", "review", "--task", "fix", "--models", "strong",
        "--jobs", "1", "--max-cost", "0.0000001", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    trials = json.loads(result.stdout)["trials"]
    assert [t["failure"] for t in trials] == [None, "cost_cap"]
    assert len(fake.requests) == 1


def test_unknown_model_is_a_usage_error(workspace):
    result = compare(workspace, "hello.py", "--models", "nope")
    assert result.returncode == 1
    assert "unknown model alias 'nope'" in result.stderr


def _row(model: str, task: str, usable: int, cost: float, p50: float) -> Figures:
    return Figures(model, task, 10, usable, p50, p50 * 2, 100, cost * 10)


def test_the_suggested_route_weighs_usable_rate_then_cost_or_latency():
    rows = [
        _row("cheap-bad", "fix", 5, 0.001, 100),
        _row("cheap-good", "fix", 9, 0.002, 900),
        _row("pricey-good", "fix", 10, 0.02, 300),
        _row("never", "fix", 0, 0.0, 50),
        _row("slow", "explain", 10, 0.001, 900),
        _row("quick", "explain", 10, 0.01, 100),
    ]
    routes = suggest(rows)
    assert routes == {
        "fix": ["cheap-good", "pricey-good", "cheap-bad"],
        "explain": ["quick", "slow"],
    }
    assert suggested_toml(routes) == (
        '[routes]\nfix = ["cheap-good", "pricey-good", "cheap-bad"]\nexplain = ["quick", "slow"]\n'
    )


def test_compare_explanations_suggest_the_fastest_first(workspace, fake):
    fake.default("mid", Reply("Greets someone.", delay=0.15))
    fake.default("strong", Reply("Greets someone by name.", delay=0.01))
    result = compare(
        workspace, "hello.py", "--task", "explain", "--line", "1", "--line", "2",
        "--models", "mid,strong", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["suggested_routes"] == {"explain": ["strong", "mid"]}
    assert data["suggested_toml"] == '[routes]\nexplain = ["strong", "mid"]\n'
    assert {row["model"]: row["asks"] for row in data["models"]} == {"mid": 2, "strong": 2}
