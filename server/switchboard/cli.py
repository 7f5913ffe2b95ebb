"""The `switchboard` command: the language server, and the gateway's tasks from the shell.

How a command ends (exit codes, usage errors) is `exits.py`'s, shared with `commands.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from . import __version__
from .compare import options as compare_options
from .config import Config, ConfigError, load_config
from .config.secrets import secret_values
from .config.team import redis_url
from .exits import EXIT_CONFIG, EXIT_ERROR, EXIT_OK, UsageError, fail
from .logs import ScrubSecrets, setup_logging
from .review_ci import options as review_options

log = logging.getLogger(__name__)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse exits 2, which here means "configuration error": usage errors are 1.
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"switchboard: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    # The shared options are accepted before and after the command; SUPPRESS keeps a
    # subcommand from resetting a value given before it. A _Parser like the others: typeshed
    # types a subparser's parents as its parser_class (argparse only copies their options).
    common = _Parser(add_help=False, argument_default=argparse.SUPPRESS)
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
    fix.add_argument(
        "--source", metavar="TOOL", help="the checker that reported it (default: any installed)"
    )
    fix.add_argument("--code", help="the diagnostic's code (e.g. F821), to find it on the lines")
    fix.add_argument(
        "--no-verify", action="store_true", help="do not run the diagnostic's checker on the fix"
    )
    fix.add_argument(
        "--verified-only",
        action="store_true",
        help="with --apply, write the fix only if its checker verified it (else exit 4)",
    )

    explain = commands.add_parser("explain", parents=[common], help="explain the code at a line")
    explain.add_argument("file", type=Path)
    explain.add_argument("--line", type=int, required=True, help="line (1-based)")
    explain.add_argument("--json", action="store_true", help="print one JSON object")

    complete = commands.add_parser(
        "complete", parents=[common], help="suggest code at a cursor (inline completion)"
    )
    complete.add_argument("file", type=Path)
    complete.add_argument("--line", type=int, required=True, help="line (1-based)")
    complete.add_argument(
        "--column", type=int, help="column (1-based, in characters; default: the end of the line)"
    )
    complete.add_argument(
        "--apply", action="store_true", help="insert the suggestion into the file"
    )
    complete.add_argument("--json", action="store_true", help="print one JSON object")

    review = commands.add_parser(
        "review", parents=[common], help="review files, or a patch (--diff, --staged)"
    )
    review_options.add_arguments(review)
    review.add_argument(
        "--estimate", action="store_true", help="print the estimated cost; call no model"
    )

    models = commands.add_parser(
        "models", parents=[common], help="the models each provider offers, with prices"
    )
    models.add_argument("--json", action="store_true", help="print one JSON object")

    compare = commands.add_parser(
        "compare", parents=[common], help="the same asks to several models, side by side"
    )
    compare_options.add_arguments(compare)

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
        return fail(EXIT_CONFIG, str(exc))
    secrets = secret_values(config, os.environ)
    setup_logging(level, secrets=secrets)
    if args.command == "lsp":
        from .lsp.server import serve

        return serve(config, tcp=args.tcp)
    if args.command == "config":
        return _config_check(config)
    from .commands import run_task  # the gateway and its HTTP stack: only for these commands

    try:
        return asyncio.run(run_task(args, config))
    except UsageError as exc:
        return fail(EXIT_ERROR, str(exc))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug of ours: one sentence, the traceback only with -vv
        log.debug("unexpected error", exc_info=True)
        what = ScrubSecrets(secrets).scrub(f"{type(exc).__name__}: {exc}")
        return fail(EXIT_ERROR, f"unexpected error ({what}); run with -vv to see where.")


# -- config -------------------------------------------------------------------------------------


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
    _prices_check(config)
    print("routes:")
    for route, chain in config.routes.items():
        described = []
        for alias in chain:
            model = config.models[alias]
            described.append(f"{alias} ({model.provider}:{model.model})")
        print(f"  {route}: {' -> '.join(described) if described else '(empty)'}")
    _strategies_check(config)
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


def _prices_check(config: Config) -> None:
    """Each model's price and where it came from (looked-up prices as last saved)."""
    from .gateway.prices import PriceBook, default_prices_path

    book = PriceBook(config, Path(config.prices.path or default_prices_path()))
    print("prices (USD per million tokens in/out):")
    for alias in config.models:
        price = book.price(alias)
        figures = f"{price.input_per_mtok:g}/{price.output_per_mtok:g}" if price.known else "-"
        print(f"  {alias}: {figures} ({price.source})")


def _strategies_check(config: Config) -> None:
    """Each route with a strategy: the order it would take now, from the usage figures."""
    if not config.strategies:
        return
    from .gateway.prices import PriceBook, default_prices_path
    from .gateway.strategy import RouteOrders, measurer
    from .gateway.usage import UsageLog, default_usage_path

    book = PriceBook(config, Path(config.prices.path or default_prices_path()))
    usage = UsageLog(config.usage.path or default_usage_path())
    try:
        orders = RouteOrders(config, measurer(usage.recent_latencies, book.price))
        print("route strategies (the order in use now, and why):")
        for route, order in orders.snapshot(0.0).items():
            strategy = config.strategies[route]
            print(f"  {route}: {order['strategy']}, every {strategy.refresh_s:g}s: ", end="")
            print(f"{' -> '.join(order['order'])} ({order['why']})")  # type: ignore[arg-type]
    finally:
        usage.close()


def _team_check(config: Config) -> None:
    """Where the team cache is (never its password), or why team mode is off."""
    cache = config.cache
    url = redis_url(cache, os.environ)
    if url is None:
        if cache.url_env:
            print(f"warning: ${cache.url_env} is not set; team mode is off")
        return
    # These import the Redis client: team mode only.
    from .gateway.team.connection import describe_url
    from .gateway.team.keys import policy_namespace

    namespace = cache.namespace or policy_namespace(config)
    print(f"team cache: {describe_url(url)}, namespace {namespace}")
    if cache.password_env and not os.environ.get(cache.password_env):
        print(f"warning: ${cache.password_env} is not set; connecting without a password")


if __name__ == "__main__":
    sys.exit(main())
