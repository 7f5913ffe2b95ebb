"""Open documents, kept in sync with the editor (full or incremental changes).

The server keeps its own store rather than pygls' workspace so that line splitting and
position conversion follow the LSP exactly (see positions.py) and no change costs more than
one splice of the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from lsprotocol import types
from pygls.uris import to_fs_path

from ..tasks import Source
from ..tasks.source import count_line_breaks
from .positions import from_client


@dataclass(frozen=True)
class LineShift:
    """A change that replaced lines first..last (inclusive) with `added` lines."""

    first: int
    last: int
    added: int

    @property
    def delta(self) -> int:
        return self.added - (self.last - self.first + 1)


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


@dataclass
class DocumentStore:
    encoding: str = "utf-16"
    _documents: dict[str, Document] = field(default_factory=dict)

    def get(self, uri: str) -> Document | None:
        return self._documents.get(uri)

    def open(self, item: types.TextDocumentItem) -> Document:
        document = Document(item.uri, item.language_id, item.version, item.text)
        self._documents[item.uri] = document
        return document

    def close(self, uri: str) -> None:
        self._documents.pop(uri, None)

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
                text = text[:begin] + change.text + text[finish:]
                added = count_line_breaks(change.text) + 1
                shifts.append(LineShift(start.line, end.line, added))
            else:
                text = change.text
                shifts.append(LineShift(0, 1 << 30, 0))
        document = Document(old.uri, old.language_id, params.text_document.version, text)
        self._documents[old.uri] = document
        return document, shifts
