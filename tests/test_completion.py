"""Inline completion: the `complete` task through the gateway (FIM and chat) and the editor.

Every provider here is the fake one on loopback; nothing of ours is mocked.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from switchboard.gateway import CacheState
from switchboard.tasks import Source
from switchboard.tasks.complete import clean_suggestion, completion_context
from switchboard.tasks.privacy import Redactor
from tests.fake_provider import FakeProvider, RateLimited, Reply, validate_completions_request
from tests.support import make_config

# A cursor in the middle of a function: after `total = ` on line 2.
FUNC = (
    "def mean(values):\n"
    "    if not values:\n"
    "        return 0.0\n"
    "    total = \n"
    "    return total / len(values)\n"
    "\n"
    "\n"
    "print(mean([1, 2]))\n"
)
CURSOR = (3, len("    total = "))


def _config(tmp_path: Path, fake: FakeProvider, *, fim: bool = True, route=("fast", "backup")):
    models = {
        "fast": {"provider": "p", "fim": fim},
        "backup": {"provider": "q"},
    }
    return make_config(
        tmp_path,
        {"p": fake.base_url, "q": fake.base_url},
        models,
        {"complete": list(route)},
        tasks={"complete": {"hedge": False}},
    )


def _context(text: str, line: int, character: int):
    return completion_context(Source(text), line, character, 40, 15, Redactor(enabled=False))


async def test_fim_body_validates_and_suggests_mid_function(tmp_path, fake, engines) -> None:
    fake.script("fast", Reply("sum(values)"))
    engine = engines(_config(tmp_path, fake))
    answer = await engine.ask(engine.complete_ask(Source(FUNC, "m.py"), *CURSOR))
    assert answer.value.text == "sum(values)"
    [request] = fake.requests
    assert request.path.endswith("/v1/completions")
    assert request.schema_errors == ()
    assert validate_completions_request(request.json) == ()
    assert request.json["prompt"].endswith("    total = ")
    assert request.json["suffix"].startswith("\n    return total / len(values)")
    assert request.json["max_tokens"] == 64


async def test_fim_stream_is_read(tmp_path, fake, engines) -> None:
    fake.script("fast", Reply("sum(values)"))
    config = _config(tmp_path, fake)
    models = dict(config.models)
    models["fast"] = attrs.evolve(models["fast"], stream=True)
    engine = engines(attrs.evolve(config, models=models))
    answer = await engine.ask(engine.complete_ask(Source(FUNC, "m.py"), *CURSOR))
    assert answer.value.text == "sum(values)"
    [request] = fake.requests
    assert request.stream and request.schema_errors == ()


async def test_fallback_to_chat_model_on_429(tmp_path, fake, engines) -> None:
    fake.script("fast", RateLimited(retry_after=5))
    fake.script("backup", Reply("```python\nsum(values)\n```"))
    engine = engines(_config(tmp_path, fake))
    answer = await engine.ask(engine.complete_ask(Source(FUNC, "m.py"), *CURSOR))
    assert answer.model == "backup"
    assert answer.value.text == "sum(values)"
    fim, chat = fake.requests
    assert fim.path.endswith("/v1/completions") and chat.path.endswith("/chat/completions")
    assert chat.schema_errors == ()
    assert "<CURSOR>" in chat.prompt_text


async def test_cache_is_keyed_on_the_window(tmp_path, fake, engines) -> None:
    fake.default("fast", Reply("sum(values)"))
    engine = engines(_config(tmp_path, fake))
    first = await engine.ask(engine.complete_ask(Source(FUNC, "m.py"), *CURSOR))
    again = await engine.ask(engine.complete_ask(Source(FUNC, "m.py"), *CURSOR))
    assert (first.cache, again.cache) == (CacheState.MISS, CacheState.FRESH)
    # A change far outside the window (lines 40+ away) does not change the question.
    far = FUNC + "\n" * 60 + "x = 1\n"
    third = await engine.ask(engine.complete_ask(Source(far, "m.py"), *CURSOR))
    assert third.cache is CacheState.FRESH
    assert len(fake.requests) == 1


async def test_reasoning_and_fences_stripped(tmp_path, fake, engines) -> None:
    fake.script("fast", Reply("sum(values)", reasoning="the total is a sum"))
    fake.script(
        "backup", Reply("<think>hmm</think>Here is the completion:\n```python\nsum(values)\n```")
    )
    engine = engines(_config(tmp_path, fake))
    source = Source(FUNC, "m.py")
    answer = await engine.ask(engine.complete_ask(source, *CURSOR))
    assert answer.value.text == "sum(values)"
    engine2 = engines(_config(tmp_path / "b", fake, route=("backup",)))
    answer = await engine2.ask(engine2.complete_ask(source, *CURSOR))
    assert answer.value.text == "sum(values)"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # The model wrote the rest of the function again: only the new part stays.
        ("sum(values)\n    return total / len(values)", "sum(values)"),
        # The current line repeated in front.
        ("    total = sum(values)", "sum(values)"),
        # Past the end of the block: the next top-level statement is cut.
        ("sum(values)\n\nprint('done')", "sum(values)"),
    ],
)
def test_cleaning(answer: str, expected: str) -> None:
    assert clean_suggestion(answer, _context(FUNC, *CURSOR)) == expected


def test_suffix_overlap_within_the_line() -> None:
    context = _context("print(mean())\n", 0, len("print(mean("))
    assert clean_suggestion("[1, 2]))", context) == "[1, 2]"
