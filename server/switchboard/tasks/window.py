"""The part of a file that is sent, with its secrets replaced."""

from __future__ import annotations

from .privacy import Redactor
from .source import Source, _split_lines


def redacted_lines(source: Source, first: int, last: int, redactor: Redactor) -> list[str]:
    """Lines first..last-1 of `source` redacted, at their own indices; other lines are empty.

    Only what will be sent is scanned for secrets, and redaction keeps line numbers true.
    """
    first, last = max(0, first), min(source.line_count, last)
    lines = [""] * source.line_count
    if first < last:
        redacted = _split_lines(redactor.redact("".join(source.lines[first:last])))
        lines[first : first + len(redacted)] = redacted[: last - first]
    return lines
