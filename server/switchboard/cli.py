"""The `switchboard` command: the language server, and the gateway's tasks from the shell.

Exit codes: 0 answered (also from a stale cache), 2 configuration error, 3 nothing could answer
and nothing was cached, 1 anything else. Errors are one sentence on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from . import __version__
from .config import Config, ConfigError, load_config
from .config.team import redis_password, redis_url
from .engine import Engine
from .gateway import Answer, NoAnswer
from .gateway.provider import resolve_api_key
from .logs import ScrubSecrets, setup_logging
from .tasks import ExcludedFile, Source

EXIT_OK, EXIT_ERROR, EXIT_CONFIG, EXIT_NO_ANSWER = 0, 1, 2, 3

log = logging.getLogger(__name__)


class UsageError(Exception):
    """The command line or its inputs cannot be used; the message says why."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse exits 2, which here means "configuration error": usage errors are 1.
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"switchboard: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    # The shared options are accepted before and after the command; SUPPRESS keeps a
    # subcommand from resetting a value given before it.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--config", metavar="PATH", help="config file (default: see README)")
    common.add_argument(
        "-v", "--verbose", action="count", help="log more to stderr (-vv for debug)"
    )
    parser = _Parser(
        prog="switchboard",
        description="An AI language server with a model gateway inside.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"switchboard {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    lsp = commands.add_parser("lsp", parents=[common], help="run the language server (stdio)")
    lsp.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")

    fix = commands.add_parser("fix", parents=[common], help="fix lines of a file")
    fix.add_argument("file", type=Path)
    fix.add_argument("--line", type=int, required=True, help="first line (1-based)")
    fix.add_argument("--end-line", type=int, help="last line (1-based, default: --line)")
    fix.add_argument("--message", help="the problem to fix, e.g. a linter's message")
    fix.add_argument("--apply", action="store_true", help="write the fix into the file")
    fix.add_argument("--json", action="store_true", help="print one JSON object")

    explain = commands.add_parser("explain", parents=[common], help="explain the code at a line")
    explain.add_argument("file", type=Path)
    explain.add_argument("--line", type=int, required=True, help="line (1-based)")
    explain.add_argument("--json", action="store_true", help="print one JSON object")

    review = commands.add_parser("review", parents=[common], help="review a whole file")
    review.add_argument("file", type=Path)
    review.add_argument("--json", action="store_true", help="print one JSON object")

    stats = commands.add_parser("stats", parents=[common], help="per-model usage and health")
    stats.add_argument("--json", action="store_true", help="print one JSON object")
    stats.add_argument(
        "--team", action="store_true", help="the whole team's figures, from the shared Redis"
    )

    config = commands.add_parser("config", parents=[common], help="configuration commands")
    config_commands = config.add_subparsers(dest="config_command", metavar="ACTION")
    config_commands.required = True
    config_commands.add_parser("check", parents=[common], help="validate the configuration")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Parent parsers share their option objects, so defaults are applied here, not there.
    args.config = getattr(args, "config", None)
    args.verbose = getattr(args, "verbose", 0)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        setup_logging(level)
        return _fail(EXIT_CONFIG, str(exc))
    secrets = _keys(config)
    setup_logging(level, secrets=secrets)
    if args.command == "lsp":
        from .lsp.server import serve

        return serve(config, tcp=args.tcp)
    if args.command == "config":
        return _config_check(config)
    try:
        return asyncio.run(_run_task(args, config))
    except UsageError as exc:
        return _fail(EXIT_ERROR, str(exc))
    except ExcludedFile as exc:
        return _fail(EXIT_ERROR, str(exc))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug of ours: one sentence, the traceback only with -vv
        log.debug("unexpected error", exc_info=True)
        what = ScrubSecrets(secrets).scrub(f"{type(exc).__name__}: {exc}")
        return _fail(EXIT_ERROR, f"unexpected error ({what}); run with -vv to see where.")


def _keys(config: Config) -> list[str]:
    keys = [resolve_api_key(provider, os.environ) for provider in config.providers.values()]
    # The team Redis's password never reaches a log either, from the URL or the environment.
    url = redis_url(config.cache, os.environ)
    keys += [urlsplit(url).password if url else None, redis_password(config.cache, os.environ)]
    return [key for key in keys if key]


def _fail(code: int, message: str) -> int:
    print(f"switchboard: {message}", file=sys.stderr)
    return code


# -- tasks ------------------------------------------------------------------------------------


async def _run_task(args: argparse.Namespace, config: Config) -> int:
    engine = Engine.create(config, root=Path.cwd())
    try:
        if args.command == "stats":
            if args.team:
                return await _team_stats(engine, as_json=args.json)
            return _print_stats(engine.stats(), as_json=args.json)
        # A one-shot command may wait for the team's Redis (bounded); an editor never does.
        await engine.gateway.start()
        source = _read_source(args.file)
        if args.command == "fix":
            return await _fix(engine, source, args)
        if args.command == "explain":
            line = _line(args.line, source, "--line")
            return await _answer(
                engine.explain(source, line), args.json, lambda a: a.value.markdown
            )
        if args.command == "review":
            return await _answer(engine.review(source), args.json, _review_text(source))
        raise UsageError(f"unknown command {args.command}")
    finally:
        await engine.aclose()


def _read_source(path: Path) -> Source:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not a file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not valid UTF-8 text (byte {exc.start})") from None
    if "\0" in text:
        raise UsageError(f"{path} looks like a binary file (it contains NUL bytes)")
    return Source(text.removeprefix("\ufeff"), str(path))


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
    result = await _ask(engine.fix(source, start, end, args.message), args.json)
    if isinstance(result, int):
        return result
    applied = False
    if args.apply:
        _apply(args.file, source, result.value.replacement.new_text())
        applied = True
    if args.json:
        _print_json({**result.value.to_json(), "applied": applied, **result.envelope()})
    else:
        sys.stdout.write(result.value.diff)
        if applied:
            print(f"Applied the fix to {args.file}.", file=sys.stderr)
    _report(result)
    return EXIT_OK


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
        return _fail(EXIT_NO_ANSWER, str(failed))


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


def _review_text(source: Source) -> Callable[[Answer[Any]], str]:
    def render(answer: Answer[Any]) -> str:
        findings = answer.value.findings
        if not findings:
            return f"{source.path}: no findings"
        lines = []
        for finding in findings:
            where = f"{finding.line + 1}"
            if finding.end_line != finding.line:
                where += f"-{finding.end_line + 1}"
            lines.append(f"{source.path}:{where}: {finding.severity}: {finding.message}")
            if finding.fix is not None:
                lines.extend("    " + line for line in finding.fix.unified_diff().splitlines())
            elif finding.suggestion:
                lines.append(f"    suggestion: {finding.suggestion}")
        return "\n".join(lines)

    return render


def _report(answer: Answer[Any]) -> None:
    """One line on stderr saying who answered, so scripts can keep stdout clean."""
    for notice in answer.notices:
        print(f"switchboard: {notice}", file=sys.stderr)
    how = {"miss": "", "fresh": ", from the cache", "stale": ", from the cache (stale)"}
    failed = [a for a in answer.attempts if a.outcome != "ok"]
    fallback = ""
    if failed:
        fallback = " after " + "; ".join(f"{a.model}: {a.outcome.describe()}" for a in failed)
    print(
        f"switchboard: answered by {answer.model} ({answer.provider}){how[answer.cache]}{fallback}",
        file=sys.stderr,
    )


def _print_json(data: dict[str, Any]) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


# -- stats and config -------------------------------------------------------------------------


async def _team_stats(engine: Engine, *, as_json: bool) -> int:
    from .gateway.team import TeamUnavailable  # the Redis client, only when asked for

    try:
        stats = await engine.team_stats()
    except TeamUnavailable as exc:
        return _fail(EXIT_ERROR, f"cannot read the team's figures: {exc}.")
    if stats is None:
        return _fail(
            EXIT_CONFIG,
            "stats --team needs a shared cache: set [cache] url (or url_env) in your user config.",
        )
    if as_json:
        _print_json(stats)
        return EXIT_OK
    print(f"Team figures for namespace {stats['namespace']} at {stats['redis']}\n")
    _print_models(stats["models"])
    cache = stats.get("cache")
    if cache:
        print(f"\nteam cache: {cache['entries']} entries, {cache['bytes'] / 1024:.0f} KiB")
    for name, health in stats["providers"].items():
        if health["state"] == "cooling_down":
            print(
                f"provider {name}: cooling down for the team, {health['cooling_for_s']:.0f} s "
                f"left ({health['outcome']})"
            )
    return EXIT_OK


def _print_stats(stats: dict[str, Any], *, as_json: bool) -> int:
    if as_json:
        _print_json(stats)
        return EXIT_OK
    _print_models(stats["models"])
    cache = stats.get("cache")
    if cache:
        print(f"\ncache: {cache['entries']} entries, {cache['bytes'] / 1024:.0f} KiB")
    return EXIT_OK


def _print_models(models: list[dict[str, Any]]) -> None:
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
                m["model"],
                m["provider"],
                str(m["requests"]),
                str(m["ok"]),
                _percent(m.get("availability")),
                _failures(m["failures_by_kind"]),
                _num(m["p50_ms"]),
                _num(m["p95_ms"]),
                f"{m['prompt_tokens']}/{m['completion_tokens']}",
                _money(m["cost_usd"]),
                _price(m.get("price_per_mtok")),
                f"{m['cache_hits']['fresh']}/{m['cache_hits']['stale']}",
            )
            for m in models
        ]
        print(_table(header, rows))


