"""Asks from the user's own code: fixes for diagnostics, reviews of files, explanations of lines."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exits import UsageError

if TYPE_CHECKING:
    from ..checks import Target
    from ..engine import Engine
    from ..gateway import Ask
    from ..tasks import Source


@dataclass(frozen=True, slots=True)
class CompareAsk:
    """One ask to send to every model, with a label for progress and the report."""

    task: str
    label: str
    ask: Ask[Any]


def read_diagnostics(path: Path) -> list[tuple[str, Target]]:
    """(file, target) per diagnostic of a linter's JSON: ruff's `--output-format json` list,
    or any list of objects with `filename`, `code`, `message`, `location.row` (1-based)."""
    from ..checks import Target

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read diagnostics JSON ({exc})") from None
    if not isinstance(data, list):
        raise UsageError(f"{path}: expected a JSON list of diagnostics")
    found: list[tuple[str, Target]] = []
    for item in data:
        try:
            line = int(item["location"]["row"]) - 1
            end = int((item.get("end_location") or item["location"])["row"]) - 1
            target = Target(
                str(item.get("source") or "ruff"),
                item.get("code"),
                str(item["message"]),
                line,
                max(line, end),
            )
            found.append((str(item["filename"]), target))
        except (KeyError, TypeError, ValueError):
            raise UsageError(f"{path}: a diagnostic lacks filename, message or location") from None
    return found


async def diagnostics_of(engine: Engine, source: Source) -> list[Target]:
    """The errors the installed checkers report on the whole of `source`, one per span of
    lines (two checkers reporting the same undefined name make one ask, the first checker's).
    Warnings are left out, as `switchboard fix` leaves them out unasked."""
    from ..checks.verify import Target, diagnostics_on
    from ..engine import withheld_variables

    if source.path is None:
        return []
    found = await diagnostics_on(
        engine.config,
        Path(source.path),
        source.text,
        source.language,
        0,
        max(0, source.line_count - 1),
        root=engine.root,
        withheld=withheld_variables(engine.config),
    )
    spans: dict[tuple[int, int], Target] = {}
    for d in found:
        if d.severity == "error":
            spans.setdefault((d.line, d.end_line), Target.of(d))
    return list(spans.values())


def fix_asks(engine: Engine, source: Source, targets: list[Target]) -> list[CompareAsk]:
    return [
        CompareAsk(
            "fix",
            f"{source.name}:{t.line + 1} {t.code or t.message}",
            engine.fix_ask(source, t.line, t.end_line, t.message, target=t),
        )
        for t in targets
    ]


def review_asks(engine: Engine, sources: list[Source]) -> list[CompareAsk]:
    return [CompareAsk("review", source.name, engine.review_ask(source)) for source in sources]


def explain_asks(engine: Engine, source: Source, lines: list[int]) -> list[CompareAsk]:
    asks = []
    for line in lines:
        if not 1 <= line <= source.line_count:
            raise UsageError(f"--line {line} is outside {source.name}")
        asks.append(
            CompareAsk("explain", f"{source.name}:{line}", engine.explain_ask(source, line - 1))
        )
    return asks
