"""`switchboard review`: one file, many files, or a patch (`--diff [BASE]`, `--staged`).

Exit codes (see the README for what they mean to a pipeline):
0 reviewed, and no finding at or above --fail-on (a stale answer counts as an answer);
1 a finding at or above --fail-on, or the run stopped at --max-cost before every file was
reviewed (stderr and the report say which); 3 a file that no model could review and of which
nothing was cached. Errors in the command line or the repository are 1, the config's are 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from ..engine import Engine
from ..exits import EXIT_ERROR, EXIT_NO_ANSWER, EXIT_OK, UsageError
from ..files import read_source
from ..reports import FORMATS
from ..reports.plain import dumps, file_json
from .git import GitError, Repository
from .options import FAIL_ON
from .run import ReviewRun, review_all
from .selection import ReviewJob, Skipped, select_files, select_patch


async def review_command(engine: Engine, args: argparse.Namespace) -> int:
    output = args.format or ("json" if args.json else "text")
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.max_cost is not None and args.max_cost < 0:
        raise UsageError("--max-cost must not be negative")
    patch_mode = args.diff is not None or args.staged
    if patch_mode and args.file:
        raise UsageError("give files to review, or --diff/--staged, not both")
    if args.diff is not None and args.staged:
        raise UsageError("--diff and --staged cannot be combined")
    single = not patch_mode and len(args.file) == 1
    jobs, skipped = _jobs(engine, args, single)

    def progress(line: str) -> None:
        print(f"switchboard: {line}", file=sys.stderr)

    if not jobs:
        progress("nothing to review" + (f" ({len(skipped)} files skipped)" if skipped else ""))
    run = await review_all(engine, jobs, limit=args.jobs, max_cost=args.max_cost, progress=progress)
    run.skipped = skipped
    for notice in dict.fromkeys(n for r in run.reviewed if r.answer for n in r.answer.notices):
        progress(notice)
    if single and output == "json":
        print(dumps(file_json(run.reviewed[0])))  # the shape `review FILE --json` always had
    elif report := FORMATS[output](run):  # no empty line for a run with nothing to say
        print(report)
    _summary(run, progress)
    return exit_code(run, args.fail_on)


def _jobs(
    engine: Engine, args: argparse.Namespace, single: bool
) -> tuple[list[ReviewJob], list[Skipped]]:
    if single:
        # One file named alone: its problems are errors, as they always were.
        source = read_source(args.file[0])
        engine.guard(source)
        return [ReviewJob(args.file[0].as_posix(), source)], []
    if args.file:
        return select_files(args.file, engine.excluded_reason)
    if not args.staged and args.diff is None:
        raise UsageError("name the files to review, or use --diff [BASE] or --staged")
    try:
        patch = Repository.at(Path.cwd()).patch(args.diff or None, staged=args.staged)
    except GitError as exc:
        raise UsageError(str(exc)) from None
    return select_patch(patch, engine.excluded_reason)


def _summary(run: ReviewRun, say: Callable[[str], None]) -> None:
    for skipped in run.skipped:
        say(f"skipped {skipped.path}: {skipped.reason}")
    if run.not_started:
        say(
            f"stopped at the --max-cost budget: ${run.cost_usd:.6f} spent of ${run.max_cost:g}; "
            f"{len(run.not_started)} files not reviewed: {', '.join(run.not_started)}"
        )


def exit_code(run: ReviewRun, fail_on: str) -> int:
    """1 for a finding at or above `fail_on` or a run the budget cut short, else 3 when a file
    got no answer at all, else 0."""
    levels = FAIL_ON[fail_on]
    if any(f.severity in levels for r in run.reviewed for f in r.findings):
        return EXIT_ERROR
    if run.not_started:
        return EXIT_ERROR
    if run.unanswered:
        return EXIT_NO_ANSWER
    return EXIT_OK
