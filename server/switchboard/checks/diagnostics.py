"""What a checker reports, read from its machine output into one shape.

Each reader takes the tool's own output (ruff's, pyright's and eslint's JSON, mypy's JSON
lines, tsc's and gcc-style text, SARIF) and keeps the diagnostics of one file, with 0-based
lines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class CheckDiagnostic:
    source: str  # the checker's name: ruff, pyright, mypy, eslint, tsc, or a user checker's
    code: str | None
    message: str
    severity: str  # error, warning, info
    line: int  # 0-based
    end_line: int  # 0-based, inclusive

    def same_problem(self, code: str | None, message: str) -> bool:
        """The same diagnostic as one reported as `code` / `message`: by code when there is
        one (messages name things the edit may rename), else by message."""
        if code:
            return self.code is not None and self.code.lower() == code.lower()
        return self.message.strip() == message.strip()


Reader = Callable[[str, str, Path], list[CheckDiagnostic]]


def _same_file(reported: str | None, path: Path) -> bool:
    if not reported or reported == "-":
        return True
    try:
        return Path(reported).resolve() == path.resolve() or Path(reported).name == path.name
    except OSError:
        return False


def _level(value: Any, default: str) -> str:
    """error, warning or info, from the words tools use."""
    if not isinstance(value, str) or not value:
        return default
    return {"information": "info", "note": "info", "none": "info", "hint": "info"}.get(
        value.lower(), value.lower()
    )


def _span(start: int | None, end: int | None, base: int) -> tuple[int, int]:
    first = (start or base) - base
    last = (end if end is not None else start or base) - base
    return max(0, first), max(0, first, last)


def read_ruff(output: str, source: str, path: Path) -> list[CheckDiagnostic]:
    found = []
    for item in json.loads(output or "[]"):
        if not _same_file(item.get("filename"), path):
            continue
        start = item.get("location") or {}
        end = item.get("end_location") or {}
        first, last = _span(start.get("row"), end.get("row"), 1)
        found.append(
            CheckDiagnostic(source, item.get("code"), item.get("message", ""), "error", first, last)
        )
    return found


def read_pyright(output: str, source: str, path: Path) -> list[CheckDiagnostic]:
    data = json.loads(output)
    found = []
    for item in data.get("generalDiagnostics", []):
        if not _same_file(item.get("file"), path):
            continue
        span = item.get("range") or {}
        first, last = _span(
            (span.get("start") or {}).get("line"), (span.get("end") or {}).get("line"), 0
        )
        severity = {"information": "info"}.get(item.get("severity"), item.get("severity", "error"))
        found.append(
            CheckDiagnostic(
                source, item.get("rule"), item.get("message", ""), severity, first, last
            )
        )
    return found


def read_mypy(output: str, source: str, path: Path) -> list[CheckDiagnostic]:
    found = []
    for line in output.splitlines():
        if not line.startswith("{"):
            continue
        item = json.loads(line)
        if not _same_file(item.get("file"), path):
            continue
        first, last = _span(item.get("line"), item.get("end_line"), 1)
        severity = "info" if item.get("severity") == "note" else item.get("severity", "error")
        found.append(
            CheckDiagnostic(
                source, item.get("code"), item.get("message", ""), severity, first, last
            )
        )
    return found


def read_eslint(output: str, source: str, path: Path) -> list[CheckDiagnostic]:
    found = []
    for result in json.loads(output or "[]"):
        if not _same_file(result.get("filePath"), path):
            continue
        for item in result.get("messages", []):
            first, last = _span(item.get("line"), item.get("endLine"), 1)
            severity = "error" if item.get("severity") == 2 else "warning"
            found.append(
                CheckDiagnostic(
                    source, item.get("ruleId"), item.get("message", ""), severity, first, last
                )
            )
    return found


# tsc: `file(12,5): error TS2304: Cannot find name 'x'.`; gcc/clang and many linters:
# `file:12:5: error: message [code]`.
_TSC = re.compile(
    r"^(?P<file>.+?)\((?P<line>\d+),\d+\): (?P<severity>error|warning) (?P<code>TS\d+): "
    r"(?P<message>.*)$"
)
_GCC = re.compile(
    r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:\d+:)?\s*(?P<severity>error|warning|note|info)?:?\s*"
    r"(?P<message>.*?)(?:\s+\[(?P<code>[^\]]+)\])?$"
)


def _read_lines(pattern: re.Pattern[str]) -> Reader:
    def read(output: str, source: str, path: Path) -> list[CheckDiagnostic]:
        found = []
        for line in output.splitlines():
            match = pattern.match(line.strip())
            if match is None or not _same_file(match.group("file"), path):
                continue
            number = int(match.group("line")) - 1
            severity = {"note": "info"}.get(
                match.group("severity") or "error", match.group("severity") or "error"
            )
            found.append(
                CheckDiagnostic(
                    source, match.group("code"), match.group("message"), severity, number, number
                )
            )
        return found

    return read


def read_sarif(output: str, source: str, path: Path) -> list[CheckDiagnostic]:
    found = []
    for run in json.loads(output).get("runs", []):
        for result in run.get("results", []):
            for location in result.get("locations", [])[:1]:
                physical: dict[str, Any] = location.get("physicalLocation", {})
                uri = physical.get("artifactLocation", {}).get("uri", "")
                if not _same_file(uri.removeprefix("file://"), path):
                    continue
                region = physical.get("region", {})
                first, last = _span(region.get("startLine"), region.get("endLine"), 1)
                level = {"note": "info", "none": "info"}.get(
                    result.get("level"), result.get("level", "warning")
                )
                message = (result.get("message") or {}).get("text", "")
                found.append(
                    CheckDiagnostic(source, result.get("ruleId"), message, level, first, last)
                )
    return found


READERS: dict[str, Reader] = {
    "ruff-json": read_ruff,
    "pyright-json": read_pyright,
    "mypy-json": read_mypy,
    "eslint-json": read_eslint,
    "tsc": _read_lines(_TSC),
    "gcc": _read_lines(_GCC),
    "sarif": read_sarif,
}
