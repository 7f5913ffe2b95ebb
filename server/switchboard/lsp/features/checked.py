"""The file's diagnostics as Switchboard's own checkers see them, kept off the request path.

Neovim's own code-action key and Emacs eglot send a server only the diagnostics that server
published, so a ruff or pyright warning would get no "Fix with AI" there. The installed
checkers for a document's language run when it opens, is saved, or sits idle after a change,
per document version and bounded in time; their results are kept (not published: the user's
own linter shows them already) and listed as quick fixes when a code-action request arrives
with no diagnostics of its own. Listing only reads what is kept: it never runs a checker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from lsprotocol import types

from ...checks.diagnostics import CheckDiagnostic
from ..context import Feature
from ..documents import Document, LineShift
from ..positions import lines_range

log = logging.getLogger(__name__)

# A change is checked once typing pauses this long; an open or a save at once.
IDLE_S = 1.5
_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
}


class CheckedDiagnostics(Feature):
    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._results: dict[str, tuple[int, list[CheckDiagnostic]]] = {}
        self._runs: dict[str, asyncio.Task[None]] = {}
        # One document checked at a time: opening a project's files must not start a type
        # checker per file at once.
        self._one_at_a_time = asyncio.Semaphore(1)

    # -- when to check --------------------------------------------------------------------

    def document_opened(self, document: Document) -> None:
        self._schedule(document.uri, 0.0)

    def document_saved(self, uri: str) -> None:
        self._schedule(uri, 0.0)

    def document_changed(self, document: Document, shifts: list[LineShift]) -> None:
        # A type checker takes seconds of CPU: not at every pause in typing.
        self._schedule(document.uri, IDLE_S, quick_only=True)

    def document_closed(self, uri: str) -> None:
        self._cancel(uri)
        self._results.pop(uri, None)

    def close(self) -> None:
        """The server is shutting down: no check may outlive it."""
        for uri in list(self._runs):
            self._cancel(uri)

    def _schedule(self, uri: str, delay_s: float, *, quick_only: bool = False) -> None:
        if not self.context.settings.checks.background:
            return
        self._cancel(uri)  # a newer version makes the running check pointless
        run = asyncio.ensure_future(self._check(uri, delay_s, quick_only))
        self._runs[uri] = run
        run.add_done_callback(lambda done: self._forget(uri, done))

    def _cancel(self, uri: str) -> None:
        run = self._runs.pop(uri, None)
        if run is not None:
            run.cancel()

    def _forget(self, uri: str, run: asyncio.Task[None]) -> None:
        if self._runs.get(uri) is run:
            self._runs.pop(uri, None)
        if not run.cancelled() and run.exception() is not None:
            log.info("checking %s failed: %s", uri, run.exception())

    async def _check(self, uri: str, delay_s: float, quick_only: bool) -> None:
        await asyncio.sleep(delay_s)
        async with self._one_at_a_time:
            await self._check_now(uri, quick_only)

    async def _check_now(self, uri: str, quick_only: bool = False) -> None:
        from ...checks import CheckerUnavailable, checkers_for_language, run_checker
        from ...engine import withheld_variables

        document = self.context.documents.get(uri)
        if document is None or document.path is None:
            return
        try:
            engine = self.context.engine
        except RuntimeError:  # a gateway that cannot be built has been reported
            return
        if engine.excluded_reason(document.path):
            return
        path = Path(document.path)
        config = self.context.config
        found: list[CheckDiagnostic] = []
        chosen = self.context.settings.checks.checkers
        for checker in checkers_for_language(document.source.language, config, engine.root):
            if (chosen and checker.name not in chosen) or (quick_only and not checker.quick):
                continue
            with contextlib.suppress(CheckerUnavailable):
                found += await run_checker(
                    checker,
                    path,
                    document.text,
                    root=engine.root or path.parent,
                    timeout_s=config.verify.timeout_s,
                    withheld=withheld_variables(config),
                )
        current = self.context.documents.get(uri)
        if current is not None and current.version == document.version:
            self._results[uri] = (document.version, found)
            if self.context.settings.checks.publish:
                from .review import ReviewFeature  # it publishes the document's diagnostics

                self.context.get_feature(ReviewFeature).publish(uri, document.version)

    # -- what listing reads -----------------------------------------------------------------

    def as_lsp(self, source: Any, kept: list[CheckDiagnostic]) -> list[types.Diagnostic]:
        """Kept diagnostics as the editor shows them, under the checker's name."""
        encoding = self.context.encoding
        return [
            types.Diagnostic(
                range=lines_range(source, d.line, d.end_line, encoding),
                message=d.message,
                source=d.source,
                code=d.code,
                severity=_SEVERITY.get(d.severity, types.DiagnosticSeverity.Warning),
            )
            for d in kept
        ]

    def published(self, uri: str) -> list[types.Diagnostic]:
        """What `checks.publish` adds to the document's published diagnostics: everything kept
        for its current version."""
        document = self.context.documents.get(uri)
        kept = self._results.get(uri)
        if document is None or kept is None or kept[0] != document.version:
            return []
        return self.as_lsp(document.source, kept[1])

    def on_lines(self, uri: str, version: int, first: int, last: int) -> list[CheckDiagnostic]:
        """The kept errors of this version of the document on lines first..last (a type
        checker's warnings, unasked for, are noise in a quick-fix menu)."""
        kept = self._results.get(uri)
        if kept is None or kept[0] != version:
            return []  # checked for another text: its lines may be elsewhere now
        return [
            d for d in kept[1] if d.severity == "error" and d.line <= last and d.end_line >= first
        ]

    def report(self, uri: Any = None, *_: Any) -> dict[str, Any]:
        """`switchboard.checkedDiagnostics <uri>`: what is kept for a document, and for which
        version (for a curious user, and for tests)."""
        kept = self._results.get(uri) if isinstance(uri, str) else None
        if kept is None:
            return {"version": None, "diagnostics": []}
        version, diagnostics = kept
        return {
            "version": version,
            "diagnostics": [
                {
                    "source": d.source,
                    "code": d.code,
                    "message": d.message,
                    "severity": d.severity,
                    "line": d.line,
                    "end_line": d.end_line,
                }
                for d in diagnostics
            ],
        }
