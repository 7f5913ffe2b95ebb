"""Reading a model's answer as the replacement for the asked lines: exactly, or not at all.

The prompt asks for the replacement of lines start..end in one fenced block. Models answer in
many shapes; each is read into the same thing, a `LineReplacement` of exactly those lines, or
refused with the reason (which makes it that model's `invalid` answer, and the route goes on):

- reasoning before the answer is never read (`gateway.reasoning`);
- of several blocks, the one that replaces the asked lines is chosen: not a quote of the
  original, not a usage example, not a block in another language;
- a unified diff is applied where its old lines stand, or refused (`diffs`);
- code with no fence is taken once the prose around it is cut off;
- lines echoed from around the range, and the enclosing function's header, are dropped;
- indentation lost on the first line or the whole block comes back, tabs stay tabs;
- blank lines at the block's edges follow the original's, line endings the file's;
- a placeholder for existing code (`# ... rest unchanged ...`) is refused (`placeholders`),
  and so are diff markers, and answers that rewrite lines outside the range.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from ..gateway import InvalidAnswer
from ..gateway.reasoning import answer_of
from .blocks import fenced_blocks
from .diffs import apply_diff, looks_like_diff, parse_diff
from .edits import LineReplacement
from .placeholders import is_placeholder, placeholders_for_code
from .source import Source
from .syntax import Validator

MAX_ANSWER_CHARS = 200_000


@dataclass(frozen=True)
class Region:
    """The lines asked for (0-based, inclusive) and the window of context the model saw."""

    source: Source
    start: int
    end: int
    context: int = 30
    # A fix keeps most of the lines it replaces: an answer that leaves out most of them gave
    # only its new lines (small models do), and applying it would delete the rest.
    keeps_lines: bool = False

    @property
    def first(self) -> int:
        return max(0, self.start - self.context)

    @property
    def last(self) -> int:
        return min(self.source.line_count - 1, self.end + self.context)

    @cached_property
    def old(self) -> list[str]:
        return [self.source.line_text(i) for i in range(self.start, self.end + 1)]

    def text(self, line: int) -> str:
        return self.source.line_text(line)


@dataclass(frozen=True)
class _Candidate:
    kind: str  # "code" or "diff"
    body: str
    lead: str = ""  # the prose just before it
    language: str = ""
    order: int = 0


@dataclass(frozen=True)
class _Reading:
    replacement: LineReplacement
    score: float


def read_replacement(
    region: Region, answer: str, validate: Validator | None = None
) -> LineReplacement:
    """The replacement of `region`'s lines that `answer` gives; InvalidAnswer when it gives none
    that can be applied exactly. `validate` may refuse a reading (a syntax check, say): the
    next block is then considered."""
    if len(answer) > MAX_ANSWER_CHARS:
        raise InvalidAnswer("the answer is implausibly large")
    text = answer_of(answer).replace("\r\n", "\n").replace("\r", "\n")
    readings: list[_Reading] = []
    first_reason: str | None = None
    for candidate in _candidates(text, region.source.language):
        try:
            replacement = _interpret(region, candidate)
            if validate is not None:
                validate(replacement)
        except InvalidAnswer as exc:
            first_reason = first_reason or str(exc)
            continue
        readings.append(_Reading(replacement, _score(region, candidate, replacement)))
    if not readings:
        raise InvalidAnswer(first_reason or "the answer has no code")
    return max(readings, key=lambda reading: reading.score).replacement


# -- what in the answer could be the replacement -------------------------------------------------


def _candidates(text: str, language: str) -> Iterator[_Candidate]:
    blocks = fenced_blocks(text)
    if len(blocks):
        for order, block in enumerate(blocks):
            kind = "diff" if looks_like_diff(block.body, block.language) else "code"
            yield _Candidate(kind, block.body, _last_sentence(block.lead), block.language, order)
        return
    body = _unfenced(text, language)
    if body is not None:
        yield _Candidate("diff" if looks_like_diff(body) else "code", body)


_INLINE = re.compile(r"^`([^`\n]+)`$")
_INTRO = re.compile(
    r"^(?:sure|certainly|ok(?:ay)?|of course|here(?:'s| is| are)|below is|the (?:fixed|corrected"
    r"|updated|revised|new|replacement)|fixed|corrected|updated|revised|replacement)\b.*:$",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*")
_CODE_WORDS = re.compile(
    r"^(?:def|class|if|elif|else|for|while|with|try|except|finally|return|import|from|async|await"
    r"|function|const|let|var|public|private|protected|static|switch|case|yield|raise|throw|pub"
    r"|fn|func|package|type|interface|struct|enum|impl|use|module|export|echo|print|assert|do"
    r"|SELECT|INSERT|UPDATE|DELETE|CREATE|WITH)\b"
)
_CODE_MARKS = re.compile(r"[{}=<>\[\]`]|\w\(|;\s*$|::|->|=>|\+\+|&&|\|\|")
# Languages whose files are prose themselves: there, only an introduction is cut off.
_PROSE_LANGUAGES = frozenset({"markdown", "text", "rst", "plaintext"})


def _unfenced(text: str, language: str) -> str | None:
    """Code given without a fence, with any introduction and closing remark cut off; None when
    prose and code are mixed beyond that."""
    stripped = text.strip("\n")
    if not stripped.strip():
        return None
    inline = _INLINE.match(stripped.strip())
    if inline:
        return inline.group(1)
    lines = stripped.split("\n")
    if language in _PROSE_LANGUAGES:
        if _INTRO.match(lines[0].strip()):
            lines = lines[1:]
        return "\n".join(lines).strip("\n") or None
    while lines and (_INTRO.match(lines[0].strip()) or _is_prose(lines[0])):
        lines.pop(0)
        while lines and not lines[0].strip():
            lines.pop(0)
    while lines and (_is_prose(lines[-1]) or not lines[-1].strip()):
        lines.pop()
    if not lines or any(_is_prose(line) for line in lines):
        return None
    return "\n".join(lines)


def _is_prose(line: str) -> bool:
    """A sentence of explanation rather than a line of code: words, no code punctuation, no
    leading keyword, ending like a sentence (or a bullet of a list of remarks)."""
    text = line.strip()
    if not text or line[:1] in (" ", "\t"):
        return False
    bullet = re.match(r"^(?:[-*]|\d+[.)])\s+(?=[A-Za-z])", text)
    if bullet:
        text = text[bullet.end() :]
    if _CODE_WORDS.match(text) or _CODE_MARKS.search(text):
        return False
    return len(_WORD.findall(text)) >= 4 and (text[-1] in ".!?:" or bullet is not None)


def _last_sentence(lead: str) -> str:
    lines = [line.strip() for line in lead.split("\n") if line.strip()]
    return lines[-1][-200:] if lines else ""


# -- reading one candidate -------------------------------------------------------------------


def _interpret(region: Region, candidate: _Candidate) -> LineReplacement:
    if candidate.kind == "diff":
        return _from_diff(region, candidate.body)
    return fit_code(region, candidate.body)


def _from_diff(region: Region, body: str) -> LineReplacement:
    source = region.source
    lines = [source.line_text(i) for i in range(source.line_count)]
    patched = apply_diff(lines, parse_diff(body), (region.start, region.end))
    # The diff may carry context from around the range, but may change only the range.
    tail = source.line_count - region.end - 1
    if (
        len(patched) < region.start + tail
        or patched[: region.start] != lines[: region.start]
        or patched[len(patched) - tail :] != lines[region.end + 1 :]
    ):
        raise InvalidAnswer("the diff changes lines outside the ones asked for")
    new = patched[region.start : len(patched) - tail]
    return _replacement(region, new)


def fit_code(region: Region, code: str) -> LineReplacement:
    """Code meant to replace the region's lines, shaped to replace exactly them: echoed context
    dropped, the file's indentation and line endings, the original's blank edges. Refuses code
    that abbreviates existing lines, carries diff markers or rewrites lines around the range."""
    lines = code.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not any(line.strip() for line in lines):
        return _replacement(region, [])  # an empty block: the lines go (an unused import, say)
    lines = _without_line_numbers(lines)
    lines = _without_echo(region, lines)
    lines = _same_indent_style(region, lines)
    lines = _reindented(region, lines)
    lines = _with_original_edges(region, lines)
    if not any(line.rstrip() != line for line in region.old):
        lines = [line.rstrip() for line in lines]
    _refuse_markers(region, lines)
    if region.keeps_lines:
        _refuse_dropped_lines(region, lines)
    return _replacement(region, lines)


def _replacement(region: Region, new: list[str]) -> LineReplacement:
    source = region.source
    eol = _eol_of(source, region.start)
    text = eol.join(new)
    last_old = source.lines[region.end] if region.end < source.line_count else ""
    if new and last_old.endswith(("\n", "\r")):
        text += eol
    replacement = LineReplacement(source, region.start, region.end, text)
    if replacement.new_lines == replacement.old_lines:
        raise InvalidAnswer("the answer changes nothing")
    return replacement


def _eol_of(source: Source, line: int) -> str:
    """The line ending of the asked lines themselves (a mixed file keeps each part's own)."""
    text = source.lines[line] if line < source.line_count else ""
    if text.endswith("\r\n"):
        return "\r\n"
    if text.endswith(("\n", "\r")):
        return text[-1]
    return source.eol


_NUMBERED = re.compile(r"^\s*(\d+)\s?\| ?")


def _without_line_numbers(lines: list[str]) -> list[str]:
    """`12| code` lines, as the review prompt numbers them, lose their numbers when every line
    has one and they count up by one."""
    numbered = [_NUMBERED.match(line) for line in lines if line.strip()]
    if not numbered or not all(numbered):
        return lines
    numbers = [int(match.group(1)) for match in numbered if match]
    if numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        return lines
    return [_NUMBERED.sub("", line, count=1) for line in lines]


# -- echoed context --------------------------------------------------------------------------

_OPENS_BLOCK = re.compile(r"(?:[:{(\[]|\bdo|\bthen|=>)\s*(?:#.*|//.*)?$")
_CLOSES_BLOCK = re.compile(r"^(?:[}\])]+[;,)]*|end\b.*|fi|done|esac|\}\s*else\b.*)$")


def _similar(a: str, b: str) -> bool:
    a, b = a.strip(), b.strip()
    return a == b or difflib.SequenceMatcher(None, a, b).ratio() >= 0.6


def _without_echo(region: Region, lines: list[str]) -> list[str]:
    """The answer without the lines it repeats from around the range.

    Exact echoes (the lines just before or after the range, compared without indentation) go;
    so do the enclosing block's header and its closing line when the model wrote them around
    the fixed lines without the lines between, and placeholders that stand for lines outside
    the range. What is left must not rewrite lines from around the range: applied to the range,
    they would stand in the file twice.
    """
    lines = _strip_blank_edges(lines)
    _refuse_rewritten_header(region, lines)
    header = _enclosing_header(region, lines)
    stripped = [line.strip() for line in lines]
    lead = _echo_length(region, stripped, before=True)
    trail = _echo_length(region, stripped[lead:], before=False)
    lines = lines[lead : len(lines) - trail]
    if header is not None:
        if lead == 0:
            lines = lines[1:]
        if trail == 0:
            lines = _without_closer(region, lines, header)
    lines = _without_edge_placeholders(region, lines)
    _refuse_rewritten_context(region, lines)
    return lines


def _strip_blank_edges(lines: list[str]) -> list[str]:
    first = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    last = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].strip()), -1)
    return lines[first : last + 1]


