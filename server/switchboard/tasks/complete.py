"""Inline completion: what to insert at the cursor, asked as fill-in-the-middle or as chat.

The answer is cleaned until it is only code to insert: no reasoning, fences or prose, nothing
that repeats what already follows the cursor, nothing past the end of the block being written.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from ..config import Config
from ..gateway import Ask, Fim, InvalidAnswer, Message, Prompt
from ..gateway.reasoning import answer_of
from .blocks import fenced_blocks
from .placeholders import is_placeholder
from .privacy import Redactor
from .source import Source
from .window import redacted_lines

CURSOR = "<CURSOR>"
# A suggestion is a few lines: more is a model that went on writing the rest of the file.
MAX_SUGGESTION_LINES = 12

COMPLETE_SYSTEM = (
    "You complete code at the cursor in a programmer's editor. You receive a {language} file "
    "around the cursor, marked " + CURSOR + ". Reply with ONLY the text to insert at the cursor: "
    "no explanation, no code fences, no repetition of the code before or after the cursor. "
    "Complete the current statement or block, at most a few lines. Leave placeholders like "
    "__SWB_SECRET_1__ exactly as they are."
)

# Chat models like to announce their answer; a first line like this is not code.
_PROSE = re.compile(
    r"^(?:here(?:'s| is)|sure|certainly|okay|of course|to complete\b|you can\b|"
    r"the (?:\w+ ){0,2}(?:completion|code|line|expression|statement)\b).*:\s*$",
    re.I,
)
# An answer that is only a sentence (a refusal, advice) is no code to insert.
_SENTENCE = re.compile(r"^[A-Z][\w'\u2019]*(?:[ ,]+[\w'\u2019-]+){3,}[.!?]$")
# A sentence around one span of code: words and punctuation outside it, nothing code-like.
_INLINE_CODE = re.compile(r"^([\w\s,.:;!?'\u2019-]*)`([^`\n]+)`([\w\s,.:;!?'\u2019-]*)$")
# Tokens of a model's vocabulary that a server passed on as text: what follows one (a FIM
# model going on to the next file, its end-of-text) is no part of the middle.
_SPECIAL_TOKEN = re.compile(
    r"<\|(?:endoftext|file_sep|fim_pad|fim_prefix|fim_suffix|fim_middle|im_end|eot_id|end|EOT|"
    r"repo_name)\|>|<\uff5c[^\uff5c\n]{1,40}\uff5c>"
    r"|<(?:file_sep|fim_pad|fim_middle|fim_suffix|fim_prefix)>|</s>\s*$"
)


@dataclass(frozen=True, slots=True)
class Suggestion:
    """Text to insert at the cursor; empty when there is nothing worth suggesting."""

    text: str

    def to_json(self) -> dict[str, str]:
        return {"text": self.text}


@dataclass(frozen=True, slots=True)
class CompletionContext:
    """The window around the cursor that is sent (already redacted), and where the cursor is."""

    prefix: str  # window start .. cursor
    suffix: str  # cursor .. window end
    line_before: str  # the cursor's line up to the cursor
    line_after: str  # the cursor's line from the cursor on


def completion_context(
    source: Source, line: int, character: int, before: int, after: int, redactor: Redactor
) -> CompletionContext:
    line = max(0, min(line, max(source.line_count - 1, 0)))
    lines = redacted_lines(source, line - before, line + after + 1, redactor)
    current = lines[line] if lines else ""
    # The redacted line can differ in length; the cursor keeps its place when it does not.
    text = current.rstrip("\r\n")
    character = max(0, min(character, len(text)))
    head, tail = text[:character], current[character:]
    prefix = "".join(lines[max(0, line - before) : line]) + head
    suffix = tail + "".join(lines[line + 1 : line + after + 1])
    return CompletionContext(prefix, suffix, head, tail.rstrip("\r\n"))


def complete_prompt(source: Source, context: CompletionContext, max_tokens: int | None) -> Prompt:
    system = COMPLETE_SYSTEM.format(language=source.language)
    user = f"File: {source.name}\n\n{context.prefix}{CURSOR}{context.suffix}"
    return Prompt(
        messages=(Message("system", system), Message("user", user)),
        max_output_tokens=max_tokens,
        quick=True,
        fim=Fim(context.prefix, context.suffix),
        stop=("\n\n\n",),
        cut_off_ok=True,
    )


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _unfenced(text: str) -> str:
    """The code of a fenced answer (its first block), prose around it dropped."""
    if "```" not in text and "~~~" not in text:
        return text
    blocks = fenced_blocks(text)
    return blocks.blocks[0].body if len(blocks) else text


def _drop_repeated_suffix(text: str, suffix: str, line_after: str) -> str:
    """`text` without what already follows the cursor: a tail that is the suffix's beginning,
    or trailing lines the suffix starts with."""
    if not text or not suffix:
        return text
    # The longest tail of `text` that is a head of the suffix: at least 3 characters, or all
    # the rest of the cursor's line (`))`); a shorter overlap, like one closing bracket of
    # several, is as likely new text as repeated.
    for size in range(min(len(text), len(suffix)), 0, -1):
        tail = text[-size:]
        if suffix.startswith(tail) and tail.strip() and (size >= 3 or tail == line_after):
            return text[:-size]
    lines = text.split("\n")
    after = [line.strip() for line in suffix.split("\n") if line.strip()]
    if not after:
        return text
    # Whole lines the model wrote again, compared without indentation.
    for count in range(min(len(lines) - 1, len(after)), 0, -1):
        tail_lines = [line.strip() for line in lines[-count:]]
        if tail_lines == after[:count]:
            return "\n".join(lines[:-count])
    return text


def _to_end_of_block(text: str, line_before: str) -> str:
    """`text` up to the end of the block the cursor is in: a later line indented less than the
    cursor's line starts something the user has not asked for."""
    lines = text.split("\n")
    base = _indent(line_before) if line_before.strip() else len(line_before)
    kept = [lines[0]]
    for line in lines[1 : MAX_SUGGESTION_LINES + 1]:
        if line.strip() and _indent(line) < base:
            break
        kept.append(line)
    return "\n".join(kept[:MAX_SUGGESTION_LINES])


