"""A provider that hangs never costs the answer, with the knobs users get by default.

The first model on the route accepts the connection and never answers, sends its headers and
then nothing, or trickles its answer a byte at a time; the next model is healthy. With no
timeout configured anywhere, the fix must still arrive from the next model well inside the
task's deadline: an attempt may use only its share of the time left while others remain, and a
streamed attempt also ends when its first token is late or its stream stalls.

These tests take the default timeouts' own time (about ten seconds each): they are `slow`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from lsprotocol import types

from switchboard.config import config_from_mapping
from switchboard.config.schema import ModelConfig, TaskConfig, TasksConfig
from switchboard.engine import Engine
from switchboard.gateway import Gateway
from switchboard.tasks import Source
from tests.fake_provider import Drip, FakeProvider, Hang, HangAfterHeaders, Reply, StallStream
from tests.lsp_support import apply_text_edits, edits_of, start_session, stop_session
from tests.support import CODE, FIXED_CODE, config_dict, switchboard, toml

pytestmark = pytest.mark.slow

FIXED = FIXED_CODE
ANSWER = "```python\n    return a + b\n```"
DEADLINE_S = TasksConfig().fix.deadline_s
SHARE = TaskConfig().attempt_share
FAULTS = {
    "hang": Hang(),
    "headers-then-silence": HangAfterHeaders(),
    "trickle": Drip(content=ANSWER, interval=0.5),
}


def default_config(tmp_path: Path, fake: FakeProvider, *, stream: bool = False) -> dict:
    """fast (p) then backup (q), every timeout and deadline left at its default."""
    models = {"fast": {"provider": "p", "stream": stream}, "backup": {"provider": "q"}}
    routes = {route: ["fast", "backup"] for route in ("fix", "explain", "review")}
    return config_dict(tmp_path, {"p": fake.base_url, "q": fake.base_url}, models, routes)


def test_the_defaults_are_what_these_tests_assume():
    assert DEADLINE_S == 20.0 and SHARE == 0.5
    assert ModelConfig(provider="p", model="m").timeout_s == 30.0  # longer than the deadline


def assert_answered_in_time(attempts: list[tuple[str, str, float]], elapsed: float) -> None:
    assert [(model, outcome) for model, outcome, _ in attempts] == [
        ("fast", "timeout"),
        ("backup", "ok"),
    ]
    # The hung attempt got its share of the deadline, no more; the answer came well inside it.
    assert attempts[0][2] <= SHARE * DEADLINE_S * 1000 + 500
    assert elapsed < SHARE * DEADLINE_S + 4 < DEADLINE_S


@pytest.mark.parametrize("fault", FAULTS)
def test_cli_fix_survives_a_hanging_first_provider_with_the_defaults(fault, fake, tmp_path):
    fake.default("fast", FAULTS[fault])
    fake.default("backup", Reply(ANSWER))
    (tmp_path / "config.toml").write_text(toml(default_config(tmp_path, fake)))
    (tmp_path / "calc.py").write_text(CODE)
    started = time.monotonic()
    result = switchboard(
        *("fix", "calc.py", "--line", "2", "--apply", "--json"),
        cwd=tmp_path,
        env={"SWITCHBOARD_CONFIG": str(tmp_path / "config.toml")},
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["served_by"]["model"] == "backup"
    assert (tmp_path / "calc.py").read_text() == FIXED
    attempts = [(a["model"], a["outcome"], a["ms"]) for a in output["attempts"]]
    assert_answered_in_time(attempts, elapsed)


@pytest.mark.parametrize("fault", FAULTS)
async def test_language_server_fix_survives_a_hanging_first_provider(fault, fake, tmp_path):
    fake.default("fast", FAULTS[fault])
    fake.default("backup", Reply(ANSWER))
    config = tmp_path / "user-config.toml"
    config.write_text(toml(default_config(tmp_path, fake)))
    session = await start_session(tmp_path, config)
    try:
        uri = session.open("calc.py", CODE)
        diagnostic = types.Diagnostic(
            range=types.Range(
                start=types.Position(line=1, character=4), end=types.Position(line=1, character=16)
            ),
            message="add() subtracts",
        )
        fix = await session.quick_fix(uri, diagnostic)
        started = time.monotonic()
        resolved = await session.client.code_action_resolve_async(fix)
        elapsed = time.monotonic() - started
        _, edits = edits_of(resolved.edit, uri)
        assert apply_text_edits(CODE, edits) == FIXED
        stats = await session.command("switchboard.stats")
    finally:
        await stop_session(session)
    fast = next(row for row in stats["models"] if row["model"] == "fast")
    assert fast["failures_by_kind"] == {"timeout": 1}
    assert elapsed < SHARE * DEADLINE_S + 4


async def answer_with(fake: FakeProvider, tmp_path: Path, behaviour, task: str):
    fake.default("fast", behaviour)
    fake.default("backup", Reply(ANSWER if task == "fix" else '{"findings": []}'))
    config = config_from_mapping(
        default_config(tmp_path, fake, stream=True), environ={}, source="test"
    )
    engine = Engine(config, Gateway.create(config, environ={}))
    source = Source(CODE, str(tmp_path / "calc.py"))
    started = time.monotonic()
    try:
        answer = await (engine.fix(source, 1, 1) if task == "fix" else engine.review(source))
    finally:
        await engine.aclose()
    return answer, time.monotonic() - started


async def test_a_stream_that_never_starts_ends_at_the_first_token_timeout(fake, tmp_path):
    # A review may take two minutes (its share: one); a stream with no token is not waited out.
    answer, elapsed = await answer_with(fake, tmp_path, HangAfterHeaders(), "review")
    [timed_out, ok] = answer.attempts
    first_token_s = ModelConfig(provider="p", model="m").first_token_timeout_s
    assert (timed_out.outcome.value, ok.model) == ("timeout", "backup")
    assert "no token within" in timed_out.detail
    assert timed_out.ms <= first_token_s * 1000 + 500
    assert elapsed < first_token_s + 4 < TasksConfig().review.deadline_s * SHARE


async def test_a_stream_that_stalls_midway_ends_at_the_idle_timeout(fake, tmp_path):
    answer, elapsed = await answer_with(fake, tmp_path, StallStream(after_chunks=3), "review")
    [stalled, ok] = answer.attempts
    idle_s = ModelConfig(provider="p", model="m").stream_idle_timeout_s
    assert (stalled.outcome.value, ok.model) == ("timeout", "backup")
    assert "stalled" in stalled.detail
    assert stalled.ms <= idle_s * 1000 + 500
    assert elapsed < idle_s + 4
