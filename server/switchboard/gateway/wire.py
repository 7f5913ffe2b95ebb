"""The OpenAI wire formats: request bodies out, completions in.

Chat bodies carry only fields that OpenAI's `CreateChatCompletionRequest` defines, fill-in-the-
middle bodies (`/completions`) only those of `CreateCompletionRequest`, and only those the
model's config says it supports: strict local servers reject anything else.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from ..config import ModelConfig
from ..config.schema import REASONING_EFFORTS
from .outcomes import (
    AnswerCutOff,
    AnswerWithheld,
    BadResponse,
    Completion,
    OnlyReasoning,
    TokenUsage,
)
from .policy import output_reserve
from .reasoning import split_reasoning

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str

    def to_json(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True, slots=True)
class Fim:
    """A fill-in-the-middle question: the text before the cursor and the text after it."""

    prefix: str
    suffix: str


@dataclass(frozen=True, slots=True)
class Prompt:
    """What a task asks a model: the messages, and whether the answer must be JSON."""

    messages: tuple[Message, ...]
    json_answer: bool = False
    # Caps the model's own max_output_tokens when a task knows its answer is short.
    max_output_tokens: int | None = None
    # A task the user waits on (fix, explain): the least reasoning the model accepts.
    quick: bool = False
    # Sent instead of the messages to a model configured with `fim = true`. The messages still
    # carry the same context: they are what other models get and what the cache key hashes.
    fim: Fim | None = None
    # Where a FIM model should stop (CreateCompletionRequest allows up to four).
    stop: tuple[str, ...] = ()
    # An answer cut off at the token limit is still usable (a suggestion is cut to its lines).
    cut_off_ok: bool = False

    @property
    def text(self) -> str:
        return "\n".join(message.content for message in self.messages)


def output_budget(model: ModelConfig, prompt: Prompt) -> int:
    """The output tokens a request asks for (the router leaves the same room in the window)."""
    return output_reserve(model, prompt.max_output_tokens)


def reasoning_effort(model: ModelConfig, prompt: Prompt) -> str | None:
    """The lowest effort the model accepts, for quick tasks; None leaves the model's default."""
    if not prompt.quick or not model.reasoning_efforts:
        return None
    return min(model.reasoning_efforts, key=REASONING_EFFORTS.index)


def request_body(model: ModelConfig, prompt: Prompt, *, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model.model,
        "messages": [message.to_json() for message in prompt.messages],
        model.max_tokens_field: output_budget(model, prompt),
    }
    if model.temperature is not None:
        body["temperature"] = model.temperature
    effort = reasoning_effort(model, prompt)
    if effort is not None:
        body["reasoning_effort"] = effort
    if prompt.json_answer and model.json_mode:
        body["response_format"] = {"type": "json_object"}
    if stream:
        body["stream"] = True
        if model.stream_usage:
            body["stream_options"] = {"include_usage": True}
    return body


def uses_fim(model: ModelConfig, prompt: Prompt) -> bool:
    return prompt.fim is not None and model.fim


def fim_body(model: ModelConfig, prompt: Prompt, *, stream: bool) -> dict[str, Any]:
    """A `CreateCompletionRequest` body: `prompt` before the cursor, `suffix` after it.

    The legacy endpoint knows only `max_tokens`, whatever the model's chat field is named."""
    assert prompt.fim is not None
    budget = model.max_output_tokens
    if prompt.max_output_tokens is not None:
        budget = min(budget, prompt.max_output_tokens)
    body: dict[str, Any] = {
        "model": model.model,
        "prompt": prompt.fim.prefix,
        "suffix": prompt.fim.suffix,
        "max_tokens": budget,
    }
    if model.temperature is not None:
        body["temperature"] = model.temperature
    if prompt.stop:
        body["stop"] = list(prompt.stop[:4])
    if stream:
        body["stream"] = True
        if model.stream_usage:
            body["stream_options"] = {"include_usage": True}
    return body


def _usage(data: Any) -> TokenUsage | None:
    if not isinstance(data, dict):
        return None
    prompt, completion = data.get("prompt_tokens"), data.get("completion_tokens")
    if isinstance(prompt, int) and isinstance(completion, int):
        return TokenUsage(prompt, completion, cost_usd=_cost(data.get("cost")))
    return None