def _rebased(text: str, indentation: str) -> str:
    """A block the model wrote less indented than the cursor (in `indentation`): its first
    line goes at the cursor, the others move right by what the first one lacked. Later lines
    indented to the cursor's column or past it were written where they go (a FIM model's
    middle, a chat model's absolute text) and stay, unless the first line opens a block they
    should be inside."""
    lines = text.split("\n")
    first = _indent(lines[0])
    if first >= len(indentation):
        return text
    # Up to the first blank line: what comes after one may be past the block (cut later).
    later = list(itertools.takewhile(str.strip, lines[1:]))
    if not later:
        return "\n".join([lines[0][first:], *lines[1:]])
    opens_block = lines[0].rstrip().endswith((":", "{"))
    relative = min(_indent(line) for line in later) < len(indentation) or (
        opens_block and _indent(later[0]) <= len(indentation)
    )
    if not relative:
        return lines[0][first:] + ("\n" + "\n".join(lines[1:]) if len(lines) > 1 else "")
    shift = indentation[first:]
    rest = [shift + line if line.strip() else line for line in lines[1:]]
    return "\n".join([lines[0][first:], *rest])


def _without_special_tokens(text: str) -> str:
    """`text` up to the first special token the server let through (one in front dropped)."""
    while (found := _SPECIAL_TOKEN.search(text)) is not None:
        if text[: found.start()].strip():
            return text[: found.start()]
        text = text[found.end() :]
    return text


def _inline_code_of(text: str) -> str:
    """The code of a one-line sentence around one inline code span ("Use `sum(xs)`.")."""
    found = _INLINE_CODE.match(text.strip())
    if found is None or "\n" in text:
        return text
    outside = found.group(1) + found.group(3)
    return found.group(2) if re.search(r"[A-Za-z]{2}", outside) else text


