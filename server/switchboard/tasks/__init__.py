"""The tasks: what to ask a model for a fix, an explanation or a review, and how to read the
answer. Shared by the command line and the language server; nothing here knows about either."""

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
from .review import Finding, Review, review_ask
from .source import Position, Source

__all__ = [
    "DOCSTRING_INSTRUCTION",
    "REWRITE_INSTRUCTION",
    "EditResult",
    "ExcludedFile",
    "Explanation",
    "Finding",
    "LineReplacement",
    "Position",
    "Redactor",
    "Review",
    "Source",
    "TextEdit",
    "edit_ask",
    "exclusion_rule",
    "explain_ask",
    "fix_instruction",
    "review_ask",
]