def _echo_length(region: Region, stripped: list[str], *, before: bool) -> int:
    """How many of the answer's first (or last) lines repeat the lines right before (or after)
    the range; something of the answer always remains."""
    room = region.start - region.first if before else region.last - region.end
    for count in range(min(room, len(stripped) - 1), 0, -1):
        if before:
            around = range(region.start - count, region.start)
            part = stripped[:count]
        else:
            around = range(region.end + 1, region.end + 1 + count)
            part = stripped[len(stripped) - count :]
        context = [region.text(i).strip() for i in around]
        if part == context and any(len(line) > 2 for line in part):
            return count
    return 0


def _before(region: Region) -> range:
    return range(region.first, region.start)


def _after(region: Region) -> range:
    return range(region.end + 1, region.last + 1)


def _enclosing_header(region: Region, lines: list[str]) -> str | None:
    """The answer's first line when it is the header of a block that encloses the range (a
    `def …:` or `function … {` that stands before it), written out by the model."""
    if len(lines) < 2:
        return None
    first = lines[0].strip()
    if first == region.old[0].strip() or not _OPENS_BLOCK.search(first):
        return None
    if all(region.text(i).strip() != first for i in _before(region)):
        return None
    return lines[0]


def _without_closer(region: Region, lines: list[str], header: str) -> list[str]:
    """The closing line (`}`, `end`) that pairs with an echoed header: it closes the block
    after the range, so it is already in the file."""
    if len(lines) < 2:
        return lines
    last = lines[-1]
    if (
        _CLOSES_BLOCK.match(last.strip())
        and _indent(last) == _indent(header)
        and last.strip() != region.old[-1].strip()
        and any(region.text(i).strip() == last.strip() for i in _after(region))
    ):
        return lines[:-1]
    return lines


