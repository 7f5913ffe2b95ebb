"""The `switchboard` command, run as a subprocess against the loopback fake provider."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.fake_provider import RateLimited, Reply, ServerError, unused_tcp_port
from tests.support import CODE, FIXED, assert_stats_report, config_dict, switchboard, toml

REVIEW = json.dumps(
    {
        "findings": [
            {
                "line": 2,
                "end_line": 2,
                "severity": "error",
                "message": "add() subtracts",
                "suggestion": "    return a + b",
            }
        ]
    }
)
SECRET_KEY = "sk-test-0123456789abcdef"


@pytest.fixture
def workspace(tmp_path, fake):
    """A source file and a config pointing at the fake: fast (p), backup (q), strong (q)."""
    raw = config_dict(
        tmp_path,
        {"p": fake.base_url, "keyed_q": fake.base_url},
        {
            "fast": {"provider": "p", "input_cost_per_mtok": 0.5, "output_cost_per_mtok": 1.5},
            "backup": {"provider": "keyed_q"},
            "strong": {"provider": "keyed_q", "json_mode": True},
        },
        {"fix": ["fast", "backup"], "explain": ["fast", "backup"], "review": ["strong", "fast"]},
    )
    (tmp_path / "config.toml").write_text(toml(raw))
    (tmp_path / "calc.py").write_text(CODE)
    return tmp_path


def run(
    workspace: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {
        "SWITCHBOARD_CONFIG": str(workspace / "config.toml"),
        "KEY_KEYED_Q": SECRET_KEY,
        **(env or {}),
    }
    return switchboard(*args, cwd=workspace, env=environ, never_shows=(SECRET_KEY,))


@pytest.mark.slow
def test_fix_prints_a_unified_diff(workspace, fake):
    fake.default("fast", Reply(FIXED))
    result = run(workspace, "fix", "calc.py", "--line", "1", "--end-line", "2")
    assert result.returncode == 0, result.stderr
    assert "-    return a - b\n+    return a + b\n" in result.stdout
    assert result.stdout.startswith("--- a/calc.py\n+++ b/calc.py\n")
    assert "answered by fast (p)" in result.stderr
    assert (workspace / "calc.py").read_text() == CODE  # not applied without --apply


@pytest.mark.slow
def test_fix_apply_writes_the_file(workspace, fake):
    fake.default("fast", Reply(FIXED))
    result = run(workspace, "fix", "calc.py", "--line", "1", "--end-line", "2", "--apply")
    assert result.returncode == 0, result.stderr
    assert (workspace / "calc.py").read_text() == CODE.replace("a - b", "a + b")


@pytest.mark.slow
def test_fix_json_when_the_primary_is_rate_limited(workspace, fake):
    fake.default("fast", RateLimited(retry_after=30))
    fake.default("backup", Reply(FIXED))
    result = run(
        workspace, "fix", "calc.py", "--line", "2", "--message", "wrong operator", "--json"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["served_by"] == {"model": "backup", "provider": "keyed_q"}
    assert data["cache"] == "miss"
    assert [(a["model"], a["outcome"]) for a in data["attempts"]] == [
        ("fast", "rate_limited"),
        ("backup", "ok"),
    ]
    assert "+    return a + b" in data["diff"]
    assert data["edit"]["start"]["line"] == 1
    assert set(data) >= {"usage", "cost_usd", "applied"}
    assert "wrong operator" in fake.requests_for("fast")[0].prompt_text


@pytest.mark.slow
def test_everything_down_and_nothing_cached_exits_3_with_one_sentence(workspace, fake):
    fake.default("fast", ServerError(503))
    fake.default("backup", ServerError(500))
    result = run(workspace, "fix", "calc.py", "--line", "2", "--json")
    assert result.returncode == 3
    assert result.stderr.strip().count("\n") == 0
    assert "fast: server error; backup: server error" in result.stderr
    data = json.loads(result.stdout)
    assert data["served_by"] is None and data["cache"] == "miss"


def test_everything_down_serves_a_stale_answer_with_exit_0(workspace, fake):
    fake.default("fast", Reply("It adds two numbers, except it subtracts."))
    assert run(workspace, "explain", "calc.py", "--line", "1").returncode == 0
    raw = tomllib.loads((workspace / "config.toml").read_text())
    raw["cache"]["ttl_s"] = 0  # every entry is now stale: served only when all else fails
    stale_config = workspace / "stale.toml"
    stale_config.write_text(toml(raw))
    fake.default("fast", ServerError(503))
    fake.default("backup", ServerError(503))
    result = run(
        workspace,
        "explain",
        "calc.py",
        "--line",
        "1",
        "--json",
        env={"SWITCHBOARD_CONFIG": str(stale_config)},
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["cache"] == "stale"
    assert data["text"].startswith("It adds two numbers")
    assert data["served_by"]["model"] == "fast"


def test_explain_prints_markdown(workspace, fake):
    fake.default("fast", Reply("**add** subtracts its arguments."))
    result = run(workspace, "explain", "calc.py", "--line", "1")
    assert result.returncode == 0
    assert result.stdout.strip() == "**add** subtracts its arguments."


def test_review_prints_findings_and_json(workspace, fake):
    fake.default("strong", Reply(REVIEW))
    human = run(workspace, "review", "calc.py")
    assert human.returncode == 0, human.stderr
    assert "calc.py:2: error: add() subtracts" in human.stdout
    data = json.loads(run(workspace, "review", "calc.py", "--json").stdout)
    assert data["findings"][0]["line"] == 2
    assert data["cache"] == "fresh"
    assert fake.requests_for("strong")[0].json["response_format"] == {"type": "json_object"}


@pytest.mark.slow
def test_stats_shows_per_model_figures(workspace, fake):
    fake.default("fast", Reply(FIXED, prompt_tokens=100, completion_tokens=20))
    run(workspace, "fix", "calc.py", "--line", "1", "--end-line", "2")
    human = run(workspace, "stats")
    assert human.returncode == 0
    assert "fast" in human.stdout and "p50 ms" in human.stdout
    data = json.loads(run(workspace, "stats", "--json").stdout)
    assert_stats_report(data)
    fast = next(m for m in data["models"] if m["model"] == "fast")
    assert fast["requests"] == 1 and fast["prompt_tokens"] == 100
    assert fast["cost_usd"] == pytest.approx((100 * 0.5 + 20 * 1.5) / 1e6)
    assert fast["availability"] == 1.0
    assert fast["price_per_mtok"] == {"input": 0.5, "output": 1.5, "source": "config"}
    # What a user needs to choose: every routed model, used or not, with its price.
    strong = next(m for m in data["models"] if m["model"] == "strong")
    assert strong["requests"] == 0 and strong["availability"] is None
    [row] = [line for line in human.stdout.splitlines() if line.startswith("fast ")]
    assert "100%" in row.split() and "0.5/1.5" in row.split()


def test_config_check_lists_routes_and_key_presence_never_values(workspace):
    result = run(workspace, "config", "check")
    assert result.returncode == 0
    assert "fix: fast (p:fast) -> backup (keyed_q:backup)" in result.stdout
    assert "key from $KEY_KEYED_Q (set)" in result.stdout
    missing = run(workspace, "config", "check", env={"KEY_KEYED_Q": ""})
    assert "NOT SET" in missing.stdout


def test_a_bad_config_exits_2_naming_the_key(workspace):
    (workspace / "bad.toml").write_text(
        '[models.fast]\nprovider = "p"\nmodel = "m"\ncontext_window = "big"\n'
    )
    result = run(
        workspace, "--config", str(workspace / "bad.toml"), "fix", "calc.py", "--line", "1"
    )
    assert result.returncode == 2
    assert "models.fast.context_window: expected an integer" in result.stderr


def test_usage_errors_exit_1_with_a_clear_sentence(workspace):
    (workspace / "binary.py").write_bytes(b"x = '\xff\xfe'\n")
    assert "not valid UTF-8" in run(workspace, "fix", "binary.py", "--line", "1").stderr
    out_of_range = run(workspace, "fix", "calc.py", "--line", "99")
    assert out_of_range.returncode == 1
    assert "--line 99 is outside calc.py" in out_of_range.stderr
    assert run(workspace, "explain", "nope.py", "--line", "1").returncode == 1


def test_excluded_files_are_refused_before_anything_is_sent(workspace, fake):
    (workspace / ".env").write_text("TOKEN=abc\n")
    result = run(workspace, "explain", ".env", "--line", "1")
    assert result.returncode == 1
    assert "excluded" in result.stderr
    assert fake.requests == []


@pytest.mark.slow
def test_a_refused_connection_everywhere_exits_3(workspace, tmp_path):
    dead = f"http://127.0.0.1:{unused_tcp_port()}/v1"
    raw = config_dict(tmp_path, {"d": dead}, {"m": {"provider": "d"}}, {"fix": ["m"]})
    (tmp_path / "dead.toml").write_text(toml(raw))
    result = run(
        workspace, "--config", str(tmp_path / "dead.toml"), "fix", "calc.py", "--line", "1"
    )
    assert result.returncode == 3
    assert "m: unreachable" in result.stderr


@pytest.mark.slow
def test_an_unusable_cache_path_costs_the_cache_not_the_answer(workspace, fake):
    fake.default("fast", Reply(FIXED))
    (workspace / "not-a-folder").write_text("a file where the cache's folder should be")
    raw = tomllib.loads((workspace / "config.toml").read_text())
    raw["cache"]["path"] = str(workspace / "not-a-folder" / "cache.sqlite")
    (workspace / "config.toml").write_text(toml(raw))
    result = run(workspace, "fix", "calc.py", "--line", "2")
    assert result.returncode == 0, result.stderr
    assert "+    return a + b" in result.stdout
    assert "cached in memory only" in result.stderr
    assert (workspace / "not-a-folder").read_text().startswith("a file where")
