"""SARIF 2.1.0, for code-scanning uploads (GitHub, GitLab, Azure DevOps...).

One rule per severity, since the models name no rule of their own; paths are relative to
%SRCROOT% (the repository root in a diff review) so that a scanner maps them onto its checkout.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from .. import __version__
from ..review_ci.run import ReviewRun
from ..tasks import Finding
from .plain import dumps

SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
# (rule id, severity, SARIF level, description)
RULES = (
    ("review/error", "error", "error", "A problem the reviewing model considers an error"),
    ("review/warning", "warning", "warning", "A problem the reviewing model warns about"),
    ("review/info", "info", "note", "A remark from the reviewing model"),
    ("review/hint", "hint", "note", "A suggestion from the reviewing model"),
)
_RULE_INDEX = {severity: index for index, (_, severity, _, _) in enumerate(RULES)}


def _uri(path: str) -> tuple[str, str | None]:
    """The artifact URI and its base id: relative paths against %SRCROOT%."""
    posix = PurePosixPath(path)
    if posix.is_absolute():
        return "file://" + quote(posix.as_posix()), None
    return quote(posix.as_posix()), "%SRCROOT%"


def _location(path: str, finding: Finding) -> dict[str, Any]:
    uri, base = _uri(path)
    artifact: dict[str, Any] = {"uri": uri}
    if base is not None:
        artifact["uriBaseId"] = base
    region = {"startLine": finding.line + 1, "endLine": finding.end_line + 1}
    return {"physicalLocation": {"artifactLocation": artifact, "region": region}}


def _result(path: str, finding: Finding, model: str, cache: str) -> dict[str, Any]:
    index = _RULE_INDEX[finding.severity]
    rule_id, _, level, _ = RULES[index]
    result: dict[str, Any] = {
        "ruleId": rule_id,
        "ruleIndex": index,
        "level": level,
        "message": {"text": finding.message},
        "locations": [_location(path, finding)],
        "properties": {"model": model, "cache": cache},
    }
    if finding.suggestion:
        result["properties"]["suggestion"] = finding.suggestion
    return result


def _notification(text: str, level: str, path: str | None = None) -> dict[str, Any]:
    note: dict[str, Any] = {"message": {"text": text}, "level": level}
    if path is not None:
        uri, base = _uri(path)
        artifact = {"uri": uri, **({"uriBaseId": base} if base else {})}
        note["locations"] = [{"physicalLocation": {"artifactLocation": artifact}}]
    return note


def sarif_report(run: ReviewRun) -> str:
    results = [
        _result(review.path, finding, review.answer.model, review.answer.cache.value)
        for review in run.reviewed
        if review.answer is not None
        for finding in review.findings
    ]
    notifications = [
        _notification(f"No model could review this file: {r.failure}", "error", r.path)
        for r in run.unanswered
    ]
    notifications += [_notification(f"Skipped: {s.reason}", "note", s.path) for s in run.skipped]
    notifications += [
        _notification("Not reviewed: the --max-cost budget was reached", "warning", path)
        for path in run.not_started
    ]
    rules = [
        {
            "id": rule_id,
            "name": f"Review{severity.capitalize()}",
            "shortDescription": {"text": description},
            "defaultConfiguration": {"level": level},
        }
        for rule_id, severity, level, description in RULES
    ]
    invocation: dict[str, Any] = {
        "executionSuccessful": not run.unanswered and not run.not_started,
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    report = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "switchboard",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "invocations": [invocation],
                "results": results,
                "properties": {
                    "models": [{"model": m, "provider": p} for m, p in run.models],
                    "cost_usd": round(run.cost_usd, 8),
                    "skipped": [{"path": s.path, "reason": s.reason} for s in run.skipped],
                    "not_started": run.not_started,
                },
            }
        ],
    }
    return dumps(report)
