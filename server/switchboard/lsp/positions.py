"""Client positions (UTF-8, UTF-16 or UTF-32 code units) to code points and back.

Lines end at \\n, \\r\\n or \\r only, as the LSP says. Positions past a line's end clamp to it,
positions inside a surrogate pair (or inside a UTF-8 sequence) round down to the character's
start, and lines past the end clamp to the end of the document.
"""

from __future__ import annotations

from lsprotocol import types

from ..tasks.source import Position, Source

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"


def _units(char: str, encoding: str) -> int:
    code = ord(char)
    if encoding == UTF16:
        return 2 if code > 0xFFFF else 1
    if encoding == UTF8:
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    return 1


def units_in(text: str, encoding: str) -> int:
    if encoding == UTF32 or text.isascii():
        return len(text)
    if encoding == UTF16:
        return len(text.encode("utf-16-le")) // 2
    return len(text.encode("utf-8"))


def to_code_points(line: str, character: int, encoding: str) -> int:
    """Column in code points for a client column on `line` (line text without its ending)."""
    if character <= 0:
        return 0
    if encoding == UTF32 or line.isascii():
        return min(character, len(line))
    count = 0
    for index, char in enumerate(line):
        count += _units(char, encoding)
        if count > character:
            return index  # inside this character: round down to its start
        if count == character:
            return index + 1
    return len(line)


def to_client_units(line: str, column: int, encoding: str) -> int:
    return units_in(line[: max(0, column)], encoding)


def _end_of_document(source: Source) -> Position:
    """Where the text ends: after a final line ending that is the start of an empty line
    (the LSP counts it as a line), else at the end of the last line's text."""
    last = source.line_count - 1
    if source.lines[last].endswith(("\n", "\r")):
        return Position(source.line_count, 0)
    return Position(last, len(source.lines[last]))


def from_client(source: Source, position: types.Position, encoding: str) -> Position:
    """A client position as a clamped code-point position in `source`."""
    if position.line >= source.line_count:
        return _end_of_document(source)
    line = max(0, position.line)
    return Position(line, to_code_points(source.line_text(line), position.character, encoding))


def to_client(source: Source, position: Position, encoding: str) -> types.Position:
    if position.line >= source.line_count:
        end = _end_of_document(source)
        text = source.line_text(end.line)
        return types.Position(line=end.line, character=units_in(text[: end.character], encoding))
    text = source.line_text(position.line)
    return types.Position(
        line=position.line, character=to_client_units(text, position.character, encoding)
    )


def client_range(source: Source, start: Position, end: Position, encoding: str) -> types.Range:
    return types.Range(
        start=to_client(source, start, encoding), end=to_client(source, end, encoding)
    )


def lines_range(source: Source, first: int, last: int, encoding: str) -> types.Range:
    """The code on lines first..last (0-based, inclusive): from the first line's first
    non-blank character to the end of the last line's text (no indentation, no final EOL)."""
    last = min(last, max(0, source.line_count - 1))
    first_text = source.line_text(first)
    indent = len(first_text) - len(first_text.lstrip())
    start = Position(first, indent if indent < len(first_text) else 0)
    return client_range(source, start, Position(last, len(source.line_text(last))), encoding)
