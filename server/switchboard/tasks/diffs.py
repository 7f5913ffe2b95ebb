"""Unified diffs in answers: read exactly and applied to the file, or refused.

Models asked for replacement lines sometimes answer with a diff: in a `diff` block or a bare
one, with `---`/`+++`/`@@` headers or without, blank context lines with or without their space.
A diff is applied only where its old side (context and removed lines) stands in the file, once;
a diff marker never reaches the file as code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..gateway import InvalidAnswer

_HUNK = re.compile(r"^@@+ -(?P<old>\d+)(?:,\d+)? \+\d+(?:,\d+)? @@+")
_BARE_HUNK = re.compile(r"^@@+(?:\s.*)?$")  # "@@" or "@@ ... @@" without numbers
_HEADER = re.compile(
    r"^(?:diff --git |diff -|index [0-9a-f]|--- |\+\+\+ |new file mode|deleted file mode|"
    r"similarity index|rename (?:from|to) |old mode|new mode|Binary files )"
)


@dataclass(frozen=True, slots=True)
class Hunk:
    old: tuple[str, ...]  # context and removed lines, in order
    new: tuple[str, ...]  # context and added lines, in order
    old_start: int | None  # 1-based, from the @@ header when it has numbers

    @property
    def changes(self) -> bool:
        return self.old != self.new


def looks_like_diff(text: str, info: str = "") -> bool:
    """Whether `text` is meant as a unified diff: a `diff`/`patch` block, diff headers, or
    lines that all carry a diff marker with both removals and additions among them."""
    if info.split()[:1] in (["diff"], ["patch"], ["udiff"]):
        return True
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        return False
    if any(_HUNK.match(line) for line in lines) or (
        any(line.startswith("--- ") for line in lines)
        and any(line.startswith("+++ ") for line in lines)
    ):
        return True
    marked = [line for line in lines if line[0] in "+- "]
    return (
        len(marked) == len(lines)
        and any(line.startswith("+") for line in lines)
        and any(line.startswith("-") and not line.startswith("--") for line in lines)
    )


def parse_diff(text: str) -> list[Hunk]:
    """The hunks of a unified diff; InvalidAnswer when it is not one."""
    hunks: list[Hunk] = []
    old: list[str] = []
    new: list[str] = []
    start: int | None = None
    seen_hunk = False

    def finish() -> None:
        if old or new:
            hunks.append(Hunk(tuple(old), tuple(new), start))
        old.clear()
        new.clear()

    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    for line in lines:
        numbered = _HUNK.match(line)
        if numbered or _BARE_HUNK.match(line):
            finish()
            start = int(numbered.group("old")) if numbered else None
            seen_hunk = True
            continue
        if not seen_hunk and _HEADER.match(line):
            continue
        if line.startswith("\\"):  # "\ No newline at end of file"
            continue
        marker, rest = (line[:1], line[1:]) if line else (" ", "")
        if marker == " ":
            old.append(rest)
            new.append(rest)
        elif marker == "-":
            old.append(rest)
        elif marker == "+":
            new.append(rest)
        elif not line.strip():
            old.append("")
            new.append("")
        else:
            raise InvalidAnswer("the answer mixes a diff with lines that are not part of it")
    finish()
    if not any(hunk.changes for hunk in hunks):
        raise InvalidAnswer("the diff changes nothing")
    return hunks


def apply_diff(lines: list[str], hunks: list[Hunk], near: tuple[int, int]) -> list[str]:
    """`lines` (without line endings) with the hunks applied.

    Each hunk's old side must stand in `lines` after the previous hunk, exactly (trailing
    whitespace aside) or with one consistent indentation lost; where it stands more than once,
    the place named by the hunk header, else the one nearest `near` (the asked lines) wins.
    """
    result: list[str] = []
    position = 0
    for hunk in hunks:
        if not hunk.old:
            raise InvalidAnswer("the diff adds lines without saying where")
        at, indent = _locate(lines, hunk, position, near)
        result.extend(lines[position:at])
        result.extend(_reindent(line, indent) for line in hunk.new)
        position = at + len(hunk.old)
    result.extend(lines[position:])
    return result


def _locate(lines: list[str], hunk: Hunk, after: int, near: tuple[int, int]) -> tuple[int, str]:
    size = len(hunk.old)
    exact = [
        at
        for at in range(after, len(lines) - size + 1)
        if all(lines[at + i].rstrip() == hunk.old[i].rstrip() for i in range(size))
    ]
    if exact:
        return _nearest(exact, hunk, near), ""
    # The model lost (or added) one indentation for the whole hunk: accept it only when the
    # same prefix explains every line.
    loose = []
    for at in range(after, len(lines) - size + 1):
        indent = _shared_indent(lines[at : at + size], hunk.old)
        if indent is not None:
            loose.append((at, indent))
    if not loose:
        raise InvalidAnswer("the diff does not apply to the file (its old lines are not there)")
    at = _nearest([at for at, _ in loose], hunk, near)
    return at, dict(loose)[at]


def _nearest(places: list[int], hunk: Hunk, near: tuple[int, int]) -> int:
    if len(places) == 1:
        return places[0]
    if hunk.old_start is not None and hunk.old_start - 1 in places:
        return hunk.old_start - 1
    first, last = near
    overlapping = [at for at in places if at <= last and at + len(hunk.old) - 1 >= first]
    if len(overlapping) == 1:
        return overlapping[0]
    raise InvalidAnswer("the diff's lines stand in more than one place in the file")


def _shared_indent(file_lines: list[str], old: tuple[str, ...]) -> str | None:
    """The indentation that every non-blank file line has in front of the diff's line, when it
    is the same for all of them (the model lost it once for the whole hunk)."""
    indent: str | None = None
    for mine, theirs in zip(file_lines, old, strict=True):
        mine, theirs = mine.rstrip(), theirs.rstrip()
        if not mine and not theirs:
            continue
        prefix = mine[: len(mine) - len(theirs)]
        if not theirs or mine != prefix + theirs or prefix.strip() or prefix == "":
            return None
        if indent is not None and prefix != indent:
            return None
        indent = prefix
    return indent


def _reindent(line: str, indent: str) -> str:
    return indent + line if indent and line.strip() else line
