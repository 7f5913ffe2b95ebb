"""The tasks: what to ask a model for a fix, an explanation or a review, and how to read the
answer. Shared by the command line and the language server; nothing here knows about either.

`Source` and `Position` load with the package; the rest on first use, so that the language
server can keep documents before it loads the prompt and answer machinery.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .source import Position, Source

if TYPE_CHECKING:
    from .changes import ChangedLines
    from .complete import Suggestion, complete_ask
    from .edits import LineReplacement, TextEdit
    from .explain import Explanation, explain_ask
    from .fix import (
        DOCSTRING_INSTRUCTION,
        REWRITE_INSTRUCTION,
        EditResult,
        edit_ask,
        fix_instruction,
    )
    from .privacy import ExcludedFile, Redactor, exclusion_rule
    from .review import Finding, Review, review_ask, review_changes_ask

_LAZY = {
    "ChangedLines": "changes",
    "Suggestion": "complete",
    "complete_ask": "complete",
    "LineReplacement": "edits",
    "TextEdit": "edits",
    "Explanation": "explain",
    "explain_ask": "explain",
    "DOCSTRING_INSTRUCTION": "fix",
    "REWRITE_INSTRUCTION": "fix",
    "EditResult": "fix",
    "edit_ask": "fix",
    "fix_instruction": "fix",
    "ExcludedFile": "privacy",
    "Redactor": "privacy",
    "exclusion_rule": "privacy",
    "Finding": "review",
    "Review": "review",
    "review_ask": "review",
    "review_changes_ask": "review",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


__all__ = [
    "DOCSTRING_INSTRUCTION",
    "REWRITE_INSTRUCTION",
    "ChangedLines",
    "EditResult",
    "ExcludedFile",
    "Explanation",
    "Finding",
    "LineReplacement",
    "Position",
    "Redactor",
    "Review",
    "Source",
    "Suggestion",
    "TextEdit",
    "complete_ask",
    "edit_ask",
    "exclusion_rule",
    "explain_ask",
    "fix_instruction",
    "review_ask",
    "review_changes_ask",
]
