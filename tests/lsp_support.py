"""Driving `switchboard lsp` over stdio with pytest-lsp's client, against the fake provider."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.support import config_dict, toml


@dataclass
class Session:
    client: LanguageClient
    root: Path
    result: types.InitializeResult
    applied_edits: list[types.WorkspaceEdit] = field(default_factory=list)
    status: list[dict[str, Any]] = field(default_factory=list)

    def open(self, name: str, text: str, language: str = "python", version: int = 1) -> str:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, newline="")
        uri = path.as_uri()
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id=language, version=version, text=text
                )
            )
        )
        return uri

    def change(
        self, uri: str, version: int, *changes: types.TextDocumentContentChangeEvent
    ) -> None:
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=list(changes),
            )
        )

    async def code_actions(
        self,
        uri: str,
        range_: types.Range,
        diagnostics: list[types.Diagnostic] | None = None,
        only: list[str] | None = None,
    ) -> list[types.CodeAction]:
        result = await self.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=range_,
                context=types.CodeActionContext(diagnostics=diagnostics or [], only=only),
            )
        )
        return [item for item in result or [] if isinstance(item, types.CodeAction)]

    async def quick_fix(self, uri: str, diagnostic: types.Diagnostic) -> types.CodeAction:
        """The `Fix with AI` action offered for `diagnostic` (listed, not yet resolved)."""
        actions = await self.code_actions(uri, diagnostic.range, [diagnostic])
        [fix] = [a for a in actions if a.title.startswith("Fix with AI")]
        return fix

    async def hover(self, uri: str, line: int, character: int) -> types.Hover | None:
        return await self.client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=line, character=character),
            )
        )

    async def command(self, name: str, *arguments: Any) -> Any:
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=name, arguments=list(arguments))
        )

    async def wait_for(self, predicate, within: float = 10.0) -> None:
        """Poll until `predicate()` holds: notifications arrive on the client's own schedule."""
        async with asyncio.timeout(within):
            while not predicate():  # noqa: ASYNC110 - the predicate reads client state
                await asyncio.sleep(0.02)


def apply_text_edits(text: str, edits: list[types.TextEdit], encoding: str = "utf-16") -> str:
    """Apply LSP edits the way an editor would (positions in the client's units)."""
    from switchboard.lsp.positions import from_client
    from switchboard.tasks import Source

    source = Source(text)
    spans = []
    for edit in edits:
        start = source.offset(from_client(source, edit.range.start, encoding))
        end = source.offset(from_client(source, edit.range.end, encoding))
        spans.append((start, end, edit.new_text))
    for start, end, new_text in sorted(spans, reverse=True):
        text = text[:start] + new_text + text[end:]
    return text


def edits_of(edit: types.WorkspaceEdit, uri: str) -> tuple[int | None, list[types.TextEdit]]:
    """(version, edits) for `uri` from either form of WorkspaceEdit."""
    if edit.document_changes:
        for change in edit.document_changes:
            if isinstance(change, types.TextDocumentEdit) and change.text_document.uri == uri:
                return change.text_document.version, list(change.edits)  # type: ignore[arg-type]
    if edit.changes and uri in edit.changes:
        return None, list(edit.changes[uri])
    return None, []


def write_config(root: Path, fake_url: str, **sections: Any) -> Path:
    models = sections.pop(
        "models",
        {"fast": {"provider": "p"}, "backup": {"provider": "q"}, "strong": {"provider": "q"}},
    )
    routes = sections.pop(
        "routes",
        {
            "fix": ["fast", "backup"],
            "explain": ["fast", "backup"],
            "review": ["strong", "fast"],
            "complete": ["fast", "backup"],
        },
    )
    sections.setdefault("tasks", {}).setdefault("explain", {"hedge": False})
    raw = config_dict(root, {"p": fake_url, "q": fake_url}, models, routes, **sections)
    path = root / "user-config.toml"
    path.write_text(toml(raw))
    return path


async def start_session(
    root: Path,
    config_path: Path,
    *,
    client: str = "visual-studio-code",
    capabilities: types.ClientCapabilities | None = None,
    initialization_options: Any = None,
    configuration: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    client_handlers: dict[str, Any] | None = None,
) -> Session:
    server = ClientServerConfig(
        server_command=[sys.executable, "-m", "switchboard", "--config", str(config_path), "lsp"],
        server_env=env,
    )
    lsp_client = await server.start()
    _discriminate_code_actions(lsp_client)
    for method, handler in (client_handlers or {}).items():  # e.g. a client that never answers
        lsp_client.protocol.fm.features.pop(method, None)
        lsp_client.feature(method)(handler)
    if configuration is not None:
        lsp_client.set_configuration(configuration, section="switchboard")
    workspace = root / "workspace"
    workspace.mkdir(exist_ok=True)
    session = Session(lsp_client, workspace, None)  # type: ignore[arg-type]

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        session.applied_edits.append(params.edit)
        return types.ApplyWorkspaceEditResult(applied=True)

    @lsp_client.feature("switchboard/status")
    def status(params: Any) -> None:
        session.status.append(_plain(params))

    session.result = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities or client_capabilities(client),
            root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="workspace")],
            initialization_options=initialization_options,
        )
    )
    return session


def _plain(value: Any) -> Any:
    """Custom notifications arrive as pygls' attribute objects; tests want plain dicts."""
    if hasattr(value, "_asdict"):
        value = value._asdict()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _discriminate_code_actions(client: LanguageClient) -> None:
    """lsprotocol reads any code action that carries a `command` as a bare Command; editors
    (VS Code, Neovim) tell them apart by whether `command` is a string, and so do we."""
    converter = client.protocol._converter

    def structure(obj: Any, _: type) -> types.Command | types.CodeAction:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    converter.register_structure_hook(Union[types.Command, types.CodeAction], structure)  # noqa: UP007


async def stop_session(session: Session) -> None:
    try:
        await asyncio.wait_for(session.client.shutdown_session(), 10)
    finally:
        await session.client.stop()
