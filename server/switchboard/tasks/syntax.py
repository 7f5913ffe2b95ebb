"""Whether an edit keeps the file's syntax: an edit must not break a file that parsed."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from ..gateway import InvalidAnswer
from .edits import LineReplacement
from .source import Source, python_parses

Validator = Callable[[LineReplacement], None]


def syntax_check(source: Source) -> Validator | None:
    """A validator for edits of `source`, or None where no syntax can be checked. The original
    is parsed once, on the first edit checked (listing code actions never pays for it)."""
    if source.language != "python":
        return None

    @cache
    def original_parses() -> bool:
        return python_parses(source.text)

    def check(replacement: LineReplacement) -> None:
        if original_parses() and not python_parses(replacement.new_text()):
            raise InvalidAnswer("the edited file would no longer parse")

    return check
