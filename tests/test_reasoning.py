"""Reasoning models: their thinking never reaches the user, and they get room to think.

Reasoning arrives as a `<think>` block, as a lone `</think>` (the template opened the tag), as
harmony channels, or in `reasoning_content` / `reasoning` fields, streamed or not, split
anywhere. Only the answer after it is read; an answer that is only reasoning is that model's
failure, and the route goes on.
"""

from __future__ import annotations

import json

import pytest

from switchboard.config import ConfigError
from switchboard.gateway.outcomes import AnswerCutOff, BadResponse, OnlyReasoning
from switchboard.gateway.reasoning import split_reasoning
from switchboard.gateway.wire import StreamAssembler, parse_completion
from switchboard.tasks import Source
from tests.fake_provider import Reply
from tests.support import make_config

CODE = "s = 'caf\u00e9'\nprint(s - 1)\n"
ANSWER = "```python\nprint(s + '\u2615')\n```"
FIXED = "s = 'caf\u00e9'\nprint(s + '\u2615')\n"


@pytest.mark.parametrize(
    ("text", "reasoning", "answer"),
    [
        ("<think>\nhmm\n</think>\n\nok", "\nhmm\n", "\n\nok"),
        ("  <THINK>a</THINK>b", "a", "b"),
        ("<think>a</think><think>b</think>c", "ab", "c"),
        ("draft ```x``` done</think>answer", "draft ```x``` done", "answer"),
        ("<thinking>t</thinking>a", "t", "a"),
        ("<|begin_of_thought|>t<|end_of_thought|>a", "t", "a"),
        ("\u25c1think\u25b7t\u25c1/think\u25b7a", "t", "a"),
        ("<think>never closed", "never closed", ""),
        (
            "<|channel|>analysis<|message|>t<|end|><|start|>assistant<|channel|>final"
            "<|message|>a<|return|>",
            "<|channel|>analysis<|message|>t<|end|><|start|>assistant",
            "a",
        ),
        (
            "<|channel|>analysis<|message|>only thinking",
            "<|channel|>analysis<|message|>only thinking",
            "",
        ),
        ("plain answer", "", "plain answer"),
        # A tag later in the answer is part of it (HTML, a string), not reasoning.
        (
            "use <think> tags like <think>this</think>",
            "",
            "use <think> tags like <think>this</think>",
        ),
    ],
)
def test_reasoning_is_cut_from_the_front_of_the_answer(text, reasoning, answer):
    split = split_reasoning(text)
    assert (split.reasoning, split.answer) == (reasoning, answer)


def completion_body(message: dict, finish_reason: str = "stop") -> bytes:
    return json.dumps(
        {"choices": [{"index": 0, "message": message, "finish_reason": finish_reason}]}
    ).encode()


def test_a_reasoning_field_is_never_the_answer():
    body = completion_body({"content": "answer", "reasoning_content": "```python\nx\n```"})
    assert parse_completion(body).text == "answer"
    body = completion_body({"content": "answer", "reasoning": "thinking"})
    assert parse_completion(body).text == "answer"


@pytest.mark.parametrize(
    "message",
    [
        {"content": "", "reasoning_content": "all thinking"},
        {"content": None, "reasoning": "all thinking"},
        {"content": "<think>\nall thinking, never closed"},
        {"content": "<think>a</think>\n  \n"},
    ],
)
def test_an_answer_that_is_only_reasoning_is_the_models_failure(message):
    with pytest.raises(OnlyReasoning):
        parse_completion(completion_body(message))


def test_reasoning_that_ran_into_the_token_limit_is_a_cut_off():
    body = completion_body({"content": "", "reasoning_content": "long..."}, "length")
    with pytest.raises(AnswerCutOff):
        parse_completion(body)
    with pytest.raises(BadResponse):  # neither answer nor reasoning: the provider's fault
        parse_completion(completion_body({"content": ""}))


