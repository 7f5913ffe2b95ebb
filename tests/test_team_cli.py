"""Team mode from the shell: two `switchboard` processes, each with its own local files, one
Redis between them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.fake_provider import Reply, ServerError, unused_tcp_port
from tests.redis_server import RedisServer
from tests.support import CODE, FIXED, assert_stats_report, config_dict, switchboard, toml

# Not in the inner loop (`pytest -m "not slow"`): a real redis-server and CLI processes.
pytestmark = pytest.mark.slow

PASSWORD = "team-secret-5f3a9c"


@pytest.fixture
def server(tmp_path):
    redis_server = RedisServer(tmp_path / "redis", extra=("--requirepass", PASSWORD)).start()
    yield redis_server
    redis_server.stop()


def member(tmp_path: Path, fake, name: str, url: str) -> Path:
    """A member's directory: its config (own cache and usage files) and the source file."""
    directory = tmp_path / name
    directory.mkdir()
    raw = config_dict(
        directory,
        {"p": fake.base_url, "q": fake.base_url},
        {"fast": {"provider": "p", "input_cost_per_mtok": 1.0}, "backup": {"provider": "q"}},
        {"fix": ["fast", "backup"], "explain": ["fast", "backup"], "review": ["backup"]},
        cache={"url": url, "password_env": "TEAM_REDIS_PASSWORD", "timeout_ms": 500.0},
    )
    (directory / "config.toml").write_text(toml(raw))
    (directory / "calc.py").write_text(CODE)
    return directory


def run(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {
        "SWITCHBOARD_CONFIG": str(directory / "config.toml"),
        "TEAM_REDIS_PASSWORD": PASSWORD,
    }
    return switchboard(*args, cwd=directory, env=environ, never_shows=(PASSWORD,))


def test_two_processes_share_a_cached_answer_and_their_usage(tmp_path, fake, server):
    fake.default("fast", Reply(FIXED))
    alice = member(tmp_path, fake, "alice", server.url)
    bob = member(tmp_path, fake, "bob", server.url)

    first = run(alice, "fix", "calc.py", "--line", "2", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["cache"] == "miss"

    fake.default("fast", ServerError(503))  # bob's answer can only come from alice's
    second = run(bob, "fix", "calc.py", "--line", "2", "--json")
    assert second.returncode == 0, second.stderr
    shared = json.loads(second.stdout)
    assert shared["cache"] == "fresh"
    assert shared["served_by"] == {"model": "fast", "provider": "p"}
    assert len(fake.requests) == 1
    local = {m["model"]: m for m in json.loads(run(bob, "stats", "--json").stdout)["models"]}
    assert local["fast"]["requests"] == 0 and local["fast"]["cache_hits"]["fresh"] == 1

    stats = run(bob, "stats", "--team", "--json")
    assert stats.returncode == 0, stats.stderr
    team = json.loads(stats.stdout)
    assert_stats_report(team)
    figures = {m["model"]: m for m in team["models"]}
    assert figures["fast"]["requests"] == 1
    assert figures["fast"]["cache_hits"]["fresh"] == 1
    assert team["cache"]["entries"] == 1
    assert team["namespace"].startswith("policy-")

    table = run(alice, "stats", "--team")
    assert table.returncode == 0, table.stderr
    assert "Team figures for namespace" in table.stdout and "fast" in table.stdout


def test_stats_team_without_a_shared_cache_is_a_configuration_error(tmp_path, fake):
    directory = tmp_path / "solo"
    directory.mkdir()
    raw = config_dict(
        directory, {"p": fake.base_url}, {"fast": {"provider": "p"}}, {"fix": ["fast"]}
    )
    (directory / "config.toml").write_text(toml(raw))
    result = run(directory, "stats", "--team")
    assert result.returncode == 2
    assert "[cache] url" in result.stderr


def test_an_unreachable_team_redis_does_not_stop_a_fix(tmp_path, fake):
    fake.default("fast", Reply(FIXED))
    alice = member(tmp_path, fake, "alice", f"redis://127.0.0.1:{unused_tcp_port()}")
    result = run(alice, "fix", "calc.py", "--line", "2", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["cache"] == "miss"
    assert result.stderr.count("is unreachable") == 2  # the log warning and the notice
    stats = run(alice, "stats", "--team")
    assert stats.returncode == 1
    assert "unreachable" in stats.stderr


def test_a_wrong_password_is_said_without_showing_it(tmp_path, fake, server):
    fake.default("fast", Reply(FIXED))
    url = server.url.replace("redis://", "redis://:wrong-password-123@")
    alice = member(tmp_path, fake, "alice", url)
    result = run(alice, "fix", "calc.py", "--line", "2")
    assert result.returncode == 0, result.stderr
    assert "wrong-password-123" not in result.stderr
    assert "is unreachable" in result.stderr


def test_config_check_names_the_team_cache_but_not_its_password(tmp_path, fake, server):
    url = server.url.replace("redis://", f"redis://:{PASSWORD}@")
    alice = member(tmp_path, fake, "alice", url)
    result = run(alice, "config", "check")
    assert result.returncode == 0, result.stderr
    assert f"team cache: {server.url}, namespace policy-" in result.stdout


@pytest.mark.parametrize("command", [("config", "check"), ("fix", "calc.py", "--line", "2")])
@pytest.mark.parametrize("port", ["63x79", "99999"])
def test_a_bad_port_in_the_url_is_a_configuration_error_without_the_password(
    tmp_path, fake, command, port
):
    alice = member(tmp_path, fake, "alice", f"redis://:{PASSWORD}@127.0.0.1:{port}/0")
    result = run(alice, *command)
    assert result.returncode == 2, result.stderr
    assert "cache.url" in result.stderr and "port" in result.stderr
