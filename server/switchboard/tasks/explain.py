"""Explanations of the code around a line, as short markdown."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..config import Config
from ..gateway import Ask, InvalidAnswer
from .privacy import Redactor
from .prompts import explain_prompt
from .source import Source
from .window import redacted_lines

MAX_EXPLANATION_CHARS = 4000
WORD = re.compile(r"[A-Za-z_$][\w$]*")


@dataclass(frozen=True)
class Explanation:
    markdown: str

    def to_json(self) -> dict[str, str]:
        return {"text": self.markdown}


def symbol_at(line_text: str, character: int) -> str | None:
    for match in WORD.finditer(line_text):
        if match.start() <= character <= match.end():
            return match.group(0)
    return None


def explain_ask(
    config: Config, source: Source, line: int, character: int | None = None
) -> Ask[Explanation]:
    line = max(0, min(line, source.line_count - 1))
    knobs = config.task("explain")
    redactor = Redactor(enabled=config.privacy.redact_secrets)
    context = knobs.context_lines
    lines = redacted_lines(source, line - context, line + context + 1, redactor)
    symbol = symbol_at(source.line_text(line), character) if character is not None else None
    prompt = explain_prompt(source, lines, line, symbol, context_lines=context)

    def parse(answer: str) -> Explanation:
        text = redactor.restore(answer).strip()
        if not text:
            raise InvalidAnswer("the explanation is empty")
        if len(text) > MAX_EXPLANATION_CHARS:
            text = text[:MAX_EXPLANATION_CHARS].rsplit(" ", 1)[0] + " …"
        return Explanation(text)

    return Ask(task="explain", route="explain", prompt=prompt, parse=parse)
