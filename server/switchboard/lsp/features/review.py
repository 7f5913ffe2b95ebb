"""Whole-file review: `switchboard.review <uri>` with progress, findings as diagnostics, and a
quick fix for each finding that came with a suggestion.

Findings follow the text: an edit above a finding moves it, an edit touching its lines removes
it (the model's remark was about text that no longer exists), and closing the file clears them.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcContentModified
from pygls.uris import to_fs_path

from ...gateway import NoAnswer
from ...tasks import ExcludedFile, Finding, LineReplacement, Source
from ...tasks.edits import relocate
from ..context import Feature, FeatureContext
from ..documents import Document, LineShift
from ..edits import workspace_edit
from ..positions import lines_range

log = logging.getLogger(__name__)

SOURCE = "switchboard"
_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
}
# How long to wait for the client to accept a progress token before going on without it.
_PROGRESS_CREATE_WAIT_S = 1.0


@dataclass
class Tracked:
    id: str
    finding: Finding
    first: int
    last: int
    lines: list[str]  # the text of first..last when the finding was made
    fix_lines: str | None  # replacement for first..last, if the model suggested one


@dataclass(eq=False)
class _Run:
    task: asyncio.Task[dict[str, Any]]
    version: int | None
    waiters: int = 0
    superseded: bool = False


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class ReviewFeature(Feature):
    """Reviews of whole files, and the findings they left on the documents."""

    def __init__(self, context: FeatureContext) -> None:
        super().__init__(context)
        self._findings: dict[str, list[Tracked]] = {}
        self._running: dict[str, _Run] = {}

    # -- running a review ---------------------------------------------------------------------

    def did_save(self, params: types.DidSaveTextDocumentParams) -> None:
        """`textDocument/didSave`, for every feature (see `document_saved`)."""
        self.context.document_saved(params.text_document.uri)

    def document_saved(self, uri: str) -> None:
        """Review a saved document when the settings ask for it (`review.onSave`)."""
        if self.context.settings.review.on_save and self.context.documents.get(uri):
            self.context.spawn(self.run(uri))

    async def run(self, uri: Any = None, *_: Any) -> dict[str, Any]:
        """Review `uri`. Requests for the same text share one review; a request for an older
        text than a newer review's gets ContentModified. Cancelling the last request waiting
        on a review cancels it (and its provider call)."""
        if not isinstance(uri, str):
            raise ValueError("switchboard.review takes the document URI as its argument")
        document = self.context.documents.get(uri)
        version = document.version if document is not None else None
        run = self._running.get(uri)
        if run is None or run.task.done() or run.version != version:
            if run is not None and not run.task.done():
                run.superseded = True
                run.task.cancel()
            run = _Run(asyncio.ensure_future(self._review(uri)), version)
            self._running[uri] = run
            run.task.add_done_callback(lambda _: self._forget(uri, run))
        run.waiters += 1
        try:
            return await asyncio.shield(run.task)
        except asyncio.CancelledError:
            if run.superseded and not _being_cancelled():
                raise JsonRpcContentModified("a newer review of this file replaced it") from None
            raise
        finally:
            run.waiters -= 1
            if run.waiters == 0 and not run.task.done():
                run.task.cancel()

    def _forget(self, uri: str, run: _Run) -> None:
        if self._running.get(uri) is run:
            self._running.pop(uri, None)

    async def _review(self, uri: str) -> dict[str, Any]:
        context = self.context
        document = context.documents.get(uri)
        source, version = (document.source, document.version) if document else (_read(uri), None)
        if source is None:
            return {"findings": 0, "error": "the file is not open and cannot be read"}
        try:
            ask = context.engine.review_ask(source)
        except ExcludedFile as excluded:
            return {"findings": 0, "error": str(excluded)}
        except NoAnswer as too_large:  # no model on the route could take the whole file
            context.notifier.failed("review", too_large)
            return {"findings": 0, "error": str(too_large), **too_large.envelope()}
        # What it will likely cost, before it is spent (no model is asked for this).
        estimate = context.engine.gateway.estimate(ask)
        title = f"Reviewing {source.name}"
        if estimate is not None and estimate.price.known and not estimate.price.free:
            title += f" ({estimate.describe()})"
        async with self._progress(title) as report:
            model = context.first_model(ask.route)
            report(f"asking {model}" if model else "asking")
            try:
                answer = await context.ask(ask)
            except NoAnswer as failure:
                return {"findings": 0, "error": str(failure), **failure.envelope()}
            report("publishing findings")
            current = context.documents.get(uri)
            tracked = self._track(uri, answer.value.findings, source, version)
            self._findings[uri] = tracked
            self.publish(uri, current.version if current else version)
            return {"findings": len(tracked), **answer.envelope()}

    def _track(
        self, uri: str, findings: tuple[Finding, ...], reviewed: Source, version: int | None
    ) -> list[Tracked]:
        """Findings placed on the current text (it may have changed during the review)."""
        documents = self.context.documents
        current = documents.get(uri)
        tracked = []
        for finding in findings:
            fix_lines = finding.fix.new_lines if finding.fix else None
            placed = LineReplacement(reviewed, finding.line, finding.end_line, fix_lines or "")
            if current is None:
                moved: LineReplacement | None = placed  # reviewed from disk, still not open
            elif version is None:  # reviewed from disk, opened since: the lines must match
                moved = relocate(placed, current.source, placed.start)
            else:
                moved = documents.carry(uri, version, placed)
            if moved is None:
                continue  # its lines were edited meanwhile: the remark no longer applies
            tracked.append(
                Tracked(
                    id=uuid.uuid4().hex[:12],
                    finding=finding,
                    first=moved.start,
                    last=moved.end,
                    lines=moved.source.lines[moved.start : moved.end + 1],
                    fix_lines=fix_lines,
                )
            )
        return tracked

    # -- diagnostics ----------------------------------------------------------------------------

    def publish(self, uri: str, version: int | None) -> None:
        document = self.context.documents.get(uri)
        source = document.source if document is not None else _read(uri)
        diagnostics = []
        for item in self._findings.get(uri, []):
            if source is None:
                break
            diagnostics.append(
                types.Diagnostic(
                    range=lines_range(source, item.first, item.last, self.context.encoding),
                    message=item.finding.message,
                    severity=_SEVERITY.get(item.finding.severity, types.DiagnosticSeverity.Warning),
                    source=SOURCE,
                    code="ai-review",
                    data={"finding": item.id},
                )
            )
        if self.context.settings.checks.publish:  # opt-in: the user's own linter shows them
            from .checked import CheckedDiagnostics

            diagnostics += self.context.get_feature(CheckedDiagnostics).published(uri)
        self.context.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )

    def document_changed(self, document: Document, shifts: list[LineShift]) -> None:
        tracked = self._findings.get(document.uri)
        if not tracked or not shifts:
            return
        kept = []
        for item in tracked:
            for shift in shifts:
                where = shift.moves(item.first, item.last)
                if where is None:
                    break  # the edit touched the finding's lines
                item.first, item.last = where
            else:
                kept.append(item)
        if len(kept) != len(tracked) or any(s.delta for s in shifts):
            self._findings[document.uri] = kept
            self.publish(document.uri, document.version)

    def document_closed(self, uri: str) -> None:
        if self._findings.pop(uri, None):
            self.context.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
            )
        running = self._running.pop(uri, None)
        if running is not None:
            running.task.cancel()

    # -- quick fixes for findings -------------------------------------------------------------

    def suggestion_action(self, uri: str, diagnostic: types.Diagnostic) -> types.CodeAction | None:
        """`Apply AI suggestion` for one of our findings: the edit is known, no model is asked."""
        if diagnostic.source != SOURCE or not isinstance(diagnostic.data, dict):
            return None
        item = next(
            (t for t in self._findings.get(uri, []) if t.id == diagnostic.data.get("finding")),
            None,
        )
        document = self.context.documents.get(uri)
        if item is None or item.fix_lines is None or document is None:
            return None
        source = document.source
        if source.lines[item.first : item.last + 1] != item.lines:
            return None  # should not happen (edits there drop the finding), but never misplace
        replacement = LineReplacement(source, item.first, item.last, item.fix_lines)
        title = f"Apply AI suggestion: {item.finding.message.splitlines()[0][:70]}"
        return types.CodeAction(
            title=title,
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[diagnostic],
            is_preferred=True,
            edit=workspace_edit(
                uri,
                document.version,
                replacement,
                self.context.encoding,
                self.context.supports.document_changes,
            ),
        )

    # -- progress ---------------------------------------------------------------------------------

    def _progress(self, title: str) -> _Progress:
        return _Progress(self.context, title)


class _Progress:
    """`$/progress` when the client supports it; never blocks on `window/workDoneProgress/create`
    (some clients never answer it)."""

    def __init__(self, context: FeatureContext, title: str) -> None:
        self.context = context
        self.title = title
        self.token: str | None = None

    async def __aenter__(self):
        if self.context.supports.progress:
            token = f"switchboard-{uuid.uuid4().hex[:8]}"
            created = asyncio.ensure_future(
                self.context.window_work_done_progress_create_async(
                    types.WorkDoneProgressCreateParams(token=token)
                )
            )
            # asyncio.wait does not cancel the request on timeout: pygls can still settle it.
            done, _ = await asyncio.wait({created}, timeout=_PROGRESS_CREATE_WAIT_S)
            if created in done and created.exception() is None:
                self.token = token
                self._send(types.WorkDoneProgressBegin(title=self.title, cancellable=False))
        return self._report

    def _report(self, message: str) -> None:
        self._send(types.WorkDoneProgressReport(message=message))

    def _send(self, value: Any) -> None:
        if self.token is not None:
            self.context.progress(types.ProgressParams(token=self.token, value=value))

    async def __aexit__(self, *exc: object) -> None:
        self._send(types.WorkDoneProgressEnd(message="done"))


def _read(uri: str) -> Source | None:
    """A file that is not open in the editor, read from disk."""
    if not uri.startswith("file:"):
        return None
    path = to_fs_path(uri)
    if path is None:
        return None
    try:
        return Source(Path(path).read_text(encoding="utf-8"), path)
    except (OSError, UnicodeDecodeError):
        return None
