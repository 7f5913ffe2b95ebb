"""Text for a terminal or a CI log, and JSON for scripts."""

from __future__ import annotations

import json
from typing import Any

from ..review_ci.run import FileReview, ReviewRun
from ..tasks import Finding

BUDGET_REACHED = "not reviewed: the --max-cost budget was reached"


def finding_lines(path: str, finding: Finding) -> list[str]:
    """`path:line[-end]: severity: message`, then its fix or suggestion indented."""
    where = f"{finding.line + 1}"
    if finding.end_line != finding.line:
        where += f"-{finding.end_line + 1}"
    lines = [f"{path}:{where}: {finding.severity}: {finding.message}"]
    if finding.fix is not None:
        lines.extend("    " + line for line in finding.fix.unified_diff().splitlines())
    elif finding.suggestion:
        lines.append(f"    suggestion: {finding.suggestion}")
    return lines


def text_report(run: ReviewRun) -> str:
    lines = []
    for review in run.reviewed:
        if review.answer is None:
            lines.append(f"{review.path}: no answer")
        elif not review.findings:
            lines.append(f"{review.path}: no findings")
        for finding in review.findings:
            lines.extend(finding_lines(review.path, finding))
    lines.extend(f"{skipped.path}: skipped ({skipped.reason})" for skipped in run.skipped)
    lines.extend(f"{path}: {BUDGET_REACHED}" for path in run.not_started)
    return "\n".join(lines)


def file_json(review: FileReview) -> dict[str, Any]:
    """One file as `review FILE --json` has always printed it: the findings and the envelope."""
    if review.answer is None:
        assert review.failure is not None
        return {"error": str(review.failure), **review.failure.envelope()}
    return {**review.answer.value.to_json(), **review.answer.envelope()}


def json_report(run: ReviewRun) -> str:
    data = {
        "files": [{"path": review.path, **file_json(review)} for review in run.reviewed],
        "skipped": [{"path": s.path, "reason": s.reason} for s in run.skipped],
        "not_started": run.not_started,
        "budget_reached": bool(run.not_started),
        "max_cost_usd": run.max_cost,
        "cost_usd": round(run.cost_usd, 8),
        "models": [{"model": model, "provider": provider} for model, provider in run.models],
    }
    return dumps(data)


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
