"""Verifying a model's edit with the tool that raised the diagnostic it was for.

The checker runs on the original text first, to find the diagnostic in its own words (an
editor may word it differently), then on the edited text. The edit is verified when that
diagnostic is gone from the edited lines and the checker reports no error there that was not
there before; rejected otherwise, with the checker's reason. A checker that is missing,
crashes or is too slow gives no verdict: the edit is offered as not verified.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config
from .diagnostics import CheckDiagnostic
from .registry import Checker, checker_for, checkers_for_language
from .runner import CheckerUnavailable, run_checker

# Never less than this for one checker run; and a run ends this long before the deadline, so
# that a slow checker leaves the fix to land, not verified, instead of timing the task out.
_MIN_RUN_S = 0.5
_RESERVE_S = 0.5


@dataclass(frozen=True, slots=True)
class Target:
    """The diagnostic a fix is for: who raised it, its code and message, its lines (0-based)."""

    source: str | None
    code: str | None
    message: str
    line: int
    end_line: int

    @classmethod
    def of(cls, diagnostic: CheckDiagnostic) -> Target:
        return cls(
            diagnostic.source,
            diagnostic.code,
            diagnostic.message,
            diagnostic.line,
            diagnostic.end_line,
        )


@dataclass(frozen=True, slots=True)
class Verification:
    status: str  # "verified", "rejected" or "not_verified"
    checker: str | None = None
    reason: str = ""

    @property
    def verified(self) -> bool:
        return self.status == "verified"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "verified_by": self.checker if self.verified else None,
            "verification": self.status,
        }
        if self.reason:
            data["verification_detail"] = self.reason
        return data


def _overlaps(diagnostic: CheckDiagnostic, first: int, last: int) -> bool:
    return diagnostic.line <= last and diagnostic.end_line >= first


class Verifier:
    """Verdicts on the edits of one file, for one diagnostic. The checker's view of the original
    is computed once and shared by every model's edit."""

    def __init__(
        self,
        config: Config,
        path: Path,
        original: str,
        language: str,
        target: Target | None,
        *,
        root: Path | None,
        withheld: Iterable[str] = (),
    ) -> None:
        self.config = config
        self.path = path
        self.original = original
        self.target = target
        self.root = root
        self.withheld = tuple(withheld)
        self.checker: Checker | None = (
            checker_for(target.source, language, config, root) if target is not None else None
        )
        self._before: asyncio.Future[list[CheckDiagnostic]] | None = None

    async def verify(
        self, new_text: str, start: int, end: int, new_last: int, time_left_s: float
    ) -> Verification:
        """The verdict on replacing lines start..end with lines start..new_last of `new_text`."""
        target, checker = self.target, self.checker
        if target is None:
            return Verification("not_verified", None, "no diagnostic to verify against")
        if checker is None:
            return Verification(
                "not_verified", None, f"no checker for {target.source or 'it'} is installed"
            )
        started = time.monotonic()
        try:
            before = await self._original(checker, time_left_s)
            subject = _find(before, target)
            if subject is None:
                return Verification(
                    "not_verified",
                    checker.name,
                    f"{checker.name} does not report it on the original",
                )
            after = await self._run(checker, new_text, time_left_s - (time.monotonic() - started))
        except CheckerUnavailable as exc:
            return Verification("not_verified", checker.name, str(exc))
        delta = new_last - end
        first, last = start, max(start, new_last)
        if subject.line > end:  # outside the edit: it moved with the lines after it
            first, last = subject.line + delta, subject.end_line + delta
        for item in after:
            same = item.code == subject.code and item.message == subject.message
            if same and _overlaps(item, first, last):
                what = subject.code or subject.message
                why = f"{checker.name} still reports {what} on line {item.line + 1}"
                return Verification("rejected", checker.name, why)
        existing = {(d.code, d.message) for d in before if _overlaps(d, start, end)}
        for item in after:
            if (
                item.severity == "error"
                and _overlaps(item, start, max(start, new_last))
                and (item.code, item.message) not in existing
            ):
                what = f"{item.code} {item.message}" if item.code else item.message
                why = f"{checker.name} reports a new error on line {item.line + 1}: {what}"
                return Verification("rejected", checker.name, why)
        return Verification("verified", checker.name)

    async def _original(self, checker: Checker, time_left_s: float) -> list[CheckDiagnostic]:
        if self._before is None:
            self._before = asyncio.ensure_future(self._run(checker, self.original, time_left_s))
        return await asyncio.shield(self._before)

    async def _run(self, checker: Checker, text: str, time_left_s: float) -> list[CheckDiagnostic]:
        cap = checker.timeout_s or self.config.verify.timeout_s
        cap = min(cap, max(_MIN_RUN_S, time_left_s - _RESERVE_S))
        return await run_checker(
            checker, self.path, text, root=self.root, timeout_s=cap, withheld=self.withheld
        )


def _find(diagnostics: list[CheckDiagnostic], target: Target) -> CheckDiagnostic | None:
    """The checker's own report of the target: same code (or message) on its lines."""
    candidates = [
        d
        for d in diagnostics
        if _overlaps(d, target.line, target.end_line)
        and (
            d.same_problem(target.code, target.message)
            if target.code
            else d.message.strip() == target.message.strip()
        )
    ]
    if not candidates:
        return None
    same_message = [d for d in candidates if d.message.strip() == target.message.strip()]
    return (same_message or candidates)[0]


async def diagnostics_on(
    config: Config,
    path: Path,
    text: str,
    language: str,
    first: int,
    last: int,
    *,
    root: Path | None,
    withheld: Iterable[str] = (),
    source: str | None = None,
) -> list[CheckDiagnostic]:
    """What the installed checkers for `language` report on lines first..last of `text` (for
    the command line, which has no editor to say which diagnostic a fix is for): the quick
    linters, at once, or the checker that answers for `source`."""
    chosen = [
        checker
        for checker in checkers_for_language(language, config, root)
        if (checker.answers_for(source) if source else checker.quick)
    ]

    async def check(checker: Checker) -> list[CheckDiagnostic]:
        cap = checker.timeout_s or config.verify.timeout_s
        try:
            reported = await run_checker(
                checker, path, text, root=root, timeout_s=cap, withheld=withheld
            )
        except CheckerUnavailable:
            return []
        return [d for d in reported if _overlaps(d, first, last)]

    return [d for found in await asyncio.gather(*map(check, chosen)) for d in found]
