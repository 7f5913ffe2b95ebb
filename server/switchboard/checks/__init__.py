"""Checkers: the tools that raised a diagnostic (ruff, pyright, mypy, eslint, tsc, or one the
user configures), run on a model's edited text to verify that the edit clears it.

Nothing here knows about LSP or the gateway: the tasks ask for a verdict, the language server
and the command line say what verified an edit.
"""

from .diagnostics import CheckDiagnostic
from .registry import Checker, checker_for, checkers_for_language
from .runner import CheckerUnavailable, run_checker
from .verify import Target, Verification, Verifier

__all__ = [
    "CheckDiagnostic",
    "Checker",
    "CheckerUnavailable",
    "Target",
    "Verification",
    "Verifier",
    "checker_for",
    "checkers_for_language",
    "run_checker",
]