def _refuse_rewritten_header(region: Region, lines: list[str]) -> None:
    """A first line that is the enclosing block's header, changed (`def add(x, y):` for
    `def add(a, b):`): the model rewrote a line outside the range, and applying its answer to the
    range would put a second header inside the block."""
    if not lines:
        return
    first = lines[0].strip()
    if not _OPENS_BLOCK.search(first) or first == region.old[0].strip():
        return
    ratio_in_range = difflib.SequenceMatcher(None, first, region.old[0].strip()).ratio()
    keyword = first.split()[0]
    for i in _before(region):
        line = region.text(i).strip()
        if line == first or not _OPENS_BLOCK.search(line) or line.split()[0] != keyword:
            continue
        ratio = difflib.SequenceMatcher(None, first, line).ratio()
        if ratio >= 0.7 and ratio > ratio_in_range:
            raise InvalidAnswer("the answer rewrites lines around the ones asked for")


def _without_edge_placeholders(region: Region, lines: list[str]) -> list[str]:
    """A placeholder at the start stands for lines before the range when the line after it
    begins the range, or the range is one line; likewise at the end. Elsewhere, a placeholder
    stands for lines of the range, and the answer is refused later."""
    single = region.start == region.end
    while len(lines) >= 2 and is_placeholder(lines[0]) and not _in_range(region, lines[0]):
        if not (single or _similar(lines[1], region.old[0])):
            break
        lines = _strip_blank_edges(lines[1:])
    while len(lines) >= 2 and is_placeholder(lines[-1]) and not _in_range(region, lines[-1]):
        if not (single or _similar(lines[-2], region.old[-1])):
            break
        lines = _strip_blank_edges(lines[:-1])
    found = placeholders_for_code(lines, region.old)
    if found:
        raise InvalidAnswer(
            f"the answer abbreviates existing code ({found[0].strip()[:60]!r}) instead of giving it"
        )
    return lines


