"""Open documents, kept in sync with the editor (full or incremental changes).

The server keeps its own store rather than pygls' workspace so that line splitting and
position conversion follow the LSP exactly (see positions.py) and no change costs more than
one splice of the text.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.uris import to_fs_path

from ..tasks import Position, Source
from ..tasks.source import count_line_breaks
from .positions import from_client

if TYPE_CHECKING:
    from ..tasks.edits import LineReplacement


@dataclass(frozen=True)
class LineShift:
    """A change that replaced lines first..last (inclusive) with `added` lines.

    `last` is `first - 1` when whole lines were only inserted: no existing line was touched.
    """

    first: int
    last: int
    added: int

    @property
    def delta(self) -> int:
        return self.added - (self.last - self.first + 1)

    @classmethod
    def of_change(
        cls, text: str, begin: int, finish: int, start: Position, end: Position, inserted: str
    ) -> LineShift:
        """What replacing text[begin:finish] (start..end) with `inserted` does to the lines.

        Breaks are counted with a character of context on each side, so a CR and an LF that
        the change joins into one CRLF (or splits into two breaks) count as what they become.
        """
        before, after = text[begin - 1 : begin] if begin else "", text[finish : finish + 1]
        old = count_line_breaks(before + text[begin:finish] + after)
        delta = count_line_breaks(before + inserted + after) - old
        joined = before == "\r" and (inserted + after).startswith("\n")
        if (
            start.character == 0
            and end.character == 0
            and (not inserted or inserted[-1] == "\n")
            and not joined
        ):
            # Whole lines out, whole lines in: line `end.line` itself is left as it was.
            return cls(start.line, end.line - 1, end.line - start.line + delta)
        return cls(start.line, end.line, end.line - start.line + 1 + delta)

    def moves(self, first: int, last: int) -> tuple[int, int] | None:
        """Where lines first..last are after this change; None if it touched them."""
        if self.last < first:
            return first + self.delta, last + self.delta
        if self.first > last:
            return first, last
        return None


# Changes remembered per document, to follow lines from an older version to the current one.
_HISTORY = 512


@dataclass
class Document:
    uri: str
    language_id: str
    version: int
    text: str

    @cached_property
    def path(self) -> str | None:
        return to_fs_path(self.uri) if self.uri.startswith("file:") else None

    @cached_property
    def source(self) -> Source:
        return Source(self.text, self.path or self.uri, self.language_id or None)


@dataclass(frozen=True)
class _Step:
    before: int  # the version the change applied to
    after: int
    shifts: tuple[LineShift, ...]


@dataclass
class DocumentStore:
    encoding: str = "utf-16"
    _documents: dict[str, Document] = field(default_factory=dict)
    _history: dict[str, deque[_Step]] = field(default_factory=dict)

    def get(self, uri: str) -> Document | None:
        return self._documents.get(uri)

    def open(self, item: types.TextDocumentItem) -> Document:
        document = Document(item.uri, item.language_id, item.version, item.text)
        self._documents[item.uri] = document
        self._history[item.uri] = deque(maxlen=_HISTORY)
        return document

    def close(self, uri: str) -> None:
        self._documents.pop(uri, None)
        self._history.pop(uri, None)

    def carry(self, uri: str, version: int, replacement: LineReplacement) -> LineReplacement | None:
        """`replacement`, made for `version` of the document, on its current text; None when
        the editor's changes since touched its lines (it is never moved onto a look-alike)."""
        from ..tasks.edits import relocate  # the edit machinery, loaded after initialize

        lines = self.follow(uri, version, replacement.start, replacement.end)
        current = self._documents.get(uri)
        if lines is None or current is None:
            return None
        return relocate(replacement, current.source, lines[0])

    def follow(self, uri: str, version: int, first: int, last: int) -> tuple[int, int] | None:
        """Where lines first..last of `version` of the document are now; None when an edit
        touched them since (or the changes since that version are not all known)."""
        document = self._documents.get(uri)
        if document is None:
            return None
        steps = {step.before: step for step in self._history.get(uri, ())}
        while version != document.version:
            step = steps.get(version)
            if step is None:
                return None
            for shift in step.shifts:
                moved = shift.moves(first, last)
                if moved is None:
                    return None
                first, last = moved
            version = step.after
        return first, last

    def change(
        self, params: types.DidChangeTextDocumentParams
    ) -> tuple[Document | None, list[LineShift]]:
        """Apply the changes; returns the new document and which lines each change replaced."""
        old = self._documents.get(params.text_document.uri)
        if old is None:
            return None, []  # a change for a document never opened: nothing to update
        text = old.text
        shifts: list[LineShift] = []
        for change in params.content_changes:
            if isinstance(change, types.TextDocumentContentChangePartial):
                source = old.source if text is old.text else Source(text)
                start = from_client(source, change.range.start, self.encoding)
                end = from_client(source, change.range.end, self.encoding)
                if (end.line, end.character) < (start.line, start.character):
                    start, end = end, start
                begin, finish = source.offset(start), source.offset(end)
                shifts.append(LineShift.of_change(text, begin, finish, start, end, change.text))
                text = text[:begin] + change.text + text[finish:]
            else:
                text = change.text
                shifts.append(LineShift(0, 1 << 30, 0))
        document = Document(old.uri, old.language_id, params.text_document.version, text)
        self._documents[old.uri] = document
        history = self._history.setdefault(old.uri, deque(maxlen=_HISTORY))
        history.append(_Step(old.version, document.version, tuple(shifts)))
        return document, shifts