def test_a_stream_split_at_every_character_is_read_whole():
    content = "<think>\nI could write ```python\nx = 0\n``` but no.\n</think>\n" + ANSWER
    assembler = StreamAssembler()
    events = [{"role": "assistant", "content": ""}]
    events += [{"reasoning_content": char, "content": None} for char in "thinking first"]
    events += [{"content": char} for char in content]
    for delta in events:
        assembler.feed(json.dumps({"choices": [{"index": 0, "delta": delta}]}))
    assembler.feed(json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    assert assembler.result().text == ANSWER  # the line break after </think> is not in it


@pytest.fixture
def engine_for(tmp_path, engines):
    def build(fake, **models):
        config = make_config(
            tmp_path,
            {"p": fake.base_url, "q": fake.base_url},
            {
                "fast": {"provider": "p", **models.get("fast", {})},
                "backup": {"provider": "q", **models.get("backup", {})},
            },
            {route: ["fast", "backup"] for route in ("fix", "explain", "review")},
            tasks={"explain": {"hedge": False}},
        )
        return engines(config)

    return build


@pytest.fixture(autouse=True)
def every_body_follows_the_openai_schema(fake):
    yield
    bad = [(r.model, r.schema_errors) for r in fake.requests if r.schema_errors]
    assert not bad, f"request bodies outside CreateChatCompletionRequest: {bad}"


async def test_a_stream_cut_at_every_byte_gives_the_exact_fix(fake, engine_for, tmp_path):
    # Multi-byte UTF-8, the think tags and the fence all arrive split across writes.
    fake.default(
        "fast",
        Reply(
            "<think>\n\u2615 first?\n</think>\n" + ANSWER,
            reasoning="\u00e9l\u00e8ve",
            piece_chars=1,
            write_bytes=1,
        ),
    )
    engine = engine_for(fake, fast={"stream": True})
    answer = await engine.fix(Source(CODE, str(tmp_path / "m.py")), 1, 1)
    await engine.aclose()
    assert answer.value.replacement.new_text() == FIXED
    assert [(a.model, a.outcome.value) for a in answer.attempts] == [("fast", "ok")]


@pytest.mark.parametrize("stream", [False, True])
async def test_only_reasoning_falls_back_without_blaming_the_provider(
    stream, fake, engine_for, tmp_path
):
    fake.default("fast", Reply("", reasoning="The fix: " + ANSWER))
    fake.default("backup", Reply(ANSWER))
    engine = engine_for(fake, fast={"stream": stream})
    answer = await engine.fix(Source(CODE, str(tmp_path / "m.py")), 1, 1)
    health = engine.gateway.provider_health()
    await engine.aclose()
    assert answer.value.replacement.new_text() == FIXED
    assert [(a.model, a.outcome.value) for a in answer.attempts] == [
        ("fast", "invalid"),
        ("backup", "ok"),
    ]
    assert "reasoned but gave no answer" in answer.attempts[0].detail
    assert health["p"].state == "ok"


async def test_a_reasoning_model_gets_room_to_think_and_the_least_effort_for_quick_tasks(
    fake, engine_for, tmp_path
):
    fake.default("fast", Reply(ANSWER))
    engine = engine_for(
        fake,
        fast={
            "reasoning": True,
            "reasoning_budget_tokens": 3000,
            "reasoning_efforts": ["medium", "low", "high"],
            "max_tokens_field": "max_completion_tokens",
            "context_window": 32768,
        },
    )
    source = Source(CODE, str(tmp_path / "m.py"))
    await engine.fix(source, 1, 1)
    fake.default("fast", Reply('{"findings": []}'))
    await engine.review(source)
    fake.default("fast", Reply("Prints s minus one."))
    await engine.explain(source, 1)
    await engine.aclose()
    fix, review, explain = (request.json for request in fake.requests)
    assert fix["max_completion_tokens"] == 1024 + 3000
    assert fix["reasoning_effort"] == "low"  # the lowest the model accepts
    assert "reasoning_effort" not in review  # a review: the model's own default
    assert explain["max_completion_tokens"] == 400 + 3000  # explain's short answer, plus thinking
    assert explain["reasoning_effort"] == "low"


async def test_models_that_do_not_reason_send_nothing_new(fake, engine_for, tmp_path):
    fake.default("fast", Reply(ANSWER))
    engine = engine_for(fake)
    await engine.fix(Source(CODE, str(tmp_path / "m.py")), 1, 1)
    await engine.aclose()
    [body] = [request.json for request in fake.requests]
    assert body["max_tokens"] == 1024 and "reasoning_effort" not in body


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({"reasoning_efforts": ["lowest"]}, "models.m.reasoning_efforts: unknown value"),
        ({"reasoning_budget_tokens": -1}, "models.m.reasoning_budget_tokens: must not be negative"),
        ({"first_token_timeout_s": 0}, "models.m.first_token_timeout_s: must be positive"),
        ({"stream_idle_timeout_s": -2}, "models.m.stream_idle_timeout_s: must be positive"),
    ],
)
def test_reasoning_and_stream_knobs_are_checked(model, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        make_config(tmp_path, {"p": "http://127.0.0.1:1/v1"}, {"m": {"provider": "p", **model}}, {})


@pytest.mark.parametrize("share", [0, 1.5, -0.1])
def test_attempt_share_is_a_share(share, tmp_path):
    with pytest.raises(ConfigError, match=r"tasks\.fix\.attempt_share: must be more than 0"):
        make_config(
            tmp_path,
            {"p": "http://127.0.0.1:1/v1"},
            {"m": {"provider": "p"}},
            {"fix": ["m"]},
            tasks={"fix": {"attempt_share": share}},
        )