def _money(usd: float) -> str:
    """Enough digits to see a cost of a few tokens, which .4f would show as zero."""
    return "0" if usd == 0 else f"{usd:.6f}" if usd < 0.01 else f"{usd:.2f}"


def _percent(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio * 100:.0f}%"


def _price(price: dict[str, float] | None) -> str:
    """USD per million tokens in and out, as configured ('-' where unknown)."""
    if not price:
        return "-"
    return f"{price['input']:g}/{price['output']:g}"


def _failures(kinds: dict[str, int]) -> str:
    if not kinds:
        return "0"
    return ", ".join(f"{n} {kind}" for kind, n in kinds.items())


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


def _config_check(config: Config) -> int:
    print(f"config: {config.source}")
    print("providers:")
    for name, provider in config.providers.items():
        if provider.api_key_env:
            present = "set" if os.environ.get(provider.api_key_env) else "NOT SET"
            key = f"key from ${provider.api_key_env} ({present})"
        elif provider.api_key:
            key = "key in the config file"
        else:
            key = "no key (keyless local server)"
        print(f"  {name}: {provider.base_url}, {key}")
    print("routes:")
    for route, chain in config.routes.items():
        described = []
        for alias in chain:
            model = config.models[alias]
            described.append(f"{alias} ({model.provider}:{model.model})")
        print(f"  {route}: {' -> '.join(described) if described else '(empty)'}")
    missing = [
        name
        for name, provider in config.providers.items()
        if provider.api_key_env
        and not os.environ.get(provider.api_key_env)
        and not provider.api_key
    ]
    if missing:
        print(
            f"warning: no key for {', '.join(missing)}; requests to them will fail as unauthorized"
        )
    _team_check(config)
    print("The configuration is valid.")
    return EXIT_OK


def _team_check(config: Config) -> None:
    """Where the team cache is (never its password), or why team mode is off."""
    cache = config.cache
    url = redis_url(cache, os.environ)
    if url is None:
        if cache.url_env:
            print(f"warning: ${cache.url_env} is not set; team mode is off")
        return
    from .gateway.team.keys import policy_namespace  # imports the Redis client: team mode only
    from .gateway.team.link import describe_url

    namespace = cache.namespace or policy_namespace(config)
    print(f"team cache: {describe_url(url)}, namespace {namespace}")
    if cache.password_env and not os.environ.get(cache.password_env):
        print(f"warning: ${cache.password_env} is not set; connecting without a password")


if __name__ == "__main__":
    sys.exit(main())
