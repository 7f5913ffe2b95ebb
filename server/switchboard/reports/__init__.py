"""A review run as people and CI tools read it: text, JSON, SARIF 2.1.0, GitHub annotations.

Reports only format; they never decide an exit code or call a model.
"""

from __future__ import annotations

from collections.abc import Callable

from ..review_ci.run import ReviewRun
from .github import github_commands
from .plain import json_report, text_report
from .sarif import sarif_report

# Named as in review_ci.options.FORMAT_NAMES, which the command line offers.
FORMATS: dict[str, Callable[[ReviewRun], str]] = {
    "text": text_report,
    "json": json_report,
    "sarif": sarif_report,
    "github": github_commands,
}

__all__ = ["FORMATS", "github_commands", "json_report", "sarif_report", "text_report"]