def _in_range(region: Region, line: str) -> bool:
    return line.strip() in {old.strip() for old in region.old}


def _refuse_rewritten_context(region: Region, lines: list[str]) -> None:
    """Two or more substantial lines that stand around the range, and not in it, mean the model
    rewrote its context: applied to the range, they would be there twice."""
    inside = {line.strip() for line in region.old}
    around = {region.text(i).strip() for i in (*_before(region), *_after(region))}
    repeated = [
        line
        for line in lines
        if len(line.strip()) >= 6 and line.strip() in around and line.strip() not in inside
    ]
    if len(repeated) >= 2:
        raise InvalidAnswer("the answer rewrites lines around the ones asked for")


# -- indentation -------------------------------------------------------------------------------

_LEADING = re.compile(r"^[ \t]*")


def _indent(line: str) -> str:
    return _LEADING.match(line).group(0)  # type: ignore[union-attr]


def _common_indent(lines: list[str]) -> str:
    indents = [_indent(line) for line in lines if line.strip()]
    if not indents:
        return ""
    common = indents[0]
    for indent in indents[1:]:
        while not indent.startswith(common):
            common = common[:-1]
    return common


def _same_indent_style(region: Region, lines: list[str]) -> list[str]:
    """Tabs where the file indents with tabs (Go, Makefiles), spaces where it uses spaces."""
    old = [_indent(line) for line in region.old if _indent(line)]
    new = [_indent(line) for line in lines if _indent(line)]
    if not old or not new:
        return lines
    if all(set(i) == {"\t"} for i in old) and all(set(i) == {" "} for i in new):
        unit = min(len(i) for i in new)
        return [_retab(line, unit) for line in lines]
    if all(set(i) == {" "} for i in old) and all(set(i) == {"\t"} for i in new):
        unit = _space_unit(region)
        return [" " * (unit * len(_indent(line))) + line.lstrip("\t") for line in lines]
    return lines


