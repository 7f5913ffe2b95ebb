"""Building workspace edits the client can apply, in its position encoding."""

from __future__ import annotations

from lsprotocol import types

from ..tasks import LineReplacement
from .positions import client_range


def workspace_edit(
    uri: str, version: int, replacement: LineReplacement, encoding: str, document_changes: bool
) -> types.WorkspaceEdit:
    """A minimal edit of the replaced lines; versioned when the client supports it, so an edit
    for an older text is rejected by the client instead of landing in the wrong place."""
    edit = replacement.edit()
    text_edit = types.TextEdit(
        range=client_range(replacement.source, edit.start, edit.end, encoding),
        new_text=edit.new_text,
    )
    if document_changes:
        return types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=uri, version=version
                    ),
                    edits=[text_edit],
                )
            ]
        )
    return types.WorkspaceEdit(changes={uri: [text_edit]})
