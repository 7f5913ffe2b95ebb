"""Inline completion answers as real models send them, for one cursor in the middle of a
function (after `total = `), and what must be inserted there.

Chat models (GPT, Claude, Llama, Mistral, DeepSeek, Qwen) are asked by chat; they announce
their answer, fence it, write the whole function again, think out loud, explain afterwards, or
refuse. Fill-in-the-middle models (Qwen2.5-Coder, DeepSeek-Coder, StarCoder2, Codestral) answer
the middle, but servers pass their special tokens through, and they go on past the middle.

`expected` is the exact text to insert; None means the answer must be refused (the model's
`invalid`), and the next model on the route answers `FALLBACK` instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.fake_provider import Reply

DOC = (
    "def mean(values):\n"
    "    if not values:\n"
    "        return 0.0\n"
    "    total = \n"
    "    return total / len(values)\n"
    "\n"
    "\n"
    "print(mean([1, 2]))\n"
)
LINE, COLUMN = 3, len("    total = ")  # 0-based: the cursor after `total = `
SUGGESTION = "sum(values)"
FALLBACK = "sum(values)"  # what the route's second model answers when the first is refused
WHOLE_FUNCTION = (
    "def mean(values):\n"
    "    if not values:\n"
    "        return 0.0\n"
    "    total = sum(values)\n"
    "    return total / len(values)"
)


# The other cursor: on the empty line of a function's body, in its indentation, where the
# suggestion is the rest of the body, several lines.
BODY_DOC = (
    "def mean(values):\n    if not values:\n        return 0.0\n    \n\n\nprint(mean([1, 2]))\n"
)
BODY = "total = sum(values)\n    return total / len(values)"


@dataclass(frozen=True)
class Cursor:
    doc: str
    line: int  # 0-based
    column: int


MID_LINE = Cursor(DOC, LINE, COLUMN)
IN_BODY = Cursor(BODY_DOC, 3, 4)


@dataclass(frozen=True)
class Shape:
    name: str
    family: str
    content: str
    expected: str | None = SUGGESTION
    fim: bool = False  # asked fill-in-the-middle (`/v1/completions`), not by chat
    reply: dict[str, Any] = field(default_factory=dict)  # more Reply fields
    at: Cursor = MID_LINE

    def replies(self) -> Reply:
        return Reply(self.content, **self.reply)

    @property
    def inserted(self) -> str:
        """What lands at the cursor: this model's suggestion, or the fallback's."""
        return self.expected if self.expected is not None else FALLBACK


SHAPES: tuple[Shape, ...] = (
    # -- chat models ---------------------------------------------------------------------------
    Shape("plain", "gpt-4o-mini", "sum(values)"),
    Shape("echoes the statement", "gpt-4o", "total = sum(values)"),
    Shape("echoes the indented line", "gpt-4.1", "    total = sum(values)"),
    Shape("trailing blank lines", "gpt-4.1-mini", "sum(values)\n\n"),
    Shape(
        "announced and fenced",
        "claude-sonnet-4",
        "Here's the completion:\n\n```python\nsum(values)\n```",
    ),
    Shape(
        "fenced, then explained",
        "claude-3.5-haiku",
        "```python\nsum(values)\n```\n\nThis adds up the values before dividing by their count.",
    ),
    Shape(
        "the whole function again",
        "claude-sonnet-4",
        f"Here is the completed function:\n\n```python\n{WHOLE_FUNCTION}\n```",
    ),
    Shape("the whole function, unfenced", "llama-3.1-8b", WHOLE_FUNCTION),
    Shape("the rest of the function", "gpt-4o", "sum(values)\n    return total / len(values)"),
    Shape(
        "thinks first",
        "deepseek-r1",
        "<think>\nThe user wants the total of the list.\n</think>\n\nsum(values)",
    ),
    Shape("a lone </think>", "qwen3-32b", "Okay, the total is their sum.\n</think>\n\nsum(values)"),
    Shape(
        "reasoning in its own field",
        "deepseek-reasoner",
        "sum(values)",
        reply={"reasoning": "The total of the list is its sum."},
    ),
    Shape(
        "harmony channels",
        "gpt-oss-20b",
        "<|channel|>analysis<|message|>Need the sum.<|end|>"
        "<|start|>assistant<|channel|>final<|message|>sum(values)",
    ),
    Shape("fenced without a language, echoed", "llama-3.3-70b", "```\ntotal = sum(values)\n```"),
    Shape("announced, unfenced", "llama-3.1-70b", "The missing code is:\nsum(values)"),
    Shape(
        "two alternatives",
        "mistral-small",
        "```python\nsum(values)\n```\n\nOr, for floating point accuracy:\n\n"
        "```python\nmath.fsum(values)\n```",
    ),
    Shape("inline code in a sentence", "gpt-4o-mini", "Use `sum(values)`."),
    # -- refused: nothing of these may reach the buffer -----------------------------------------
    Shape(
        "a refusal",
        "claude-3-haiku",
        "I'm sorry, but I can't see enough of the file to complete this.",
        expected=None,
    ),
    Shape(
        "a diff", "gpt-4o", "```diff\n-    total = \n+    total = sum(values)\n```", expected=None
    ),
    Shape("only dots", "llama-3.2-3b", "...", expected=None),
    Shape(
        "a placeholder comment",
        "mistral-7b",
        "```python\n# ... existing code ...\n```",
        expected=None,
    ),
    Shape(
        "only reasoning",
        "qwq-32b",
        "",
        expected=None,
        reply={"reasoning": "Let me think about it."},
    ),
    Shape(
        "thinking cut off",
        "deepseek-r1",
        "<think>\nLet me think about what the",
        expected=None,
        reply={"finish_reason": "length"},
    ),
    # -- fill-in-the-middle models ---------------------------------------------------------------
    Shape("the middle", "qwen2.5-coder-7b", "sum(values)", fim=True),
    Shape("end of text let through", "qwen2.5-coder-7b", "sum(values)<|endoftext|>", fim=True),
    Shape(
        "goes on into the next file",
        "qwen2.5-coder-32b",
        "sum(values)\n<|file_sep|>utils.py\ndef helper():\n    pass\n",
        fim=True,
    ),
    Shape(
        "end of sentence let through",
        "deepseek-coder-6.7b",
        "sum(values)<\uff5cend\u2581of\u2581sentence\uff5c>",
        fim=True,
    ),
    Shape(
        "repeats the suffix",
        "starcoder2-15b",
        "sum(values)\n    return total / len(values)\n",
        fim=True,
    ),
    Shape(
        "goes on past the block",
        "codestral-22b",
        "sum(values)\n    return total / len(values)\n\n\ndef median(values):\n    pass\n",
        fim=True,
    ),
    Shape("an end tag let through", "codellama-7b", "sum(values)</s>", fim=True),
    # -- several lines, from the indentation of an empty line in the body --------------------
    Shape("the body", "qwen2.5-coder-7b", BODY, expected=BODY, fim=True, at=IN_BODY),
    Shape(
        "the body, then on past it",
        "starcoder2-7b",
        BODY + "\n\n\nprint(mean([1, 2]))\n",
        expected=BODY,
        fim=True,
        at=IN_BODY,
    ),
    Shape(
        "the body at column 0",
        "gpt-4o-mini",
        "total = sum(values)\nreturn total / len(values)",
        expected=BODY,
        at=IN_BODY,
    ),
    Shape(
        "the body fenced, indented",
        "claude-sonnet-4",
        "```python\n    total = sum(values)\n    return total / len(values)\n```",
        expected=BODY,
        at=IN_BODY,
    ),
    Shape(
        "the whole function, for the body",
        "llama-3.3-70b",
        f"```python\n{WHOLE_FUNCTION}\n```",
        expected=BODY,
        at=IN_BODY,
    ),
    Shape(
        "the body after thinking",
        "deepseek-r1",
        "<think>\nSum, then divide.\n</think>\n\n```python\ntotal = sum(values)\n"
        "return total / len(values)\n```",
        expected=BODY,
        at=IN_BODY,
    ),
)


def expected_text(shape: Shape) -> str:
    """The document after the suggestion for `shape` was inserted at the cursor."""
    at = shape.at
    lines = at.doc.split("\n")
    lines[at.line] = lines[at.line][: at.column] + shape.inserted + lines[at.line][at.column :]
    return "\n".join(lines)