def _cost(value: Any) -> float | None:
    """A reported cost in USD: a number at least 0 (not a bool, not NaN), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        return None
    return float(value)


def _check_finish(finish_reason: Any, cut_off_ok: bool, usage: TokenUsage | None) -> None:
    if finish_reason == "length" and not cut_off_ok:
        raise AnswerCutOff("the answer was cut off at the output token limit", usage=usage)
    if finish_reason == "content_filter":
        raise AnswerWithheld(
            "the answer was withheld by the provider's content filter", usage=usage
        )


def _completion(
    content: str,
    reasoning: str,
    usage: TokenUsage | None,
    finish_reason: Any,
    cut_off_ok: bool = False,
) -> Completion:
    """The answer without its reasoning, or why there is none to use.

    A model that only reasoned failed this request (its provider did not): the route goes on.
    """
    _check_finish(finish_reason, cut_off_ok, usage)
    split = split_reasoning(content)
    if not split.answer.strip():
        if reasoning.strip() or split.reasoning.strip():
            raise OnlyReasoning("the model reasoned but gave no answer", usage=usage)
        raise BadResponse("the response has no content")
    finish = finish_reason if isinstance(finish_reason, str) else None
    # The blank lines after `</think>` part the answer from the reasoning; they are not in it.
    answer = split.answer.lstrip("\r\n") if split.reasoning else split.answer
    return Completion(answer, usage, finish)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_completion(payload: bytes, *, cut_off_ok: bool = False) -> Completion:
    """A non-streaming response body, or BadResponse saying what is wrong with it."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise BadResponse("the response is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadResponse("the response is not a JSON object")
    if isinstance(data.get("error"), dict):
        raise BadResponse(f"the provider sent an error: {error_message(data)}")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise BadResponse("the response has no choices")
    message = choices[0].get("message")
    if "text" in choices[0] and message is None:  # a text completion (`/completions`)
        return _completion(
            _text(choices[0].get("text")),
            "",
            _usage(data.get("usage")),
            choices[0].get("finish_reason"),
            cut_off_ok,
        )
    if not isinstance(message, dict):
        raise BadResponse("the response has no message")
    # vLLM and DeepSeek name the separate reasoning `reasoning_content`; OpenRouter `reasoning`.
    reasoning = _text(message.get("reasoning_content")) + _text(message.get("reasoning"))
    return _completion(
        _text(message.get("content")),
        reasoning,
        _usage(data.get("usage")),
        choices[0].get("finish_reason"),
        cut_off_ok,
    )


def error_message(data: Any) -> str:
    """The human message of an OpenAI-style error body, if any."""
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"][:300]
        if isinstance(error, str):
            return error[:300]
        if isinstance(data.get("message"), str):
            return data["message"][:300]
    return ""


def error_code(data: Any) -> str | None:
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        code = data["error"].get("code") or data["error"].get("type")
        return code if isinstance(code, str) else None
    return None


class StreamAssembler:
    """Accumulates `chat.completion.chunk` events into one Completion.

    A stream is complete only when it says so (`[DONE]` or a finish_reason); anything else is a
    cut-off answer that must not reach the user.
    """

    def __init__(self, *, cut_off_ok: bool = False) -> None:
        self._cut_off_ok = cut_off_ok
        self._parts: list[str] = []
        self._reasoning: list[str] = []
        self._usage: TokenUsage | None = None
        self._finish_reason: str | None = None
        self._done = False

    def feed(self, data: str) -> bool:
        """Take one event; returns whether it carried tokens (of the answer or the reasoning),
        which is how a live stream is told from a stalled one."""
        if data.strip() == "[DONE]":
            self._done = True
            return False
        try:
            chunk = json.loads(data)
        except ValueError:
            raise BadResponse("the stream carried a malformed event") from None
        if not isinstance(chunk, dict):
            raise BadResponse("the stream carried a malformed event")
        if "error" in chunk:
            raise BadResponse(f"the stream carried an error: {error_message(chunk)}")
        self._usage = _usage(chunk.get("usage")) or self._usage
        tokens = False
        for choice in _dicts(chunk.get("choices")):
            delta = choice.get("delta")
            if isinstance(delta, dict):
                content = _text(delta.get("content"))
                reasoning = _text(delta.get("reasoning_content")) + _text(delta.get("reasoning"))
                self._parts.append(content)
                self._reasoning.append(reasoning)
                tokens = tokens or bool(content or reasoning)
            elif isinstance(choice.get("text"), str):  # a text-completion chunk
                self._parts.append(choice["text"])
                tokens = tokens or bool(choice["text"])
            if choice.get("finish_reason"):
                self._finish_reason = str(choice["finish_reason"])
        return tokens

    def result(self) -> Completion:
        if not self._done and self._finish_reason is None:
            raise BadResponse("the stream ended before the answer was complete")
        return _completion(
            "".join(self._parts),
            "".join(self._reasoning),
            self._usage,
            self._finish_reason,
            self._cut_off_ok,
        )


def _dicts(value: Any) -> Iterable[dict[str, Any]]:
    if isinstance(value, list):
        return (item for item in value if isinstance(item, dict))
    return ()
