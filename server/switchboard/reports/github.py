"""GitHub Actions workflow commands: one annotation per finding on the pull request's diff.

Escaping follows @actions/core: the message escapes % CR LF; properties also escape : and ,.
"""

from __future__ import annotations

from ..review_ci.run import ReviewRun
from ..tasks import Finding

LEVELS = {"error": "error", "warning": "warning", "info": "notice", "hint": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, **properties: str | int) -> str:
    """`::level key=value,...::message`, every part escaped."""
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{level}{' ' + props if props else ''}::{escape_data(message)}"


def _annotation(path: str, finding: Finding, model: str) -> str:
    message = finding.message
    if finding.suggestion:
        message += f"\n\nSuggestion:\n{finding.suggestion}"
    return command(
        LEVELS[finding.severity],
        message,
        file=path,
        line=finding.line + 1,
        endLine=finding.end_line + 1,
        title=f"Switchboard review ({model})",
    )


def github_commands(run: ReviewRun) -> str:
    lines = []
    for review in run.reviewed:
        if review.answer is None:
            lines.append(
                command("warning", f"No model could review this file: {review.failure}",
                        file=review.path, title="Switchboard review")
            )  # fmt: skip
            continue
        lines.extend(_annotation(review.path, f, review.answer.model) for f in review.findings)
    if run.not_started:
        lines.append(
            command(
                "warning",
                f"The --max-cost budget was reached; {len(run.not_started)} files were not "
                f"reviewed: {', '.join(run.not_started)}",
                title="Switchboard review",
            )
        )
    return "\n".join(lines)
