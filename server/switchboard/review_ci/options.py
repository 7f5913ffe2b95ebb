"""The options of `switchboard review`, kept free of the gateway so that parsing the command
line loads nothing heavy."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_JOBS = 4
FORMAT_NAMES = ("text", "json", "sarif", "github")
# --fail-on LEVEL: the severities that fail the run.
FAIL_ON = {"error": ("error",), "warning": ("error", "warning"), "never": ()}


def add_arguments(review: argparse.ArgumentParser) -> None:
    """The options of `switchboard review`."""
    review.add_argument("file", type=Path, nargs="*", help="files to review whole")
    review.add_argument(
        "--diff", nargs="?", const="", default=None, metavar="BASE",
        help="review the changes since the merge base with BASE (default: the default branch)",
    )  # fmt: skip
    review.add_argument("--staged", action="store_true", help="review the staged changes")
    review.add_argument(
        "--jobs", type=int, default=DEFAULT_JOBS, metavar="N",
        help=f"files reviewed at once (default {DEFAULT_JOBS})",
    )  # fmt: skip
    review.add_argument("--format", choices=FORMAT_NAMES, help="output format (default text)")
    review.add_argument("--json", action="store_true", help="the same as --format json")
    review.add_argument(
        "--fail-on", choices=tuple(FAIL_ON), default="never",
        help="exit 1 for a finding at or above this severity (default never)",
    )  # fmt: skip
    review.add_argument(
        "--max-cost", type=float, metavar="USD",
        help="start no new file once the run has cost this much",
    )  # fmt: skip
