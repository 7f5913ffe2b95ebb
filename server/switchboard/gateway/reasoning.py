"""Reasoning that models write before their answer, kept apart from the answer.

Reasoning models show their thinking in one of these ways, and only what follows it is the
answer:

- a `<think>…</think>` block before the answer (DeepSeek-R1 distills and Qwen3 through Ollama or
  llama.cpp; `<thinking>`, `<reasoning>` and `<thought>` from other fine-tunes);
- reasoning that ends in a lone `</think>`, because the chat template opened the tag itself
  (the same models through vLLM without a reasoning parser);
- gpt-oss's harmony channels, when a server passes them through raw
  (`<|channel|>analysis<|message|>…<|end|>…<|channel|>final<|message|>answer`);
- separate `reasoning_content` / `reasoning` fields, which the wire layer reads apart.

Nothing written inside the reasoning is ever used: a draft of code or JSON there is not the
answer, however finished it looks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Opening and closing markers of a reasoning block, as models emit them.
_BLOCKS = (
    ("<think>", "</think>"),
    ("<thinking>", "</thinking>"),
    ("<reasoning>", "</reasoning>"),
    ("<thought>", "</thought>"),
    ("<|begin_of_thought|>", "<|end_of_thought|>"),
    ("\u25c1think\u25b7", "\u25c1/think\u25b7"),  # Kimi's ◁think▷…◁/think▷
)
_OPENING = re.compile(
    r"\A\s*(" + "|".join(re.escape(opening) for opening, _ in _BLOCKS) + ")", re.IGNORECASE
)
_CLOSING = {opening.lower(): closing for opening, closing in _BLOCKS}
# A closing marker with no opening one before it: the template opened the block.
_LONE_CLOSING = re.compile("|".join(re.escape(closing) for _, closing in _BLOCKS), re.IGNORECASE)
_ANY_OPENING = re.compile("|".join(re.escape(opening) for opening, _ in _BLOCKS), re.IGNORECASE)
_HARMONY_FINAL = re.compile(r"<\|channel\|>\s*final\s*(?:<\|constrain\|>\S*)?\s*<\|message\|>")
_HARMONY_END = re.compile(r"<\|(?:return|end|call)\|>")


@dataclass(frozen=True, slots=True)
class Split:
    """A model's text cut into its reasoning and its answer (either may be empty)."""

    reasoning: str
    answer: str


def split_reasoning(text: str) -> Split:
    """The reasoning at the start of `text` and the answer after it.

    An opened block that never closes is all reasoning (the answer never came). Several blocks
    in a row (some models think again after a first block) are all reasoning.
    """
    reasoning: list[str] = []
    rest = text
    if "<|channel|>" in rest:
        final = _HARMONY_FINAL.search(rest)
        if final is None:
            return Split(rest, "")
        reasoning.append(rest[: final.start()])
        rest = rest[final.end() :]
        end = _HARMONY_END.search(rest)
        return Split("".join(reasoning), rest[: end.start()] if end else rest)
    while True:
        opening = _OPENING.match(rest)
        if opening is None:
            break
        closing = _CLOSING[opening.group(1).lower()]
        at = rest.lower().find(closing.lower(), opening.end())
        if at < 0:
            reasoning.append(rest[opening.end() :])
            return Split("".join(reasoning), "")
        reasoning.append(rest[opening.end() : at])
        rest = rest[at + len(closing) :]
    if not reasoning:
        lone = _LONE_CLOSING.search(rest)
        if lone is not None and _ANY_OPENING.search(rest, 0, lone.start()) is None:
            reasoning.append(rest[: lone.start()])
            rest = rest[lone.end() :]
    return Split("".join(reasoning), rest)


def answer_of(text: str) -> str:
    """`text` without the reasoning in front of it."""
    return split_reasoning(text).answer
