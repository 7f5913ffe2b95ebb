"""Which checker answers for a diagnostic, and how each built-in one is run.

A checker is a command, how it is given the text (on stdin with the file's name, or in a
temporary file), how its output reads, and the diagnostic `source` values it answers for.
Built in: ruff, basedpyright / pyright, mypy, eslint and tsc. Users add their own in their user
config (`[checkers.NAME]`), never from a workspace. A checker is found in the project's
environment (`.venv/bin`, `node_modules/.bin`), beside Switchboard's own Python, or on PATH.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from ..config import Config

PYTHON = ("python",)
JAVASCRIPT = ("javascript", "javascriptreact", "typescript", "typescriptreact")


@dataclass(frozen=True, slots=True)
class Checker:
    name: str
    command: tuple[str, ...]  # {file}: the text to check; {original}: the file's own path
    input: str  # "stdin", "file" (a temporary file beside the original), "shadow", "tsconfig"
    format: str  # a reader of checks/diagnostics.py
    sources: tuple[str, ...]  # diagnostic `source` values it answers for (lower case)
    languages: tuple[str, ...]
    timeout_s: float | None = None  # None: [verify] timeout_s
    # A linter answering in milliseconds, not a type checker taking seconds: the command line
    # asks the quick ones which diagnostic a fix is for, unless --source names another.
    quick: bool = True

    def executable(self, root: Path | None) -> str | None:
        return find_executable(self.command[0], root)

    def answers_for(self, source: str | None) -> bool:
        return source is not None and source.strip().lower() in self.sources


BUILTIN: tuple[Checker, ...] = (
    Checker(
        "ruff",
        ("ruff", "check", "--output-format", "json", "--no-fix", "--exit-zero",
         "--stdin-filename", "{original}", "-"),
        "stdin", "ruff-json", ("ruff",), PYTHON,
    ),
    Checker(
        "basedpyright", ("basedpyright", "--outputjson", "{file}"), "file", "pyright-json",
        ("basedpyright", "pyright", "pylance"), PYTHON, quick=False,
    ),
    Checker(
        "pyright", ("pyright", "--outputjson", "{file}"), "file", "pyright-json",
        ("pyright", "pylance", "basedpyright"), PYTHON, quick=False,
    ),
    Checker(
        "mypy",
        ("mypy", "-O", "json", "--no-error-summary", "--shadow-file", "{original}", "{file}",
         "{original}"),
        "shadow", "mypy-json", ("mypy",), PYTHON, quick=False,
    ),
    Checker(
        "eslint", ("eslint", "--format", "json", "--stdin", "--stdin-filename", "{original}"),
        "stdin", "eslint-json", ("eslint",), JAVASCRIPT,
    ),
    Checker(
        "tsc", ("tsc", "--noEmit", "--pretty", "false"), "tsconfig", "tsc",
        ("ts", "typescript", "tsc"), ("typescript", "typescriptreact"), quick=False,
    ),
)  # fmt: skip


def configured(config: Config) -> tuple[Checker, ...]:
    """The user's own checkers (first, so that they can stand in for a built-in one), then the
    built-in ones."""
    own = tuple(
        Checker(
            name,
            tuple(spec.command),
            spec.input,
            spec.format,
            tuple(source.lower() for source in (spec.sources or (name,))),
            tuple(spec.languages),
            spec.timeout_s,
        )
        for name, spec in config.checkers.items()
    )
    return (*own, *BUILTIN)


def checker_for(
    source: str | None, language: str, config: Config, root: Path | None
) -> Checker | None:
    """The checker that raised a diagnostic from `source`, if it is installed."""
    for checker in configured(config):
        if checker.answers_for(source) and _fits(checker, language) and checker.executable(root):
            return checker
    return None


def checkers_for_language(language: str, config: Config, root: Path | None) -> list[Checker]:
    """The installed checkers for a language, one per kind of diagnostic source."""
    found: list[Checker] = []
    for checker in configured(config):
        if not _fits(checker, language) or not checker.executable(root):
            continue
        if any(set(checker.sources) & set(other.sources) for other in found):
            continue  # pyright when basedpyright is there already
        found.append(checker)
    return found


def _fits(checker: Checker, language: str) -> bool:
    return not checker.languages or language in checker.languages


def find_executable(name: str, root: Path | None) -> str | None:
    """`name` from the project's environment, beside Switchboard's Python, or on PATH."""
    if os.sep in name:
        return name if os.access(name, os.X_OK) else None
    places = []
    if root is not None:
        places += [root / ".venv" / "bin", root / "venv" / "bin", root / "node_modules" / ".bin"]
    places.append(Path(sys.executable).parent)
    for place in places:
        candidate = place / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)
