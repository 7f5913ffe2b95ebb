"""The lines a patch changed in one file, and the parts of the file a review of them needs.

Lines are 0-based and ranges inclusive, on the new side of the patch (the file as it is now).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from .source import Source

# Findings are kept to the changed lines and this many lines either side: a change can break
# the line that calls it, but a finding twenty lines away is about code the patch left alone.
NEARBY_LINES = 3
# Without an enclosing function (or for a very long one), this much context either side.
CONTEXT_LINES = 10
MAX_REGION_SIDE = 60


@dataclass(frozen=True)
class ChangedLines:
    """The changed line ranges of one file, sorted and merged."""

    ranges: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, ranges: Iterable[tuple[int, int]]) -> ChangedLines:
        return cls(_merge(ranges, gap=0))

    def marks(self, line: int) -> bool:
        return any(start <= line <= end for start, end in self.ranges)

    def touches(self, start: int, end: int, nearby: int = NEARBY_LINES) -> bool:
        """Whether lines start..end are on a changed line or within `nearby` lines of one."""
        return any(start <= last + nearby and end >= first - nearby for first, last in self.ranges)

    @property
    def count(self) -> int:
        return sum(end - start + 1 for start, end in self.ranges)


def context_regions(source: Source, changes: ChangedLines) -> tuple[tuple[int, int], ...]:
    """The changed regions with their enclosing functions, each side bounded."""
    functions = _python_functions(source) if source.language == "python" else None
    regions = []
    for start, end in changes.ranges:
        if functions is not None:
            first, last = _innermost(functions, start, end) or (start, end)
        else:
            first, last = _by_indentation(source, start, end)
        first = max(first, start - MAX_REGION_SIDE, 0)
        last = min(last, end + MAX_REGION_SIDE, source.line_count - 1)
        regions.append((min(first, start - CONTEXT_LINES), max(last, end + CONTEXT_LINES)))
    clamped = ((max(0, a), min(source.line_count - 1, b)) for a, b in regions)
    return _merge(clamped, gap=1)


def _merge(ranges: Iterable[tuple[int, int]], *, gap: int) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _python_functions(source: Source) -> list[tuple[int, int]] | None:
    try:
        tree = ast.parse(source.text)
    except (SyntaxError, ValueError, RecursionError):
        return None  # a file that does not parse: fall back to its indentation
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return [
        (node.lineno - 1 - len(node.decorator_list), (node.end_lineno or node.lineno) - 1)
        for node in ast.walk(tree)
        if isinstance(node, kinds)
    ]


def _innermost(spans: list[tuple[int, int]], start: int, end: int) -> tuple[int, int] | None:
    around = [(a, b) for a, b in spans if a <= start and end <= b]
    return min(around, key=lambda span: span[1] - span[0]) if around else None


def _indent(line: str) -> int | None:
    stripped = line.lstrip(" \t")
    return None if not stripped.strip() else len(line) - len(stripped)


def _by_indentation(source: Source, start: int, end: int) -> tuple[int, int]:
    """For languages we do not parse: up to the first less-indented line (a function's header),
    down to the first line back at that indentation (its closing brace)."""
    levels = [_indent(source.lines[n]) for n in range(start, end + 1)]
    inner = min((level for level in levels if level is not None), default=0)
    first = start
    while first > 0 and inner > 0:
        first -= 1
        level = _indent(source.lines[first])
        if level is not None and level < inner:
            break
    header = _indent(source.lines[first]) or 0
    last = end
    while last < source.line_count - 1:
        last += 1
        level = _indent(source.lines[last])
        if level is not None and level <= header:
            break
    return first, last
