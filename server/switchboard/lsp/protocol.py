"""pygls' protocol with four changes: the position encoding rule, our own document store,
commands that can be cancelled, and completion advertised by what the client can show."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcInvalidRequest
from pygls.protocol import LanguageServerProtocol, lsp_method

if TYPE_CHECKING:
    from .server import SwitchboardServer


def prefer_utf8_else_utf16(capabilities: types.ClientCapabilities) -> None:
    """utf-16 unless the client offers utf-8 (docs/DESIGN.md; pygls would take any first one)."""
    general = capabilities.general
    if general is None or not general.position_encodings:
        return
    offered = general.position_encodings
    general.position_encodings = (
        [types.PositionEncodingKind.Utf8] if types.PositionEncodingKind.Utf8 in offered else None
    )


class SwitchboardProtocol(LanguageServerProtocol):
    _server: SwitchboardServer

    # pygls drops two kinds of request without a reply, leaving the client waiting forever:
    # one whose params do not match the method's type, and any request after `shutdown`.

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcInvalidParams:
            if "id" in data and "method" in data:
                error = JsonRpcInvalidParams(f"invalid params for {data['method']}")
                self._send_response(data["id"], error=error.to_response_error())
                return None  # answered: nothing left to handle
            raise

    def handle_message(self, message: Any) -> None:
        if message is None:
            return
        method = getattr(message, "method", None)
        if self._shutdown and method not in (None, types.EXIT) and hasattr(message, "id"):
            error = JsonRpcInvalidRequest("the server is shutting down")
            self._send_response(message.id, error=error.to_response_error())
            return
        super().handle_message(message)

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams):  # type: ignore[override]
        prefer_utf8_else_utf16(params.capabilities)
        result = yield from super().lsp_initialize(params)
        encoding = result.capabilities.position_encoding or types.PositionEncodingKind.Utf16
        # lsprotocol's enum prints as "PositionEncodingKind.Utf16": use its value.
        self._server.documents.encoding = str(getattr(encoding, "value", encoding))
        self._advertise_completion(result.capabilities)
        return result

    def _advertise_completion(self, capabilities: types.ServerCapabilities) -> None:
        """Inline completion only to a client that declared it; completion items carrying the
        suggestion to the others (or to anyone whose `completion.items` setting asks)."""
        supports = self._server.supports
        if not supports.inline_completion:
            capabilities.inline_completion_provider = None
        items = self._server.settings.completion.items
        if not (items if items is not None else not supports.inline_completion):
            capabilities.completion_provider = None

    # Document sync runs synchronously, in message order, straight into our store.

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> None:  # type: ignore[override]
        document = self._server.documents.open(params.text_document)
        self._server.document_opened(document)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> None:  # type: ignore[override]
        document, shifts = self._server.documents.change(params)
        if document is not None:
            self._server.document_changed(document, shifts)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> None:  # type: ignore[override]
        self._server.documents.close(params.text_document.uri)
        self._server.document_closed(params.text_document.uri)

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    async def lsp_workspace__execute_command(self, params: types.ExecuteCommandParams) -> Any:  # type: ignore[override]
        """Run a command as the request's own task, so `$/cancelRequest` cancels its work
        (pygls runs it as a separate task whose reply alone gets cancelled)."""
        handler = self.fm.commands.get(params.command)
        if handler is None:
            raise JsonRpcInvalidParams.of(ValueError(f"unknown command {params.command!r}"))
        result = handler(*(params.arguments or []))
        if inspect.isawaitable(result):
            result = await result
        return result
