"""The gateway's tasks from the shell: `fix`, `complete`, `explain`, `review` and `stats`.

Loaded by `cli.main` only for these commands: the language server and `config check` start
without the gateway's HTTP stack.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Config
from .engine import Engine
from .exits import (
    EXIT_CONFIG,
    EXIT_ERROR,
    EXIT_NO_ANSWER,
    EXIT_NOT_VERIFIED,
    EXIT_OK,
    UsageError,
    fail,
)
from .files import read_source
from .gateway import Answer, NoAnswer
from .gateway.prices import Price
from .gateway.report import ModelRow, StatsReport, TeamHealth
from .tasks import ExcludedFile, Source

if TYPE_CHECKING:
    from .checks import Target


async def run_task(args: argparse.Namespace, config: Config) -> int:
    """Run the task `args.command` names; raises UsageError for what the user must fix."""
    try:
        return await _run_task(args, config)
    except ExcludedFile as exc:
        raise UsageError(str(exc)) from None


async def _run_task(args: argparse.Namespace, config: Config) -> int:
    engine = Engine.create(config, root=Path.cwd())
    try:
        if args.command == "stats":
            if args.team:
                return await _team_stats(engine, as_json=args.json)
            return _print_stats(engine.stats(), as_json=args.json)
        if args.command == "models":
            from .models_command import print_models  # only for this command

            return await print_models(engine, as_json=args.json)
        # A one-shot command may wait for the team's Redis (bounded); an editor never does.
        await engine.gateway.start()
        if args.command == "review":
            if args.estimate:
                from .models_command import print_estimate

                if len(args.file) != 1:
                    raise UsageError("--estimate takes one FILE")
                return print_estimate(engine, read_source(args.file[0]), as_json=args.json)
            from .review_ci.command import review_command

            return await review_command(engine, args)
        if args.command == "compare":
            from .compare.command import compare_command

            return await compare_command(engine, args)
        source = read_source(args.file)
        if args.command == "fix":
            return await _fix(engine, source, args)
        if args.command == "complete":
            return await _complete(engine, source, args)
        if args.command == "explain":
            line = _line(args.line, source, "--line")
            return await _answer(
                engine.explain(source, line), args.json, lambda a: a.value.markdown
            )
        raise UsageError(f"unknown command {args.command}")
    finally:
        await engine.aclose()


def _line(number: int, source: Source, flag: str) -> int:
    if not 1 <= number <= source.line_count:
        raise UsageError(
            f"{flag} {number} is outside {source.name} (it has {source.line_count} lines)"
        )
    return number - 1


async def _fix(engine: Engine, source: Source, args: argparse.Namespace) -> int:
    start = _line(args.line, source, "--line")
    end = _line(args.end_line, source, "--end-line") if args.end_line is not None else start
    if end < start:
        raise UsageError("--end-line must not be before --line")
    target = None if args.no_verify else await _diagnostic_on(engine, source, start, end, args)
    ask = engine.fix_ask(source, start, end, args.message, target=target, verify=not args.no_verify)
    result = await _ask(engine.ask(ask), args.json)
    if isinstance(result, int):
        return result
    verification = result.value.verification
    verified = verification is not None and verification.verified
    applied = False
    if args.apply and (verified or not args.verified_only):
        _apply(args.file, source, result.value.replacement.new_text())
        applied = True
    if args.json:
        _print_json({**result.value.to_json(), "applied": applied, **result.envelope()})
    else:
        sys.stdout.write(result.value.diff)
        if applied:
            print(f"Applied the fix to {args.file}.", file=sys.stderr)
    _report(result)
    print(f"switchboard: {_verdict(verification)}", file=sys.stderr)
    if args.apply and args.verified_only and not verified:
        return fail(EXIT_NOT_VERIFIED, f"the fix was not verified; {args.file} was not changed.")
    return EXIT_OK


async def _diagnostic_on(
    engine: Engine, source: Source, start: int, end: int, args: argparse.Namespace
) -> Target | None:
    """The diagnostic the fix is for, as the installed checkers report it on those lines: the
    command line has no editor to say so. --source, --code and --message narrow it down."""
    from .checks.verify import Target, diagnostics_on
    from .engine import withheld_variables

    if not engine.config.verify.enabled or source.path is None:
        return None
    found = await diagnostics_on(
        engine.config,
        Path(source.path),
        source.text,
        source.language,
        start,
        end,
        root=engine.root,
        withheld=withheld_variables(engine.config),
        source=args.source,
    )
    if args.code:
        found = [d for d in found if (d.code or "").lower() == args.code.lower()]
    message = (args.message or "").strip()
    if message and any(message in d.message or d.message in message for d in found):
        found = [d for d in found if message in d.message or d.message in message]
    elif not args.code:
        # Unasked for, a type checker's warnings are noise: only errors are worth a fix.
        found = [d for d in found if d.severity == "error"]
    return Target.of(found[0]) if found else None


async def _complete(engine: Engine, source: Source, args: argparse.Namespace) -> int:
    """The suggestion at --line/--column through the `complete` route, printed or inserted."""
    from .tasks import Position

    line = _line(args.line, source, "--line")
    width = len(source.line_text(line))
    column = args.column if args.column is not None else width + 1
    if not 1 <= column <= width + 1:
        raise UsageError(f"--column {column} is outside line {args.line} (1 to {width + 1})")
    result = await _ask(engine.ask(engine.complete_ask(source, line, column - 1)), args.json)
    if isinstance(result, int):
        return result
    suggestion = result.value.text
    if args.apply:
        at = source.offset(Position(line, column - 1))
        _apply(args.file, source, source.text[:at] + suggestion + source.text[at:])
    if args.json:
        _print_json({**result.value.to_json(), "applied": args.apply, **result.envelope()})
    else:
        print(suggestion)
        if args.apply:
            print(f"Inserted the suggestion into {args.file}.", file=sys.stderr)
    _report(result)
    return EXIT_OK


def _verdict(verification: Any) -> str:
    if verification is None or verification.status == "not_verified":
        why = (
            f" ({verification.reason})" if verification is not None and verification.reason else ""
        )
        return f"not verified{why}"
    return f"verified by {verification.checker}"


def _apply(path: Path, source: Source, new_text: str) -> None:
    """Write the fixed file, unless it changed while the model was working."""
    try:
        current = path.read_bytes().decode("utf-8").removeprefix("\ufeff")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot re-read it before writing ({exc})") from None
    if current != source.text:
        raise UsageError(f"{path} changed while the fix was being made; nothing was written")
    had_bom = path.read_bytes().startswith(b"\xef\xbb\xbf")
    data = ("\ufeff" if had_bom else "") + new_text
    temporary = path.with_name(f".{path.name}.switchboard-tmp")
    try:
        temporary.write_bytes(data.encode("utf-8"))
        os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UsageError(f"{path}: cannot write it ({exc.strerror})") from None


async def _ask(pending: Awaitable[Answer[Any]], as_json: bool) -> Answer[Any] | int:
    """The answer, or the exit code after saying (and, with --json, printing) what failed."""
    try:
        return await pending
    except NoAnswer as failed:
        for notice in failed.notices:
            print(f"switchboard: {notice}", file=sys.stderr)
        if as_json:
            _print_json({"error": str(failed), **failed.envelope()})
        return fail(EXIT_NO_ANSWER, str(failed))


async def _answer(
    pending: Awaitable[Answer[Any]], as_json: bool, text: Callable[[Answer[Any]], str]
) -> int:
    result = await _ask(pending, as_json)
    if isinstance(result, int):
        return result
    if as_json:
        _print_json({**result.value.to_json(), **result.envelope()})
    else:
        print(text(result))
    _report(result)
    return EXIT_OK


def _report(answer: Answer[Any]) -> None:
    """One line on stderr saying who answered, so scripts can keep stdout clean."""
    for notice in answer.notices:
        print(f"switchboard: {notice}", file=sys.stderr)
    print(f"switchboard: {answer.describe()}", file=sys.stderr)


def _print_json(data: dict[str, Any]) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


async def _team_stats(engine: Engine, *, as_json: bool) -> int:
    from .gateway.team import TeamUnavailable  # the Redis client, only when asked for

    try:
        report = await engine.team_stats()
    except TeamUnavailable as exc:
        return fail(EXIT_ERROR, f"cannot read the team's figures: {exc}.")
    if report is None:
        return fail(
            EXIT_CONFIG,
            "stats --team needs a shared cache: set [cache] url (or url_env) in your user config.",
        )
    return _print_stats(report, as_json=as_json)


def _print_stats(report: StatsReport, *, as_json: bool) -> int:
    if as_json:
        _print_json(report.to_json())
        return EXIT_OK
    team = report.team
    if team is not None:
        print(f"Team figures for namespace {team.namespace} at {team.redis}\n")
    _print_models(report.models)
    cache = report.cache
    if cache is not None:
        label = "team cache" if team is not None else "cache"
        print(f"\n{label}: {cache.entries} entries, {cache.bytes / 1024:.0f} KiB")
    if team is not None:
        for name, health in report.providers.items():
            if isinstance(health, TeamHealth) and health.state == "cooling_down":
                print(
                    f"provider {name}: cooling down for the team, {health.cooling_for_s or 0:.0f} "
                    f"s left ({health.outcome})"
                )
    for route, order in (report.route_orders or {}).items():
        print(f"\nroute {route} ({order['strategy']}): {' -> '.join(order['order'])}")
        print(f"  why: {order['why']}")
    if report.budget:
        from .models_command import budget_lines

        print("\n" + "\n".join(budget_lines(report.budget)))
    return EXIT_OK


def _print_models(models: Sequence[ModelRow]) -> None:
    if not models:
        print("No requests recorded yet.")
    else:
        header = (
            "model",
            "provider",
            "requests",
            "ok",
            "avail",
            "failures",
            "p50 ms",
            "p95 ms",
            "tokens in/out",
            "cost $",
            "$/Mtok in/out",
            "cache fresh/stale",
        )
        rows = [
            (
                row.figures.model,
                row.figures.provider,
                str(row.figures.requests),
                str(row.figures.ok),
                _percent(row.availability),
                _failures(row.figures.failures),
                _num(row.p50_ms),
                _num(row.p95_ms),
                f"{row.figures.prompt_tokens}/{row.figures.completion_tokens}",
                _money(row.cost_usd),
                _price(row.price),
                f"{row.figures.cache_fresh}/{row.figures.cache_stale}",
            )
            for row in models
        ]
        print(_table(header, rows))
        _print_suggestions(models)


def _print_suggestions(models: Sequence[ModelRow]) -> None:
    """Inline completion per model, only once there is any: most users never see this table."""
    used = [row for row in models if row.figures.shown or row.figures.accepted]
    if not used:
        return
    header = ("model", "suggestions shown", "accepted", "rate", "p50 ms", "p95 ms")
    rows = [
        (
            row.figures.model,
            str(row.figures.shown),
            str(row.figures.accepted),
            _percent(row.acceptance_rate),
            _num(row.suggestion_p50_ms),
            _num(row.suggestion_p95_ms),
        )
        for row in used
    ]
    print()
    print(_table(header, rows))


def _money(usd: float) -> str:
    """Enough digits to see a cost of a few tokens, which .4f would show as zero."""
    return "0" if usd == 0 else f"{usd:.6f}" if usd < 0.01 else f"{usd:.2f}"


def _percent(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio * 100:.0f}%"


def _price(price: Price | None) -> str:
    """USD per million tokens in and out, and where that came from ('-' where unknown)."""
    if price is None:
        return "-"
    where = f" ({price.source.value})"
    if not price.known:
        return "-" + where
    return f"{price.input_per_mtok:g}/{price.output_per_mtok:g}{where}"


def _failures(kinds: dict[str, int]) -> str:
    if not kinds:
        return "0"
    return ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
