"""Turning a model's replacement for some lines into the smallest edit of exactly those lines."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from .source import Position, Source


@dataclass(frozen=True, slots=True)
class TextEdit:
    """Replace start..end (code-point positions) with new_text."""

    start: Position
    end: Position
    new_text: str

    def to_json(self) -> dict[str, object]:
        return {
            "start": {"line": self.start.line, "character": self.start.character},
            "end": {"line": self.end.line, "character": self.end.character},
            "new_text": self.new_text,
        }


@dataclass(frozen=True)
class LineReplacement:
    """Lines start..end (0-based, inclusive) of `source` become `new_lines` (with line endings)."""

    source: Source
    start: int
    end: int
    new_lines: str

    @property
    def old_lines(self) -> str:
        return "".join(self.source.lines[self.start : self.end + 1])

    def edit(self) -> TextEdit:
        """The minimal edit: common leading and trailing text is left untouched."""
        old, new = self.old_lines, self.new_lines
        prefix = _common_prefix(old, new)
        suffix = _common_suffix(old[prefix:], new[prefix:])
        base = self.source.line_start(self.start)
        start = self.source.position_at(base + prefix, self.start)
        end = self.source.position_at(base + len(old) - suffix, start.line)
        return TextEdit(start, end, new[prefix : len(new) - suffix])

    def new_text(self) -> str:
        return self.source.with_lines_replaced(self.start, self.end, self.new_lines)

    def unified_diff(self) -> str:
        name = self.source.path or "untitled"
        before = self.source.text.splitlines(keepends=True)
        after = self.new_text().splitlines(keepends=True)
        lines = difflib.unified_diff(before, after, f"a/{name}", f"b/{name}")
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    # Never split a CRLF pair.
    if i > 0 and a[i - 1 : i + 1] == "\r\n":
        i -= 1
    return i


def _common_suffix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[len(a) - 1 - i] == b[len(b) - 1 - i]:
        i += 1
    if 0 < i < len(a) and a[len(a) - i - 1 : len(a) - i + 1] == "\r\n":
        i -= 1
    return i


def relocate(replacement: LineReplacement, current: Source, start: int) -> LineReplacement | None:
    """The same replacement on `current`, a later version of the text in which the replaced
    lines begin at `start` (the caller follows them through the edits made meanwhile).

    None unless those lines are still there verbatim: an answer is never applied to text it
    was not written for, nor to a look-alike elsewhere in the file.
    """
    block = replacement.source.lines[replacement.start : replacement.end + 1]
    end = start + len(block) - 1
    if start < 0 or current.lines[start : end + 1] != block:
        return None
    return LineReplacement(current, start, end, replacement.new_lines)
