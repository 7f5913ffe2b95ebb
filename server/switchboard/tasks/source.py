"""A source file as the tasks see it: text, lines, language. Positions are 0-based lines and
code-point columns; the LSP layer converts to and from the client's encoding."""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate
from pathlib import PurePath

_LANGUAGES = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".kt": "kotlin",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".hpp": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".php": "php",
    ".swift": "swift",
    ".scala": "scala",
    ".sh": "bash",
    ".bash": "bash",
    ".lua": "lua",
    ".sql": "sql",
    ".md": "markdown",
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".html": "html",
    ".css": "css",
}


def language_for(path: str | None, hint: str | None = None) -> str:
    if hint:
        return hint
    if path:
        return _LANGUAGES.get(PurePath(path).suffix.lower(), "text")
    return "text"


@dataclass(frozen=True, slots=True)
class Position:
    line: int
    character: int


@dataclass(frozen=True)
class Source:
    """The text of one file and what is known about it."""

    text: str
    path: str | None = None
    language_id: str | None = None
    lines: list[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # splitlines(keepends=True) also splits on \x0b, \x1c, U+2028...: editors do not.
        lines = _split_lines(self.text)
        object.__setattr__(self, "lines", lines)

    @property
    def language(self) -> str:
        return language_for(self.path, self.language_id)

    @property
    def name(self) -> str:
        return PurePath(self.path).name if self.path else "untitled"

    @property
    def line_count(self) -> int:
        return len(self.lines)

    @cached_property
    def eol(self) -> str:
        """The file's dominant line ending, so inserted text matches its neighbours."""
        crlf = self.text.count("\r\n")
        lf = self.text.count("\n") - crlf
        cr = self.text.count("\r") - crlf
        if crlf >= lf and crlf >= cr and crlf:
            return "\r\n"
        if cr > lf:
            return "\r"
        return "\n"

    def line_text(self, line: int) -> str:
        """The line without its line ending ('' past the end)."""
        if 0 <= line < len(self.lines):
            return self.lines[line].rstrip("\r\n")
        return ""

    @cached_property
    def _line_starts(self) -> list[int]:
        return [0, *accumulate(len(line) for line in self.lines)]

    def offset(self, position: Position) -> int:
        """Code-point offset of a position, clamped into the text."""
        if position.line >= len(self.lines):
            return len(self.text)
        line = max(0, position.line)
        return self._line_starts[line] + max(0, min(position.character, len(self.line_text(line))))

    def line_start(self, line: int) -> int:
        return self._line_starts[max(0, min(line, len(self.lines)))]

    def position_at(self, offset: int, base_line: int = 0) -> Position:
        """The position of `offset`, searching from `base_line` (whose start must be <= offset)."""
        line = base_line
        start = self.line_start(base_line)
        while line < len(self.lines) and start + len(self.lines[line]) <= offset:
            if line == len(self.lines) - 1 and not _ends_with_eol(self.lines[line]):
                break
            start += len(self.lines[line])
            line += 1
        return Position(line, offset - start)

    def python_parses(self) -> bool:
        return python_parses(self.text)

    def with_lines_replaced(self, start: int, end: int, replacement: str) -> str:
        """The whole text with lines start..end (inclusive) replaced by `replacement`."""
        return "".join(self.lines[:start]) + replacement + "".join(self.lines[end + 1 :])


def _ends_with_eol(line: str) -> bool:
    return line.endswith(("\n", "\r"))


_EOL = re.compile(r"(\r\n|\r|\n)")


def _split_lines(text: str) -> list[str]:
    """Lines with their endings; a text ending in a newline has no empty last line."""
    parts = _EOL.split(text)
    lines = [parts[i] + parts[i + 1] for i in range(0, len(parts) - 1, 2)]
    if parts[-1] or not lines:
        lines.append(parts[-1])
    return lines


def count_line_breaks(text: str) -> int:
    return len(_EOL.findall(text))


def python_parses(text: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarnings for odd escapes are not our concern
        try:
            ast.parse(text)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            return False
    return True
