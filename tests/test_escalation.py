"""Escalation by experience: after the fast model's edits for one kind of diagnostic in one
file fail ruff's verification twice, fixes of that kind go straight to the strong route, until
the memory of the failures expires (the gateway's clock is injected)."""

from __future__ import annotations

from pathlib import Path

from switchboard.checks import Target
from switchboard.config import config_from_mapping
from switchboard.engine import Engine
from switchboard.gateway import Gateway
from switchboard.gateway.experience import Experience
from switchboard.tasks import Source
from tests.fake_provider import Reply
from tests.support import config_dict

HELLO = 'def greet(name):\n    print("hello " + nam)\n\n\ngreet("you")\n'
LEAVES_IT = '```python\n    print("hello " + nam.upper())\n```'
CLEARS_IT = '```python\n    print("hello " + name)\n```'
F821 = Target("ruff", "F821", "Undefined name `nam`", 1, 1)


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def engine_on(tmp_path: Path, fake, **tasks) -> tuple[Engine, Clock]:
    raw = config_dict(
        tmp_path,
        {"p": fake.base_url, "q": fake.base_url},
        {"fast": {"provider": "p"}, "strong": {"provider": "q"}},
        {"fix": ["fast", "strong"], "review": ["strong"], "explain": ["fast"]},
        cache={"enabled": False},
        tasks={"fix": tasks} if tasks else {},
    )
    config = config_from_mapping(raw, environ={}, source="test")
    gateway = Gateway.create(config, environ={})
    clock = Clock()
    gateway._clock = clock
    return Engine(config, gateway, root=tmp_path), clock


def hello(tmp_path: Path, name: str = "hello.py") -> Source:
    path = tmp_path / name
    path.write_text(HELLO)
    return Source(HELLO, str(path))


async def fix(engine: Engine, source: Source, target: Target = F821):
    return await engine.ask(
        engine.fix_ask(source, target.line, target.end_line, target.message, target=target)
    )


def models_of(answer) -> list[str]:
    return [a.model for a in answer.attempts]


async def test_repeated_verification_failures_send_the_fix_to_the_strong_route(tmp_path, fake):
    fake.default("fast", Reply(LEAVES_IT))
    fake.default("strong", Reply(CLEARS_IT))
    engine, clock = engine_on(tmp_path, fake)
    source = hello(tmp_path)
    try:
        for _ in range(2):  # the fast model's edit fails ruff; the strong one's lands
            answer = await fix(engine, source)
            assert models_of(answer) == ["fast", "strong"]
            assert answer.attempts[0].detail == "ruff still reports F821 on line 2"
        escalated = await fix(engine, source)
        assert (escalated.route, models_of(escalated)) == ("review", ["strong"])
        assert escalated.value.to_json()["verified_by"] == "ruff"
        assert any("failed 2 times on this kind of fix" in n for n in escalated.notices)
        assert len(fake.requests_for("fast")) == 2  # no third doomed attempt

        # Another file, or another kind of diagnostic in the same file: the fast model first.
        other = await fix(engine, hello(tmp_path, "other.py"))
        assert models_of(other)[0] == "fast"
        kind = Target("ruff", "E501", "Line too long", 1, 1)
        assert models_of(await fix(engine, source, kind))[0] == "fast"

        # Still remembered just before the memory runs out; forgotten after.
        clock.now += 1799
        assert models_of(await fix(engine, source)) == ["strong"]
        clock.now += 2
        answer = await fix(engine, source)
        assert models_of(answer) == ["fast", "strong"] and answer.route == "fix"
    finally:
        await engine.aclose()


async def test_escalation_is_tunable_and_can_be_turned_off(tmp_path, fake):
    fake.default("fast", Reply(LEAVES_IT))
    fake.default("strong", Reply(CLEARS_IT))
    engine, _ = engine_on(tmp_path, fake, escalate_after_failures=0)
    source = hello(tmp_path)
    try:
        for _ in range(3):
            assert models_of(await fix(engine, source)) == ["fast", "strong"]
    finally:
        await engine.aclose()


async def test_a_fix_the_fast_model_gets_right_is_not_escalated(tmp_path, fake):
    fake.default("fast", Reply(CLEARS_IT))
    engine, _ = engine_on(tmp_path, fake, escalate_after_failures=1)
    source = hello(tmp_path)
    try:
        for _ in range(3):
            answer = await fix(engine, source)
            assert models_of(answer) == ["fast"] and answer.route == "fix"
    finally:
        await engine.aclose()


def test_the_memory_counts_failures_within_its_window_and_is_bounded():
    memory = Experience(max_kinds=2)
    memory.failed("a", 0.0, 60)
    memory.failed("a", 30.0, 60)
    assert memory.failures("a", 89.0, 60) == 2
    memory.failed("a", 200.0, 60)  # the earlier ones expired: counting starts again
    assert memory.failures("a", 200.0, 60) == 1
    memory.failed("b", 201.0, 60)
    memory.failed("c", 202.0, 60)
    assert memory.failures("a", 202.0, 60) == 0  # the oldest kind was forgotten
    assert memory.failures("c", 202.0, 60) == 1
