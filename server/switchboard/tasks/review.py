"""Whole-file review: findings with lines, severity, message and an optional replacement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import Config
from ..gateway import Ask, InvalidAnswer
from .answers import json_payload
from .edits import LineReplacement, checked_replacement
from .privacy import Redactor
from .prompts import review_prompt
from .source import Source, python_parses
from .window import redacted_lines

SEVERITIES = ("error", "warning", "info", "hint")
_SEVERITY_WORDS = {
    "error": "error",
    "critical": "error",
    "high": "error",
    "bug": "error",
    "security": "error",
    "warning": "warning",
    "warn": "warning",
    "medium": "warning",
    "info": "info",
    "information": "info",
    "low": "info",
    "note": "info",
    "hint": "hint",
    "style": "hint",
    "nit": "hint",
}
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
    original_parses = source.language != "python" or python_parses(source.text)

    def parse(answer: str) -> Review:
        return parse_review(redactor.restore(answer), source, original_parses)

    return Ask(task="review", route="review", prompt=prompt, parse=parse)


def parse_review(answer: str, source: Source, original_parses: bool = True) -> Review:
    """Findings from a tolerant reading of the answer; findings that make no sense are dropped."""
    payload = json_payload(answer)
    if isinstance(payload, dict):
        items = payload.get("findings", payload.get("issues"))
    else:
        items = payload
    if not isinstance(items, list):
        raise InvalidAnswer("the review has no list of findings")
    findings = []
    for item in items[:MAX_FINDINGS]:
        finding = _finding(item, source, original_parses)
        if finding is not None:
            findings.append(finding)
    return Review(tuple(sorted(findings, key=lambda f: (f.line, f.end_line))))


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _finding(item: Any, source: Source, original_parses: bool) -> Finding | None:
    if not isinstance(item, dict):
        return None
    line = _int(item.get("line", item.get("start_line")))
    message = item.get("message") or item.get("description")
    if line is None or not isinstance(message, str) or not message.strip():
        return None
    end_line = _int(item.get("end_line")) or line
    if not 1 <= line <= source.line_count:
        return None  # a finding about a line that does not exist is not about this file
    end_line = min(max(end_line, line), source.line_count)
    severity_word = str(item.get("severity", "warning")).strip().lower()
    severity = _SEVERITY_WORDS.get(severity_word, "warning")
    suggestion = item.get("suggestion")
    suggestion = suggestion if isinstance(suggestion, str) and suggestion.strip() else None
    fix = None
    if suggestion is not None:
        try:
            fix = checked_replacement(
                source,
                line - 1,
                end_line - 1,
                _strip_fence(suggestion),
                original_parses=original_parses,
            )
        except InvalidAnswer:
            fix = None
    return Finding(line - 1, end_line - 1, severity, message.strip(), suggestion, fix)


def _strip_fence(code: str) -> str:
    lines = code.strip("\n").split("\n")
    if (
        len(lines) >= 2
        and lines[0].lstrip().startswith(("```", "~~~"))
        and lines[-1].strip()
        in (
            "```",
            "~~~",
        )
    ):
        return "\n".join(lines[1:-1])
    return code.strip("\n")
