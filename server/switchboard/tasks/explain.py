"""Explanations of the code around a line, as short markdown."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..config import Config
from ..gateway import Ask, InvalidAnswer
from ..gateway.reasoning import answer_of
from .blocks import fenced_blocks
from .privacy import Redactor
from .prompts import explain_prompt
from .source import Source
from .window import redacted_lines

MAX_EXPLANATION_CHARS = 4000
# An identifier in most languages: a letter (any script), `_` or `$`, then word characters.
WORD = re.compile(r"(?:[^\W\d]|\$)[\w$]*")


@dataclass(frozen=True)
class Explanation:
    markdown: str

    def to_json(self) -> dict[str, str]:
        return {"text": self.markdown}


def _word_span(line_text: str, character: int) -> tuple[int, int] | None:
    for match in WORD.finditer(line_text):
        if match.start() <= character <= match.end():
            return match.span()
    return None


def _subject(line_text: str, character: int | None, redactor: Redactor) -> str | None:
    """The word under the cursor, to name in the prompt; None when it touches a secret (the
    prompt then names the line, whose text goes out redacted)."""
    span = _word_span(line_text, character) if character is not None else None
    if span is None:
        return None
    start, end = span
    for secret in redactor.secrets:
        at = line_text.find(secret)
        while at >= 0:
            if at < end and start < at + len(secret):
                return None
            at = line_text.find(secret, at + 1)
    return line_text[start:end]


def _unwrapped(text: str) -> str:
    """An explanation some models wrap whole in a ```markdown fence, without the fence."""
    blocks = fenced_blocks(text)
    if (
        len(blocks) == 1
        and not blocks.outside.strip()
        and blocks.blocks[0].language in ("", "markdown", "md", "text")
    ):
        return blocks.blocks[0].body.strip()
    return text


def explain_ask(
    config: Config, source: Source, line: int, character: int | None = None
) -> Ask[Explanation]:
    line = max(0, min(line, source.line_count - 1))
    knobs = config.task("explain")
    redactor = Redactor(enabled=config.privacy.redact_secrets)
    context = knobs.context_lines
    lines = redacted_lines(source, line - context, line + context + 1, redactor)
    symbol = _subject(source.line_text(line), character, redactor)
    prompt = explain_prompt(source, lines, line, symbol, context_lines=context)

    def parse(answer: str) -> Explanation:
        text = _unwrapped(redactor.restore(answer_of(answer)).strip())
        if not text:
            raise InvalidAnswer("the explanation is empty")
        if len(text) > MAX_EXPLANATION_CHARS:
            text = text[:MAX_EXPLANATION_CHARS].rsplit(" ", 1)[0] + " …"
        return Explanation(text)

    return Ask(task="explain", route="explain", prompt=prompt, parse=parse)
