"""`switchboard compare` from the shell: its options, and printing what `run` measured."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..exits import EXIT_OK, UsageError
from .asks import CompareAsk, diagnostics_of, explain_asks, fix_asks, read_diagnostics, review_asks
from .chart import chart_html
from .report import figures, suggest, suggested_toml, table
from .run import Trial, run_compare

if TYPE_CHECKING:
    from ..checks import Target
    from ..engine import Engine


async def build_asks(
    engine: Engine, args: argparse.Namespace, tasks: list[str]
) -> list[CompareAsk]:
    from ..files import read_source

    sources = {str(path): read_source(path) for path in args.file}
    asks: list[CompareAsk] = []
    if "fix" in tasks:
        if args.diagnostics is not None:
            by_file: dict[str, list[Target]] = {}
            for name, target in read_diagnostics(args.diagnostics):
                by_file.setdefault(name, []).append(target)
            for name, targets in by_file.items():
                source = sources.get(name) or read_source(Path(name))
                asks += fix_asks(engine, source, targets)
        else:
            for source in sources.values():
                asks += fix_asks(engine, source, await diagnostics_of(engine, source))
    if "review" in tasks:
        asks += review_asks(engine, list(sources.values()))
    if "explain" in tasks:
        if not args.line:
            raise UsageError("--task explain needs --line N")
        for source in sources.values():
            asks += explain_asks(engine, source, args.line)
    return asks


def _models(engine: Engine, args: argparse.Namespace, tasks: list[str]) -> list[str]:
    config = engine.config
    if args.models:
        models = [m.strip() for m in args.models.split(",") if m.strip()]
    else:
        models = list(dict.fromkeys(a for task in tasks for a in config.route(task)))
    unknown = [m for m in models if m not in config.models]
    if unknown:
        raise UsageError(f"unknown model alias {unknown[0]!r} (see `switchboard config check`)")
    if not models:
        raise UsageError("no models to compare: name them with --models")
    return models


def _progress(done: int, total: int, trial: Trial) -> None:
    verdict = "usable" if trial.usable else trial.failure
    print(
        f"[{done}/{total}] {trial.model} {trial.task} {trial.label}: {verdict} ({trial.ms:.0f} ms)",
        file=sys.stderr,
    )


async def compare_command(engine: Engine, args: argparse.Namespace) -> int:
    tasks = list(dict.fromkeys(args.task or ["fix"]))
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    models = _models(engine, args, tasks)
    asks = await build_asks(engine, args, tasks)
    if not asks:
        raise UsageError("nothing to compare on: no diagnostics, files or lines gave an ask")
    trials = await run_compare(
        engine, asks, models, jobs=args.jobs, max_cost_usd=args.max_cost, progress=_progress
    )
    rows = figures(trials)
    routes = suggest(rows)
    if args.chart is not None:
        args.chart.write_text(chart_html(rows), encoding="utf-8")
        print(f"switchboard: wrote the chart to {args.chart}", file=sys.stderr)
    if args.json:
        data = {
            "models": [row.to_json() for row in rows],
            "suggested_routes": routes,
            "suggested_toml": suggested_toml(routes),
            "trials": [trial.to_json() for trial in trials],
            "cost_usd": sum(t.cost_usd for t in trials),
        }
        print(json.dumps(data, indent=2))
        return EXIT_OK
    sys.stdout.write(table(rows))
    sys.stdout.write("\n# Suggested routes, from these figures (paste into your config):\n")
    sys.stdout.write(suggested_toml(routes))
    print(
        f"switchboard: {len(trials)} answers cost ${sum(t.cost_usd for t in trials):.6f}",
        file=sys.stderr,
    )
    return EXIT_OK
