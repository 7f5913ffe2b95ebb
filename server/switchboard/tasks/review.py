"""Whole-file review: findings with lines, severity, message and an optional replacement.

Findings are read as models write them: wrapped in prose or fences, after a draft they later
corrected (the last list of findings counts), as a bare list, with lines as strings or ranges,
with the severity words of any tracker. Severities map down, never up: a suggestion is never an
error, a critical finding never less than a warning. A finding about a line the file does not
have is dropped, never moved onto another line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..config import Config
from ..gateway import Ask, InvalidAnswer, Prompt
from .answers import json_values
from .changes import ChangedLines, context_regions
from .edits import LineReplacement
from .privacy import Redactor
from .prompts import review_changes_prompt, review_prompt
from .replacement import Region, read_replacement
from .source import Source
from .syntax import Validator, syntax_check
from .window import redacted_lines

SEVERITIES = ("error", "warning", "info", "hint")
_SEVERITY_WORDS = {
    "error": (
        "error critical blocker fatal high severe serious bug security vulnerability "
        "danger dangerous err"
    ),
    "warning": "warning warn major medium moderate important caution",
    "info": "info information informational low minor note notice",
    "hint": (
        "hint suggestion suggest nit nitpick style trivial optional refactor cosmetic "
        "consider improvement enhancement tip readability"
    ),
}
_SEVERITY = {word: level for level, words in _SEVERITY_WORDS.items() for word in words.split()}
# Words that name a kind of finding rather than a level: they count only when no level is named
# ("critical style issue" is critical, "low-priority bug" is low).
_KINDS = frozenset(
    {
        *("bug", "security", "vulnerability", "danger", "dangerous", "style", "refactor"),
        *("cosmetic", "improvement", "enhancement", "readability", "tip"),
    }
)
_LIST_KEYS = ("findings", "issues", "problems", "comments", "results", "review", "items")
_MESSAGE_KEYS = ("message", "description", "issue", "problem", "comment", "text", "explanation")
_SUGGESTION_KEYS = ("suggestion", "fix", "replacement", "suggested_fix", "suggested_code", "code")
MAX_FINDINGS = 200


@dataclass(frozen=True)
class Finding:
    line: int  # 0-based
    end_line: int  # 0-based, inclusive
    severity: str
    message: str
    suggestion: str | None
    fix: LineReplacement | None  # the suggestion as an edit, when it is a usable one

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line + 1,
            "end_line": self.end_line + 1,
            "severity": self.severity,
            "message": self.message,
            "suggestion": self.suggestion,
            "diff": self.fix.unified_diff() if self.fix else None,
        }


@dataclass(frozen=True)
class Review:
    findings: tuple[Finding, ...]

    def to_json(self) -> dict[str, Any]:
        return {"findings": [finding.to_json() for finding in self.findings]}


def review_ask(config: Config, source: Source) -> Ask[Review]:
    redactor = Redactor(enabled=config.privacy.redact_secrets)
    prompt = review_prompt(source, redacted_lines(source, 0, source.line_count, redactor))
    return _ask(prompt, source, redactor)


def review_changes_ask(
    config: Config, source: Source, changes: ChangedLines, *, whole: bool = True
) -> Ask[Review]:
    """Review what a patch changed: the whole file with the changes marked, or (`whole=False`)
    the changed regions with their enclosing functions. Only findings on or near changed lines
    are kept."""
    redactor = Redactor(enabled=config.privacy.redact_secrets)
    if whole:
        regions = None
        lines = redacted_lines(source, 0, source.line_count, redactor)
    else:
        regions = context_regions(source, changes)
        lines = [""] * source.line_count
        for start, end in regions:  # one redactor, so a secret has one placeholder throughout
            part = redacted_lines(source, start, end + 1, redactor)
            lines[start : end + 1] = part[start : end + 1]
    prompt = review_changes_prompt(source, lines, changes.marks, regions)
    return _ask(prompt, source, redactor, changes)


def _ask(
    prompt: Prompt, source: Source, redactor: Redactor, changes: ChangedLines | None = None
) -> Ask[Review]:
    validate = syntax_check(source)

    def parse(answer: str) -> Review:
        review = parse_review(redactor.restore(answer), source, validate)
        if changes is None:
            return review
        kept = tuple(f for f in review.findings if changes.touches(f.line, f.end_line))
        return Review(kept)

    return Ask(task="review", route="review", prompt=prompt, parse=parse)


def parse_review(answer: str, source: Source, validate: Validator | None = None) -> Review:
    """Findings from a tolerant reading of the answer; findings that make no sense are dropped."""
    items = _findings_list(json_values(answer))
    findings: dict[tuple[int, int, str], Finding] = {}
    for item in items[:MAX_FINDINGS]:
        finding = _finding(item, source, validate)
        if finding is not None:
            findings.setdefault((finding.line, finding.end_line, finding.message), finding)
    return Review(tuple(sorted(findings.values(), key=lambda f: (f.line, f.end_line))))


def _findings_list(values: list[Any]) -> list[Any]:
    """The last value that is a list of findings: a model's correction comes after its draft."""
    for value in reversed(values):
        items = _as_findings(value)
        if items is not None:
            return items
    raise InvalidAnswer("the review has no list of findings")


