"""Fenced code blocks in a model's answer, with the prose that introduces each one.

Answers carry zero, one or several blocks: the original quoted before the fix, the fix and then
a usage example, a `diff`. The reader of each task decides which block answers it; this module
only finds them, exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_OPENING = re.compile(r"^(?P<indent>[ \t]{0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced block: its info string (`python`, `diff`…), its body and the prose before it
    (since the previous block), which often says what the block is ("Original:", "Fixed:")."""

    info: str
    body: str
    lead: str
    closed: bool = True

    @property
    def language(self) -> str:
        return self.info.split()[0].lower() if self.info.strip() else ""


@dataclass(frozen=True, slots=True)
class Blocks:
    blocks: tuple[Block, ...]
    outside: str  # the answer's text outside every block

    def __iter__(self) -> Iterator[Block]:
        return iter(self.blocks)

    def __len__(self) -> int:
        return len(self.blocks)


def fenced_blocks(answer: str) -> Blocks:
    """Every fenced block of `answer`, in order (CommonMark's rules for fences: up to three
    spaces of indentation, a closing fence of the same character at least as long).

    A fence still open at the end of the answer closes there: the provider said the answer was
    complete, so the model simply never wrote the closing line.
    """
    lines = answer.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[Block] = []
    outside: list[str] = []
    lead: list[str] = []
    index = 0
    while index < len(lines):
        opening = _OPENING.match(lines[index])
        if opening is None:
            outside.append(lines[index])
            lead.append(lines[index])
            index += 1
            continue
        fence, indent = opening.group("fence"), opening.group("indent")
        closing = re.compile(rf"^[ \t]{{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        body: list[str] = []
        index += 1
        while index < len(lines) and closing.match(lines[index]) is None:
            body.append(lines[index].removeprefix(indent) if indent else lines[index])
            index += 1
        closed = index < len(lines)
        index += 1  # past the closing fence
        if not closed:
            while body and (not body[-1].strip() or _remark(body[-1])):
                body.pop()
        blocks.append(
            Block(opening.group("info").strip(), "\n".join(body), "\n".join(lead).strip(), closed)
        )
        lead = []
    return Blocks(tuple(blocks), "\n".join(outside))


def _remark(line: str) -> bool:
    """A closing sentence after code whose fence was never closed ("This fixes the bug.")."""
    text = line.strip()
    return (
        line[:1] not in (" ", "\t")
        and text[:1].isupper()
        and text[-1:] in ".!"
        and len(text.split()) >= 3
        and re.search(r"[{}()=;<>\[\]]", text) is None
    )


def fence_for(code: str) -> str:
    """A backtick fence longer than any run of backticks inside `code`."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    return "`" * max(3, longest + 1)
