"""Lines with which models abbreviate code they did not repeat.

`# ... rest of the loop unchanged ...`, `// ... existing code ...`, a bare `...` or `…`, `[...]`:
each stands for lines that exist in the file. Applied as code, it would replace them. In any
language, such a line in an answer is refused unless the original has the very same line (a
Python stub's `...`, a comment that was already there).
"""

from __future__ import annotations

import re

# What a comment starts with, across languages: # // /* * -- ; % ' <!-- REM
_COMMENT = re.compile(
    r"^(?:#+|//+|/\*+|\*+|--+|;+|%+|'|<!--|rem\b)\s*(?P<body>.*?)\s*(?:\*/|-->)?$", re.I
)
_DOTS = re.compile(r"\.{3,}|…")
_ONLY_DOTS = re.compile(r"^[\s.…]*$")
# Words that make a comment with dots a stand-in for code, not a remark about it.
_STANDS_FOR = re.compile(
    r"\b(?:rest|remaining|remainder|existing|unchanged|same|omitted|elided|previous|other|"
    r"before|above|below|original|code|lines?|body|logic|implementation|stays|remains?|"
    r"etc|more|here|continues?|skip(?:ped)?|truncated|as is|untouched)\b",
    re.I,
)
# Without dots, a comment is a stand-in only when it says so outright.
_SAYS_UNCHANGED = re.compile(
    r"\b(?:(?:rest|remainder) of (?:the )?\w+|unchanged|existing (?:code|logic|lines)|"
    r"remains? (?:the )?same|same as before|as before|omitted for brevity|"
    r"remaining (?:code|lines|logic)|other (?:code|methods|functions) here|code here)\b",
    re.I,
)
# `[...]`, `{...}`, `(...)`, `<...>`: contents left out. Spread syntax (`[...items]`) has a name.
_BRACKETED = re.compile(r"[\[\{\(<]\s*(?:\.{3}|…)\s*[\]\}\)>]")


def is_placeholder(line: str) -> bool:
    """Whether `line` stands for code rather than being code."""
    text = line.strip()
    if not text:
        return False
    if _ONLY_DOTS.match(text):
        return True
    comment = _COMMENT.match(text)
    if comment is not None:
        body = comment.group("body")
        if _DOTS.search(body) and (_ONLY_DOTS.match(body) or _STANDS_FOR.search(body)):
            return True
        if _SAYS_UNCHANGED.search(body):
            return True
    return _BRACKETED.search(text) is not None


def placeholders_for_code(new_lines: list[str], old_lines: list[str]) -> list[str]:
    """The placeholder lines of `new_lines` that the original lines do not have themselves."""
    existing = {line.strip() for line in old_lines}
    return [line for line in new_lines if is_placeholder(line) and line.strip() not in existing]
