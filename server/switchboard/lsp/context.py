"""What a feature may use of the language server, and nothing more.

Features type against `FeatureContext`, not the server class (as `Notifier` types against
`Messenger`), so a feature knows the documents, the settings, the engine and a few ways to
talk to the client, and the server knows no feature: `wiring.py` connects the two.
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from lsprotocol import types

if TYPE_CHECKING:
    from ..config import Config
    from ..engine import Engine
    from ..gateway import Answer, Ask
    from .documents import Document, DocumentStore, LineShift
    from .notify import Notifier
    from .settings import EditorSettings

T = TypeVar("T")
F = TypeVar("F", bound="Feature")


@dataclass(frozen=True)
class ClientSupport:
    """What the client said it can do, in the terms features ask about."""

    resolve_edits: bool = False  # computes an action's edit in `codeAction/resolve`
    document_changes: bool = False  # applies versioned `TextDocumentEdit`s
    progress: bool = False  # `window/workDoneProgress/create`
    configuration: bool = False  # answers `workspace/configuration`
    inline_completion: bool = False  # `textDocument/inlineCompletion` (LSP 3.18)
    # An inline item inserted at the cursor carries the empty range there. VS Code needs it
    # (without one it replaces the word at the cursor); Neovim draws a suggestion with a range
    # over the text after the cursor, and inserts one without a range at the cursor, as LSP says.
    inline_insert_range: bool = True

    @classmethod
    def of(cls, capabilities: types.ClientCapabilities, client_name: str = "") -> ClientSupport:
        text = capabilities.text_document
        resolve = text.code_action.resolve_support if text and text.code_action else None
        workspace = capabilities.workspace
        edit = workspace.workspace_edit if workspace else None
        window = capabilities.window
        return cls(
            resolve_edits=bool(resolve and "edit" in resolve.properties),
            document_changes=bool(edit and edit.document_changes),
            progress=bool(window and window.work_done_progress),
            configuration=bool(workspace and workspace.configuration),
            inline_completion=bool(text and text.inline_completion),
            inline_insert_range=client_name.lower() != "neovim",
        )


class FeatureContext(Protocol):
    """The server as a feature sees it."""

    @property
    def documents(self) -> DocumentStore: ...

    @property
    def settings(self) -> EditorSettings: ...

    @property
    def config(self) -> Config:
        """The config with the project's and the editor's overlays applied."""
        ...

    @property
    def engine(self) -> Engine:
        """Built on first use; raises RuntimeError (already reported) when it cannot be."""
        ...

    @property
    def notifier(self) -> Notifier: ...

    @property
    def encoding(self) -> str:
        """The position encoding agreed with the client."""
        ...

    @property
    def supports(self) -> ClientSupport: ...

    async def ask(self, ask: Ask[T], *, quiet: bool = False) -> Answer[T]:
        """The engine's answer, with the editor kept informed (see `SwitchboardServer.ask`)."""
        ...

    def first_model(self, route: str) -> str | None: ...

    def get_feature(self, kind: type[F]) -> F:
        """The server's one instance of a feature, built on first use."""
        ...

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Run in the background; cancelled when the server shuts down."""
        ...

    def document_saved(self, uri: str) -> None:
        """Tell every feature that the editor saved `uri`."""
        ...

    # To the client, under pygls' own names.

    def text_document_publish_diagnostics(self, params: types.PublishDiagnosticsParams) -> None: ...

    def progress(self, params: types.ProgressParams) -> None: ...

    async def window_work_done_progress_create_async(
        self, params: types.WorkDoneProgressCreateParams
    ) -> None: ...

    async def workspace_apply_edit_async(
        self, params: types.ApplyWorkspaceEditParams
    ) -> types.ApplyWorkspaceEditResult: ...


class Feature:
    """A feature: built once from the context when first needed (see `wiring.py`), and told
    about documents that change or close."""

    def __init__(self, context: FeatureContext) -> None:
        self.context = context

    def document_opened(self, document: Document) -> None:
        """The editor opened the document."""

    def document_saved(self, uri: str) -> None:
        """The editor saved the document."""

    def document_changed(self, document: Document, shifts: list[LineShift]) -> None:
        """The document's text changed; `shifts` say how its lines moved."""

    def document_closed(self, uri: str) -> None:
        """The editor closed the document."""

    def close(self) -> None:
        """The server is shutting down: cancel what the feature runs in the background."""
