"""Whether an edit keeps the file's syntax, in every language: an edit must not add syntax
errors where the original had none.

Python is checked with `ast`, Python's own grammar, when the original parses (tree-sitter's
Python grammar accepts some programs CPython refuses); every other language, and Python files
that did not parse, with tree-sitter, comparing the errors in and after the edited lines
before and after the edit. The grammars are per-language wheels that ship their parsers (they
work offline) and are imported on the first edit checked: listing code actions never loads
them.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from functools import cache
from typing import Any

from ..gateway import InvalidAnswer
from .edits import LineReplacement
from .source import Source, count_line_breaks, python_parses

log = logging.getLogger(__name__)

Validator = Callable[[LineReplacement], None]

# language (our name or the editor's languageId) -> (grammar module, function giving it)
GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "javascriptreact": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "typescriptreact": ("tree_sitter_typescript", "language_tsx"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "csharp": ("tree_sitter_c_sharp", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
    "php": ("tree_sitter_php", "language_php"),
    "bash": ("tree_sitter_bash", "language"),
    "shellscript": ("tree_sitter_bash", "language"),
    "json": ("tree_sitter_json", "language"),
    "css": ("tree_sitter_css", "language"),
    "html": ("tree_sitter_html", "language"),
    "yaml": ("tree_sitter_yaml", "language"),
    "toml": ("tree_sitter_toml", "language"),
    "lua": ("tree_sitter_lua", "language"),
}


def syntax_language(source: Source) -> str:
    """The grammar to check `source` with: `.tsx` files need the TSX grammar."""
    language = source.language
    if language == "typescript" and (source.path or "").endswith(".tsx"):
        return "tsx"
    return language


@cache
def parser_for(language: str) -> Any | None:
    """A tree-sitter parser for `language`, or None when there is no grammar for it."""
    grammar = GRAMMARS.get(language)
    if grammar is None:
        return None
    try:
        import tree_sitter

        module = importlib.import_module(grammar[0])
        return tree_sitter.Parser(tree_sitter.Language(getattr(module, grammar[1])()))
    except (ImportError, AttributeError, ValueError) as exc:  # a grammar missing or too new
        log.info("no %s grammar for syntax checks: %s", language, exc)
        return None


def error_lines(tree: Any, first: int, last: int) -> int:
    """How many syntax errors (ERROR or MISSING nodes, nested ones too: error recovery wraps
    several lines in one) start on lines first..last (0-based)."""
    count = 0
    pending = [tree.root_node]
    while pending:
        node = pending.pop()
        if node.start_point[0] > last or node.end_point[0] < first:
            continue
        if (node.is_error or node.is_missing) and node.start_point[0] >= first:
            count += 1
        if node.has_error or node.is_error:
            pending.extend(node.children)
    return count


# Lines of the file parsed around an edit: the same window before and after it, so errors that
# its cut edges cause cancel out, and a 20 MB file costs what a small one does.
WINDOW_LINES = 400


def syntax_check(source: Source) -> Validator | None:
    """A validator for edits of `source`, or None where no syntax can be checked. The original
    is parsed once, on the first edit checked (listing code actions never pays for it)."""
    language = syntax_language(source)
    if language != "python" and language not in GRAMMARS:
        return None

    @cache
    def original_parses() -> bool:
        return python_parses(source.text)

    def check(replacement: LineReplacement) -> None:
        if language == "python" and original_parses():
            if not python_parses(replacement.new_text()):
                raise InvalidAnswer("the edited file would no longer parse")
            return
        parser = parser_for(language)
        if parser is None:
            return
        first = max(0, replacement.start - WINDOW_LINES)
        last = min(source.line_count, replacement.end + 1 + WINDOW_LINES)
        head = "".join(source.lines[first : replacement.start])
        tail = "".join(source.lines[replacement.end + 1 : last])
        before = _parse(parser, head + replacement.old_lines + tail)
        after = _parse(parser, head + replacement.new_lines + tail)
        if not after.root_node.has_error:
            return
        start = replacement.start - first
        old_last = replacement.end - first
        new_last = start + max(0, count_line_breaks(replacement.new_lines) - 1)
        # Errors where there were none: in the edited lines, or after them (an unclosed bracket
        # breaks what follows). Where the original had errors already, their count is no guide.
        if (
            not before.root_node.has_error
            or (error_lines(after, start, new_last) and not error_lines(before, start, old_last))
            or (
                error_lines(after, new_last + 1, _END)
                and not error_lines(before, old_last + 1, _END)
            )
        ):
            raise InvalidAnswer(f"the edit adds {language} syntax errors")

    return check


_END = 1 << 30


def _parse(parser: Any, text: str) -> Any:
    return parser.parse(text.encode("utf-8", "surrogatepass"))
