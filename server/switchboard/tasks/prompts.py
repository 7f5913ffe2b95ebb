"""The prompt protocol every model can follow, fast or strong, local or hosted."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..gateway import Message, Prompt
from .blocks import fence_for
from .source import Source

EDIT_SYSTEM = (
    "You are a precise code editor working inside a programmer's editor. You receive part of a "
    "{language} file: the lines to change, in their own code block, with surrounding context "
    "given separately. Reply with the full replacement for exactly the lines to change, in ONE "
    "fenced code block, and nothing else: no explanation, no surrounding context, no line "
    "numbers. Keep the original indentation and style. Leave placeholders like __SWB_SECRET_1__ "
    "exactly as they are."
)

EXPLAIN_SYSTEM = (
    "You explain code to a programmer who is hovering over it in their editor. Answer in short "
    "markdown: two to five sentences or bullets, no headings, no restating of the code. Say what "
    "it does and anything surprising about it."
)

# How every review answers, whole file or patch.
_REVIEW_ANSWER = (
    "Report real problems only: bugs, security issues, broken error handling, clear performance "
    "problems; not style nits. Answer with JSON only, in this shape: "
    '{"findings": [{"line": 12, "end_line": 14, "severity": "error", "message": "what is wrong '
    'and why", "suggestion": "replacement code for lines line..end_line, or null"}]}. '
    "Lines are 1-based and refer to the numbers shown. severity is one of error, warning, info, "
    "hint. A suggestion must be the complete replacement of those lines, properly indented. Use "
    '{"findings": []} when there is nothing to report.'
)

REVIEW_SYSTEM = "You are a meticulous code reviewer. Review the whole file. " + _REVIEW_ANSWER

REVIEW_CHANGES_SYSTEM = (
    "You are a meticulous code reviewer reviewing a patch. You see one changed file with line "
    "numbers; a '>' after a line number marks a line the patch added or changed, and a line "
    "'...' stands for lines left out. Review the change: report the problems it introduces or "
    "leaves broken on the marked lines or right next to them, using the rest as context; do not "
    "report problems in code the patch did not touch. " + _REVIEW_ANSWER
)


def _block(code: str, language: str) -> str:
    fence = fence_for(code)
    return f"{fence}{language}\n{code}\n{fence}"


def _window(lines: Sequence[str], start: int, end: int, context: int) -> tuple[str, str, int, int]:
    """Context before and after lines start..end, at most `context` lines each side."""
    before_start = max(0, start - context)
    after_end = min(len(lines), end + 1 + context)
    before = "".join(lines[before_start:start])
    after = "".join(lines[end + 1 : after_end])
    return before.rstrip("\r\n"), after.rstrip("\r\n"), before_start, after_end


def edit_prompt(
    source: Source,
    redacted: Sequence[str],
    start: int,
    end: int,
    *,
    instruction: str,
    context_lines: int,
) -> Prompt:
    """Lines start..end to rewrite following `instruction` (0-based, inclusive).

    `redacted` holds the file's lines with secrets replaced (at least those that are sent).
    """
    language = source.language
    target = "".join(redacted[start : end + 1]).rstrip("\r\n")
    before, after, before_start, after_end = _window(redacted, start, end, context_lines)
    parts = [f"File: {source.name} ({language})", f"Task: {instruction}"]
    if before:
        parts.append(
            f"Context before (lines {before_start + 1}-{start}):\n{_block(before, language)}"
        )
    parts.append(f"Lines to change (lines {start + 1}-{end + 1}):\n{_block(target, language)}")
    if after:
        parts.append(f"Context after (lines {end + 2}-{after_end}):\n{_block(after, language)}")
    parts.append(
        f"Reply with the replacement for lines {start + 1}-{end + 1} only, "
        "in one fenced code block."
    )
    return Prompt(
        (
            Message("system", EDIT_SYSTEM.format(language=language)),
            Message("user", "\n\n".join(parts)),
        ),
        quick=True,
    )


def explain_prompt(
    source: Source, redacted: Sequence[str], line: int, symbol: str | None, *, context_lines: int
) -> Prompt:
    language = source.language
    before, after, before_start, _ = _window(redacted, line, line, context_lines)
    focus = redacted[line].rstrip("\r\n")
    code = "\n".join(part for part in (before, focus, after) if part)
    subject = f"`{symbol}` on line {line + 1}" if symbol else f"line {line + 1}"
    text = (
        f"File: {source.name} ({language}), lines {before_start + 1} onwards:\n"
        f"{_block(code, language)}\n\n"
        f"The line in question:\n{_block(focus.strip(), language)}\n\n"
        f"Explain {subject}."
    )
    messages = (Message("system", EXPLAIN_SYSTEM), Message("user", text))
    return Prompt(messages, max_output_tokens=400, quick=True)


def review_prompt(source: Source, redacted: Sequence[str]) -> Prompt:
    """The whole file, numbered."""
    numbered = _numbered(redacted, range(len(redacted)), None)
    text = (
        f"File: {source.name} ({source.language}), {source.line_count} lines:\n"
        f"{_block(numbered, source.language)}"
    )
    return Prompt((Message("system", REVIEW_SYSTEM), Message("user", text)), json_answer=True)


def review_changes_prompt(
    source: Source,
    redacted: Sequence[str],
    changed: Callable[[int], bool],
    regions: Sequence[tuple[int, int]] | None = None,
) -> Prompt:
    """The file numbered with its changed lines marked: all of it, or only `regions` (0-based,
    inclusive) when the whole file does not fit. Nothing in it varies between runs, so that a
    re-run on the same commit is answered from the cache."""
    if regions is None:
        shown: Sequence[range] = [range(len(redacted))]
        scope = f"{source.line_count} lines"
    else:
        shown = [range(start, end + 1) for start, end in regions]
        scope = f"{source.line_count} lines, the changed parts with their enclosing code"
    numbered = "\n...\n".join(_numbered(redacted, lines, changed) for lines in shown)
    if regions is not None and regions and regions[0][0] > 0:
        numbered = "...\n" + numbered
    if regions is not None and regions and regions[-1][1] < source.line_count - 1:
        numbered += "\n..."
    text = f"File: {source.name} ({source.language}), {scope}:\n{_block(numbered, source.language)}"
    messages = (Message("system", REVIEW_CHANGES_SYSTEM), Message("user", text))
    return Prompt(messages, json_answer=True)


def _numbered(redacted: Sequence[str], lines: range, changed: Callable[[int], bool] | None) -> str:
    width = len(str(len(redacted)))
    rows = []
    for n in lines:
        mark = "" if changed is None else ">" if changed(n) else " "
        rows.append(f"{n + 1:>{width}}{mark}| {redacted[n].rstrip(chr(13) + chr(10))}")
    return "\n".join(rows)
