"""Code actions: listed instantly (no model is called), computed on resolve.

Listing offers `Fix with AI: …` for each diagnostic in the request (any source), selection
actions when text is selected, the review's own suggestions, and `AI: Review file`. The edit is
computed in `codeAction/resolve`, or, for clients that cannot resolve, by the
`switchboard.applyAction` command, which applies it with `workspace/applyEdit`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from typing import Any

from lsprotocol import types

from ...checks.verify import Target
from ...engine import BUILTIN_EDITS
from ...gateway import NoAnswer
from ...tasks import ExcludedFile, LineReplacement
from ..context import Feature
from ..edits import workspace_edit
from ..names import APPLY_COMMAND, REVIEW_COMMAND
from ..positions import from_client
from .checked import CheckedDiagnostics
from .review import ReviewFeature

log = logging.getLogger(__name__)

_TITLE_CHARS = 80


def _wanted(kind: str, only: Sequence[str] | None) -> bool:
    """LSP: `only` lists kinds or their parents (`refactor` covers `refactor.rewrite`)."""
    return only is None or any(kind == want or kind.startswith(want + ".") for want in only)


def _title_message(message: str) -> str:
    first = message.strip().splitlines()[0] if message.strip() else "problem"
    return first if len(first) <= _TITLE_CHARS else first[: _TITLE_CHARS - 1] + "…"


def fingerprint(lines: list[str]) -> str:
    return hashlib.sha1("".join(lines).encode("utf-8", "surrogatepass")).hexdigest()[:16]


class CodeActions(Feature):
    """Lists actions (never asking a model) and computes their edits when asked."""

    def list_actions(self, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        context = self.context
        uri = params.text_document.uri
        document = context.documents.get(uri)
        if document is None or context.engine.excluded_reason(document.path):
            return None
        only = params.context.only
        source = document.source
        encoding = context.encoding
        actions: list[types.CodeAction] = []
        if _wanted(types.CodeActionKind.QuickFix, only):
            review = context.get_feature(ReviewFeature)
            diagnostics = params.context.diagnostics or self._checked(params, document)
            for diagnostic in diagnostics:
                suggestion = review.suggestion_action(uri, diagnostic)
                if suggestion is not None:
                    actions.append(suggestion)
                start = from_client(source, diagnostic.range.start, encoding)
                end = from_client(source, diagnostic.range.end, encoding)
                last = _last_line(start.line, end)
                data = _data(document.version, uri, start.line, last, source.lines, "fix")
                data["message"] = diagnostic.message
                # Who raised it, so that its own checker can verify the edit (resolve time only).
                data["source"] = diagnostic.source
                data["code"] = None if diagnostic.code is None else str(diagnostic.code)
                actions.append(
                    self._action(
                        f"Fix with AI: {_title_message(diagnostic.message)}",
                        types.CodeActionKind.QuickFix,
                        data,
                        diagnostics=[diagnostic],
                    )
                )
        selection = params.range
        if (
            context.settings.code_actions.selection
            and _wanted(types.CodeActionKind.RefactorRewrite, only)
            and (selection.start.line, selection.start.character)
            != (selection.end.line, selection.end.character)
        ):
            start = from_client(source, selection.start, encoding)
            end = from_client(source, selection.end, encoding)
            last = _last_line(start.line, end)
            choices = [(name, title) for name, (title, _, _) in BUILTIN_EDITS.items()]
            choices += [(name, action.title) for name, action in context.config.actions.items()]
            for name, title in choices:
                data = _data(document.version, uri, start.line, last, source.lines, "edit")
                data["action"] = name
                actions.append(self._action(title, types.CodeActionKind.RefactorRewrite, data))
        if _wanted(types.CodeActionKind.Source, only):
            actions.append(
                types.CodeAction(
                    title="AI: Review file",
                    kind=types.CodeActionKind.Source,
                    command=types.Command(
                        title="AI: Review file", command=REVIEW_COMMAND, arguments=[uri]
                    ),
                )
            )
        return actions

    def _checked(self, params: types.CodeActionParams, document: Any) -> list[types.Diagnostic]:
        """The background checks' diagnostics on the requested lines, for a client that sent
        none (Neovim's own code-action key, eglot): what they keep is only read here."""
        source = document.source
        encoding = self.context.encoding
        first = from_client(source, params.range.start, encoding).line
        last = _last_line(first, from_client(source, params.range.end, encoding))
        kept = self.context.get_feature(CheckedDiagnostics)
        uri = params.text_document.uri
        return kept.as_lsp(source, kept.on_lines(uri, document.version, first, last))

    def _action(
        self,
        title: str,
        kind: str,
        data: dict[str, Any],
        diagnostics: list[types.Diagnostic] | None = None,
    ) -> types.CodeAction:
        action = types.CodeAction(title=title, kind=kind, diagnostics=diagnostics, data=data)
        if not self.context.supports.resolve_edits:
            action.command = types.Command(title=title, command=APPLY_COMMAND, arguments=[data])
        return action

    async def resolve_action(self, action: types.CodeAction) -> types.CodeAction:
        """The action with its edit; one that is not ours (or has no data) comes back as is."""
        data = action.data
        if not isinstance(data, dict) or data.get("switchboard") != 1 or action.edit is not None:
            return action
        computed = await self.compute_edit(data)
        if computed is not None:
            action.edit, verification = computed
            action.data = {**data, **verification}
        return action

    async def apply_action(self, data: Any = None, *_: Any) -> bool:
        """For clients that cannot resolve: compute the edit, ask the client to apply it."""
        if not isinstance(data, dict) or data.get("switchboard") != 1:
            return False
        computed = await self.compute_edit(data)
        if computed is None:
            return False
        edit = computed[0]
        # Shielded: cancelling this command must not cancel pygls' pending reply (pygls #621).
        try:
            result = await asyncio.shield(
                self.context.workspace_apply_edit_async(
                    types.ApplyWorkspaceEditParams(edit=edit, label="Switchboard")
                )
            )
        except Exception as exc:  # the editor refused (eglot asks the user first): not our error
            log.info("the editor did not apply the edit: %s", exc)
            return False
        return bool(result and result.applied)

    async def compute_edit(
        self, data: dict[str, Any]
    ) -> tuple[types.WorkspaceEdit, dict[str, Any]] | None:
        """The action's edit, and what verified it (`verified_by`, `verification`)."""
        context = self.context
        documents = context.documents
        uri = data.get("uri")
        if not isinstance(uri, str):
            return None
        document = documents.get(uri)
        if document is None:
            return None
        try:
            start, end = int(data["start"]), int(data["end"])
        except (KeyError, TypeError, ValueError):
            return None
        source = document.source
        listed = data.get("version")
        if listed != document.version:
            # The text changed since the action was listed: follow its lines through the edits.
            moved = documents.follow(uri, listed, start, end) if isinstance(listed, int) else None
            if moved is None or fingerprint(source.lines[moved[0] : moved[1] + 1]) != data.get(
                "fingerprint"
            ):
                context.notifier.declined(
                    "Switchboard: the code changed since this action was offered; ask again."
                )
                return None
            start, end = moved
        engine = context.engine
        try:
            if data.get("kind") == "edit":
                ask = engine.edit_ask(source, start, end, str(data.get("action", "rewrite")))
            else:
                message = data.get("message")
                text = message if isinstance(message, str) else None
                ask = engine.fix_ask(source, start, end, text, target=_target(data, start, end))
        except (ExcludedFile, KeyError):
            return None
        try:
            answer = await context.ask(ask)
        except NoAnswer:
            return None
        replacement: LineReplacement = answer.value.replacement
        verification = answer.value.to_json() if data.get("kind") != "edit" else {}
        verified = {key: verification[key] for key in verification if key.startswith("verifi")}
        current = documents.get(uri)
        if current is None:
            return None
        if current.version != document.version:
            moved_replacement = documents.carry(uri, document.version, replacement)
            if moved_replacement is None:
                context.notifier.declined(
                    "Switchboard: the code changed while the model was answering; "
                    "the edit was not applied. Ask again."
                )
                return None
            replacement = moved_replacement
        edit = workspace_edit(
            uri, current.version, replacement, context.encoding, context.supports.document_changes
        )
        return edit, verified


def _last_line(start_line: int, end: Any) -> int:
    """A range ending at column 0 of a later line does not include that line."""
    if end.line > start_line and end.character == 0:
        return end.line - 1
    return max(start_line, end.line)


def _data(
    version: int, uri: str, start: int, end: int, lines: list[str], kind: str
) -> dict[str, Any]:
    return {
        "switchboard": 1,
        "kind": kind,
        "uri": uri,
        "version": version,
        "start": start,
        "end": end,
        "fingerprint": fingerprint(lines[start : end + 1]),
    }


def _target(data: dict[str, Any], start: int, end: int) -> Target | None:
    """The diagnostic a quick fix is for, as its checker will look for it."""
    source, code, message = data.get("source"), data.get("code"), data.get("message")
    if not isinstance(source, str) or not isinstance(message, str):
        return None
    return Target(source, code if isinstance(code, str) else None, message, start, end)