def _after_echoed_code(text: str, context: CompletionContext) -> str:
    """An answer that wrote out the code before the cursor again (the whole function, say),
    from the cursor's own line on."""
    lines = text.split("\n")
    before = [line.strip() for line in context.prefix.split("\n")[:-1]]
    # It starts with the lines just before the cursor's: they are there already.
    for count in range(min(len(lines) - 1, len(before)), 0, -1):
        if [line.strip() for line in lines[:count]] == before[-count:] and any(before[-count:]):
            return "\n".join(lines[count:])
    head = context.line_before.strip()
    if not head:
        return text
    earlier = set(before)
    for number, line in enumerate(lines):
        if line.strip().startswith(head):
            echoed = lines[:number]
            if number and all(not old.strip() or old.strip() in earlier for old in echoed):
                return "\n".join(lines[number:])
            return text
    return text


def refusal(answer: str, suggestion: str) -> str | None:
    """Why a cleaned suggestion must not be offered, or None: a diff, a sentence, or a stand-in
    for code, none of them text to insert."""
    body = answer_of(answer)
    if re.search(r"^(?:```|~~~)\s*(?:diff|patch)\b", body, re.M):
        return "the answer is a diff, not text to insert"
    lines = [line for line in suggestion.split("\n") if line.strip()]
    changed = [line for line in lines if line[:1] in "+-" and not line.startswith(("++", "--"))]
    if len(lines) > 1 and len(changed) == len(lines):
        return "the answer is a diff, not text to insert"
    if len(lines) == 1 and _SENTENCE.match(lines[0].strip()) and "```" not in body:
        return "the answer is prose, not code"
    if any(is_placeholder(line) for line in lines):
        return "the answer stands in for code with a placeholder"
    return None


def clean_suggestion(answer: str, context: CompletionContext) -> str:
    """What to insert, from a model's raw answer (see the module docstring)."""
    text = answer_of(answer).replace("\r\n", "\n").replace("\r", "\n")
    text = _without_special_tokens(text)
    text = _unfenced(text)
    text = _inline_code_of(text)
    lines = text.split("\n")
    while lines and _PROSE.match(lines[0].strip()):
        lines.pop(0)
    text = _after_echoed_code("\n".join(lines), context)
    # A chat model often writes the whole current line again: keep only what is new.
    head = context.line_before
    if head.strip() and text.lstrip().startswith(head.strip()) and not text.startswith(head):
        text = text.lstrip()[len(head.strip()) :]
    elif head and text.startswith(head):
        # Also the cursor in a line's indentation: the answer's own indentation replaces it.
        text = text[len(head) :]
    elif head and not head.strip():
        text = _rebased(text, head)
    if head.strip() and head[-1] in " \t":
        text = text.lstrip(" \t")  # the space is typed already: `total = ` + `sum(...)`
    text = text.rstrip()
    text = _to_end_of_block(text, head)
    return fit_after_cursor(text, context.suffix, context.line_after)


def fit_after_cursor(text: str, suffix: str, line_after: str) -> str:
    """`text` as an insertion before `suffix` (what follows the cursor; `line_after` is its
    part on the cursor's line): without what is there already, one line if code follows."""
    text = _drop_repeated_suffix(text, suffix, line_after).rstrip()
    if line_after.strip() and "\n" in text:
        # Code follows the cursor on its line: only an insertion within the line fits there.
        text = text.split("\n", 1)[0]
    return text


def complete_ask(config: Config, source: Source, line: int, character: int) -> Ask[Suggestion]:
    """The `complete` task for a cursor at (line, character), 0-based, UTF-16 not assumed."""
    knobs = config.task("complete")
    redactor = Redactor(enabled=config.privacy.redact_secrets)
    context = completion_context(
        source, line, character, knobs.context_lines, knobs.context_lines_after, redactor
    )
    prompt = complete_prompt(source, context, knobs.max_output_tokens)

    def parse(answer: str) -> Suggestion:
        text = redactor.restore(clean_suggestion(answer, context))
        if not text.strip():
            raise InvalidAnswer("the suggestion is empty")
        why = refusal(answer, text)
        if why is not None:
            raise InvalidAnswer(why)
        return Suggestion(text)

    return Ask(task="complete", route="complete", prompt=prompt, parse=parse)
