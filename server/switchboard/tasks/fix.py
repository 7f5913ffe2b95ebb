"""Edits of a range: fixing a diagnostic, rewriting a selection, or a user-defined action.

The model sees a bounded window around the lines, never the whole file, and answers with the
replacement for exactly those lines; the result is a minimal edit inside them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..gateway import Ask
from ..gateway.outcomes import EditQuality, Rejected
from ..gateway.policy import route_for_size
from .edits import LineReplacement, TextEdit
from .privacy import Redactor
from .prompts import edit_prompt
from .replacement import Region, read_replacement
from .source import Source, count_line_breaks
from .syntax import syntax_check
from .window import redacted_lines

if TYPE_CHECKING:
    from ..checks import Verification, Verifier

FIX_INSTRUCTION = "Fix this problem reported by a linter or compiler: {message}"
FIX_WITHOUT_MESSAGE = "Fix any bug in these lines."
REWRITE_INSTRUCTION = (
    "Improve these lines: make them clearer, simpler and more idiomatic without changing "
    "what they do."
)
DOCSTRING_INSTRUCTION = (
    "Add a concise docstring or doc comment to the function, class or module in these lines, "
    "in the language's usual style. Do not change any code."
)


@dataclass(frozen=True)
class EditResult:
    replacement: LineReplacement
    # What the diagnostic's own checker said of the edit; None when nothing was asked of it.
    verification: Verification | None = None

    @property
    def edit(self) -> TextEdit:
        return self.replacement.edit()

    @property
    def diff(self) -> str:
        return self.replacement.unified_diff()

    def to_json(self) -> dict[str, Any]:
        return {
            "diff": self.diff,
            "start_line": self.replacement.start + 1,
            "end_line": self.replacement.end + 1,
            "edit": self.edit.to_json(),
            **(
                self.verification.to_json()
                if self.verification is not None
                else {"verified_by": None, "verification": "not_verified"}
            ),
        }


def clamp_lines(source: Source, start: int, end: int) -> tuple[int, int]:
    """0-based inclusive line range, clamped into the file and put in order."""
    last = max(0, source.line_count - 1)
    start, end = max(0, min(start, last)), max(0, min(end, last))
    return min(start, end), max(start, end)


def edit_ask(
    config: Config,
    source: Source,
    start: int,
    end: int,
    *,
    instruction: str,
    task: str = "fix",
    route: str | None = None,
    verifier: Verifier | None = None,
) -> Ask[EditResult]:
    """Ask for a replacement of lines start..end (0-based, inclusive)."""
    start, end = clamp_lines(source, start, end)
    knobs = config.task(task)
    route = route or route_for_size(task, end - start + 1, knobs.large_fix_lines, config.routes)
    redactor = Redactor(enabled=config.privacy.redact_secrets)
    context = knobs.context_lines
    lines = redacted_lines(source, start - context, end + 1 + context, redactor)
    prompt = edit_prompt(source, lines, start, end, instruction=instruction, context_lines=context)
    region = Region(source, start, end, context, keeps_lines=task == "fix")
    validate = syntax_check(source)

    def parse(answer: str) -> EditResult:
        return EditResult(read_replacement(region, redactor.restore(answer), validate))

    async def verify(result: EditResult, time_left_s: float) -> tuple[EditResult, EditQuality]:
        assert verifier is not None
        replacement = result.replacement
        new_last = replacement.start + max(0, count_line_breaks(replacement.new_lines) - 1)
        verdict = await verifier.verify(
            replacement.new_text(), replacement.start, replacement.end, new_last, time_left_s
        )
        if verdict.status == "rejected":
            raise Rejected(verdict.reason)
        quality = EditQuality.VERIFIED if verdict.verified else EditQuality.NOT_VERIFIED
        return dataclasses.replace(result, verification=verdict), quality

    return Ask(
        task=task,
        route=route,
        prompt=prompt,
        parse=parse,
        verify=verify if verifier is not None else None,
    )


def fix_instruction(message: str | None) -> str:
    return FIX_INSTRUCTION.format(message=message.strip()) if message else FIX_WITHOUT_MESSAGE