def _retab(line: str, unit: int) -> str:
    width = len(_indent(line))
    return "\t" * (width // unit) + " " * (width % unit) + line.lstrip(" ")


def _space_unit(region: Region) -> int:
    widths = {
        len(_indent(region.text(i)))
        for i in range(region.first, region.last + 1)
        if region.text(i).strip() and _indent(region.text(i))
    }
    return min(widths) if widths else 4


def _reindented(region: Region, lines: list[str]) -> list[str]:
    """Indentation the model dropped, put back: from the first line only, or from all of them.

    Which one happened is read from the lines the answer shares with the original (their
    indentation must come out the same), else from whether the first line opens a block."""
    old_common = _common_indent(region.old)
    if not old_common or _common_indent(lines) or not lines:
        return lines
    first = next(i for i, line in enumerate(lines) if line.strip())
    old_first = _indent(next(line for line in region.old if line.strip()))
    whole = [old_common + line if line.strip() else line for line in lines]
    first_only = [*lines[:first], old_first + lines[first], *lines[first + 1 :]]
    rest = [line for line in lines[first + 1 :] if line.strip()]
    if not rest:
        return first_only if len(old_first) > len(old_common) else whole
    known = {line.strip(): _indent(line) for line in region.old if line.strip()}

    def agreement(candidate: list[str]) -> int:
        return sum(
            1
            for line in candidate[first + 1 :]
            if line.strip() in known and known[line.strip()] == _indent(line)
        )

    whole_score, first_score = agreement(whole), agreement(first_only)
    if whole_score != first_score:
        return whole if whole_score > first_score else first_only
    opens = _OPENS_BLOCK.search(lines[first].strip()) is not None
    deeper = len(_indent(rest[0])) > len(old_first)
    if opens:
        return first_only if deeper else whole
    return first_only if len(_indent(rest[0])) == len(old_first) else whole


def _with_original_edges(region: Region, lines: list[str]) -> list[str]:
    """Blank lines at the block's edges as the original had them: models add and drop them."""
    if not any(line.strip() for line in region.old):
        return _strip_blank_edges(lines)
    leading = next(i for i, line in enumerate(region.old) if line.strip())
    trailing = next(i for i, line in enumerate(reversed(region.old)) if line.strip())
    return [""] * leading + _strip_blank_edges(lines) + [""] * trailing


# -- what must never reach the file ------------------------------------------------------------

_HUNK_HEADER = re.compile(r"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@")


def _refuse_markers(region: Region, lines: list[str]) -> None:
    """Diff markers left in code: a hunk header, or `-`/`+` in front of the original's lines."""
    originals = {line.strip() for line in region.old if line.strip()}
    for line in lines:
        if _HUNK_HEADER.match(line.strip()):
            raise InvalidAnswer("the answer is a diff that could not be applied")
        marked = line.startswith(("+", "-"))
        if marked and line[1:].strip() in originals and line.strip() not in originals:
            raise InvalidAnswer("the answer carries diff markers")


def _refuse_dropped_lines(region: Region, lines: list[str]) -> None:
    """A fix of three or more lines answered with at most half as many, most of the original
    gone: the model sent only what it added or changed."""
    old = [line.strip() for line in region.old if line.strip()]
    new = [line.strip() for line in lines if line.strip()]
    if len(old) < 3 or len(new) * 2 > len(old):
        return
    kept = sum(1 for line in old if any(_similar(line, other) for other in new))
    if kept * 2 < len(old):
        raise InvalidAnswer("the answer leaves out most of the lines it was asked to replace")


# -- choosing among readings -------------------------------------------------------------------

_FIXED = re.compile(
    r"\b(?:fix(?:ed)?|correct(?:ed|ion)?|updated?|revised|improved|new|after|replacement|"
    r"solution|should be|change (?:it )?to|use this)\b",
    re.IGNORECASE,
)
_NOT_IT = re.compile(
    r"\b(?:original|before|current(?:ly)?|old|existing|broken|buggy|wrong|instead of|usage|"
    r"example|test|tests|call(?:ing)? it|how to use|run|output|prints?|result|alternative(?:ly)?)"
    r"\b",
    re.IGNORECASE,
)
_LANGUAGE_TAGS = {
    "python": {"python", "py", "python3", "py3", "pycon"},
    "javascript": {"javascript", "js", "jsx", "mjs", "node"},
    "typescript": {"typescript", "ts", "tsx"},
    "go": {"go", "golang"},
    "rust": {"rust", "rs"},
    "java": {"java"},
    "c": {"c", "h"},
    "cpp": {"cpp", "c++", "cc", "hpp", "cxx"},
    "csharp": {"csharp", "cs", "c#"},
    "ruby": {"ruby", "rb"},
    "bash": {"bash", "sh", "shell", "zsh"},
}
_GENERIC_TAGS = {"", "text", "plaintext", "txt", "code", "diff", "patch"}


def _score(region: Region, candidate: _Candidate, replacement: LineReplacement) -> float:
    """How surely this reading is the fix: like the original (a fix changes little), introduced
    as the fix, in the file's language; earlier blocks win ties."""
    old = "\n".join(line.strip() for line in region.old)
    new = "\n".join(line.strip() for line in replacement.new_lines.splitlines())
    score = difflib.SequenceMatcher(None, old, new, autojunk=False).ratio()
    fixed, not_it = _FIXED.search(candidate.lead), _NOT_IT.search(candidate.lead)
    if not_it and not fixed:
        score -= 0.5
    elif fixed and not not_it:
        score += 0.2
    tags = _LANGUAGE_TAGS.get(region.source.language)
    language = candidate.language
    if language not in _GENERIC_TAGS and tags is not None and language not in tags:
        score -= 0.3
    return score - 0.01 * candidate.order
