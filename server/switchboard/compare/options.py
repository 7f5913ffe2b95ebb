"""`switchboard compare`'s options: parsed before the gateway is loaded."""

from __future__ import annotations

import argparse
from pathlib import Path

TASKS = ("fix", "review", "explain")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, nargs="*", help="files to take the asks from")
    parser.add_argument(
        "--task",
        choices=TASKS,
        action="append",
        help="fix (the files' diagnostics), review (the files), explain (--line); repeatable",
    )
    parser.add_argument("--models", help="comma-separated aliases (default: the tasks' routes)")
    parser.add_argument(
        "--diagnostics", type=Path, metavar="FILE.json", help="a linter's JSON (ruff's format)"
    )
    parser.add_argument(
        "--line", type=int, action="append", default=[], help="a line to explain (1-based)"
    )
    parser.add_argument("--jobs", type=int, default=4, help="asks in flight at once (default 4)")
    parser.add_argument("--max-cost", type=float, metavar="USD", help="stop sending past this")
    parser.add_argument("--chart", type=Path, metavar="PATH.html", help="write the chart here")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
