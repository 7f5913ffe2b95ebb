"""Turning a model's replacement for some lines into the smallest edit of exactly those lines."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from ..gateway import InvalidAnswer
from .source import Position, Source, python_parses


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


_INDENT = re.compile(r"[ \t]*")


def _indent_of(lines: list[str]) -> str:
    indents = [_INDENT.match(line).group(0) for line in lines if line.strip()]  # type: ignore[union-attr]
    if not indents:
        return ""
    common = indents[0]
    for indent in indents[1:]:
        while not indent.startswith(common):
            common = common[:-1]
    return common


def _drop_echoed_context(source: Source, start: int, end: int, new_lines: list[str]) -> list[str]:
    """Models often repeat lines around the ones they were asked to change. Those lines are
    already in the file: drop an echoed prefix (the lines just before the range) and an echoed
    suffix (the lines just after), as long as something of the answer remains."""
    spare = len(new_lines) - (end - start + 1)
    stripped = [line.strip() for line in new_lines]

    def echoed(count: int, context: list[str], at_start: bool) -> bool:
        part = stripped[:count] if at_start else stripped[len(stripped) - count :]
        return part == context and any(part)

    lead = 0
    for count in range(min(spare, start, _ECHO_LINES), 0, -1):
        before = [source.line_text(i).strip() for i in range(start - count, start)]
        if echoed(count, before, at_start=True):
            lead = count
            break
    spare -= lead
    trail = 0
    for count in range(min(spare, source.line_count - end - 1, _ECHO_LINES), 0, -1):
        after = [source.line_text(i).strip() for i in range(end + 1, end + 1 + count)]
        if echoed(count, after, at_start=False):
            trail = count
            break
    return new_lines[lead : len(new_lines) - trail]


_ECHO_LINES = 8


def fit_replacement(source: Source, start: int, end: int, code: str) -> LineReplacement:
    """Shape a model's code for lines start..end: the file's indentation and line endings,
    and a final line ending where the original had one."""
    old_lines = [line.rstrip("\r\n") for line in source.lines[start : end + 1]]
    new_lines = code.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    new_lines = _drop_echoed_context(source, start, end, new_lines)
    # Models often drop the block's indentation; put it back if all of it went missing.
    old_indent = _indent_of(old_lines)
    if old_indent and not _indent_of(new_lines):
        new_lines = [old_indent + line if line.strip() else line for line in new_lines]
    eol = source.eol
    text = eol.join(new_lines)
    last_old = source.lines[end] if end < len(source.lines) else ""
    if last_old.endswith(("\n", "\r")):
        text += eol
    return LineReplacement(source, start, end, text)


def checked_replacement(
    source: Source, start: int, end: int, code: str, *, original_parses: bool | None = None
) -> LineReplacement:
    """`fit_replacement`, refusing answers that change nothing or break a Python file."""
    replacement = fit_replacement(source, start, end, code)
    if replacement.new_lines == replacement.old_lines:
        raise InvalidAnswer("the answer changes nothing")
    if source.language == "python":
        if original_parses is None:
            original_parses = python_parses(source.text)
        if original_parses and not python_parses(replacement.new_text()):
            raise InvalidAnswer("the edited file would no longer parse")
    return replacement


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