def _as_findings(value: Any) -> list[Any] | None:
    if isinstance(value, list):
        return value if all(isinstance(item, dict) for item in value) else None
    if not isinstance(value, dict):
        return None
    for key in _LIST_KEYS:
        if isinstance(value.get(key), list):
            return value[key]
    if "line" in value and any(key in value for key in _MESSAGE_KEYS):
        return [value]  # one finding on its own
    return None


_RANGE = re.compile(
    r"^\s*(?:lines?\s*|l)?(\d+)\s*(?:(?:-|\u2013|\u2014|to|\.\.|:)\s*l?(\d+))?", re.I
)


def _lines(value: Any) -> tuple[int, int | None] | None:
    """A line as models write it: 12, 12.0, "12", "L12", "12-14", "lines 12 to 14"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value, None
    if isinstance(value, float) and value.is_integer():
        return int(value), None
    if isinstance(value, str):
        match = _RANGE.match(value)
        if match:
            return int(match.group(1)), int(match.group(2)) if match.group(2) else None
    return None


def _first(item: dict[str, Any], keys: tuple[str, ...]) -> Any:
    return next((item[key] for key in keys if item.get(key) not in (None, "")), None)


def severity_of(value: Any) -> str:
    """error, warning, info or hint for a model's severity word; a missing or unknown word is a
    warning, the protocol's own middle."""
    if not isinstance(value, str):
        return "warning"
    words = [word for word in re.findall(r"[a-z]+", value.lower()) if word in _SEVERITY]
    named = [word for word in words if word not in _KINDS] or words
    if not named:
        return "warning"
    # Several levels ("medium-high"): the mildest, so that nothing is raised.
    return max((_SEVERITY[word] for word in named), key=SEVERITIES.index)


def _finding(item: Any, source: Source, validate: Validator | None) -> Finding | None:
    if not isinstance(item, dict):
        return None
    where = _lines(_first(item, ("line", "start_line", "line_number", "lineno", "lines", "start")))
    message = _first(item, _MESSAGE_KEYS)
    if message is None and isinstance(item.get("title"), str):
        message = item["title"]
    if where is None or not isinstance(message, str) or not message.strip():
        return None
    line, end_line = where
    if not 1 <= line <= source.line_count:
        return None  # a finding about a line that does not exist is not about this file
    end = _lines(_first(item, ("end_line", "endLine", "line_end", "end")))
    end_line = end[0] if end is not None else end_line if end_line is not None else line
    end_line = max(end_line, line)
    suggestion = _first(item, _SUGGESTION_KEYS)
    suggestion = suggestion if isinstance(suggestion, str) and suggestion.strip() else None
    fix = None
    if end_line > source.line_count:
        end_line = source.line_count  # its replacement was for lines that do not exist
    elif suggestion is not None:
        region = Region(source, line - 1, end_line - 1, context=source.line_count)
        try:
            fix = read_replacement(region, suggestion, validate)
        except InvalidAnswer:
            fix = None  # prose advice, or code that cannot be applied exactly: no quick fix
    severity = severity_of(_first(item, ("severity", "level", "priority", "importance")))
    return Finding(line - 1, end_line - 1, severity, message.strip(), suggestion, fix)
