"""Suggestions as you type: `textDocument/inlineCompletion` (LSP 3.18), and completion items
carrying the same suggestion for clients without it.

Completion fires on every keystroke, so most requests must never reach a model: typed-ahead
reuse first (the user typed the start of the last suggestion: serve the rest), then a fresh
cache entry for the same context window, then a debounce (a newer request for the document
cancels this one meanwhile), then a per-minute cap.

A newer request cancels the older one. The older one's provider call is cancelled too (its
connection closed) when the user went elsewhere; when they typed on from where it was asked,
the newer request waits for that call and serves what is left of its suggestion, instead of
asking anew on every key while the model answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from lsprotocol import types

from ...gateway import Answer, CacheState, NoAnswer
from ...tasks import ExcludedFile, Source
from ...tasks.complete import MAX_SUGGESTION_LINES, fit_after_cursor
from ..context import Feature, FeatureContext
from ..names import ACCEPT_COMPLETION_COMMAND
from ..positions import client_range, from_client
from .hover import HoverBudget

log = logging.getLogger(__name__)

_RECENT = 8  # suggestions remembered per document for typed-ahead reuse


@dataclass(frozen=True, slots=True)
class Shown:
    """The last suggestion shown in a document: where, after what, and who wrote it."""

    line: int
    line_before: str  # the cursor's line up to the cursor, when it was asked
    text: str
    model: str
    latency_ms: float


@dataclass(frozen=True, slots=True)
class Pending:
    """A provider call for a suggestion, asked at `at` (its text is not known yet)."""

    at: Shown
    call: asyncio.Task[Answer[Any]]
    started: float


@dataclass(frozen=True, slots=True)
class Offer:
    text: str
    model: str
    latency_ms: float


class CompletionBudget(HoverBudget):
    """At most `limit` model-bound completions in any 60 seconds."""

    what = "Completion"
    setting = "completion.maxPerMinute"


class Completion(Feature):
    def __init__(self, context: FeatureContext) -> None:
        super().__init__(context)
        self.budget = CompletionBudget()
        self._running: dict[str, asyncio.Task[Any]] = {}
        # The last few suggestions per document, newest last: typing along one, then back
        # over it (or along an older one), still needs no model.
        self._shown: dict[str, deque[Shown]] = {}
        self._pending: dict[str, Pending] = {}  # the provider call in flight, per document

    # -- LSP --------------------------------------------------------------------------------

    async def inline(self, params: types.InlineCompletionParams) -> types.InlineCompletionList:
        uri = params.text_document.uri
        offer = await self._offer(uri, params.position)
        if offer is None:
            return types.InlineCompletionList(items=[])
        with_range = self.context.supports.inline_insert_range
        item = types.InlineCompletionItem(
            insert_text=offer.text,
            range=self._cursor_range(uri, params.position) if with_range else None,
            command=self._accept_command(offer),
        )
        return types.InlineCompletionList(items=[item])

    async def items(self, params: types.CompletionParams) -> types.CompletionList | None:
        items = self.context.settings.completion.items
        if not (items if items is not None else not self.context.supports.inline_completion):
            return None
        uri = params.text_document.uri
        offer = await self._offer(uri, params.position)
        if offer is None:
            return types.CompletionList(is_incomplete=True, items=[])
        first = offer.text.split("\n", 1)[0]
        edit_range = self._cursor_range(uri, params.position)
        item = types.CompletionItem(
            label=first.strip() or offer.text.strip()[:40],
            kind=types.CompletionItemKind.Text,
            detail=f"switchboard · {offer.model}",
            documentation=types.MarkupContent(
                kind=types.MarkupKind.Markdown, value=f"```\n{offer.text}\n```"
            ),
            insert_text_format=types.InsertTextFormat.PlainText,
            text_edit=types.TextEdit(range=edit_range, new_text=offer.text) if edit_range else None,
            insert_text=offer.text,
            # The suggestion is for this exact spot: let the client re-ask as the user types.
            filter_text=first,
            sort_text="0",
            command=self._accept_command(offer),
        )
        return types.CompletionList(is_incomplete=True, items=[item])

    def accept(self, *arguments: Any) -> dict[str, Any]:
        """`switchboard.acceptCompletion`: the user took a suggestion by `model`."""
        model = arguments[0] if arguments and isinstance(arguments[0], str) else None
        if model is None:
            return {"accepted": False}
        self._usage(model, accepted=True)
        return {"accepted": True}

    def document_closed(self, uri: str) -> None:
        self._shown.pop(uri, None)
        task = self._running.pop(uri, None)
        if task is not None:
            task.cancel()
        self._drop_pending(uri)

    def close(self) -> None:
        for uri in list(self._pending):
            self._drop_pending(uri)

    # -- the work ---------------------------------------------------------------------------

    async def _offer(self, uri: str, position: types.Position) -> Offer | None:
        context = self.context
        settings = context.settings.completion
        document = context.documents.get(uri)
        if not settings.enabled or document is None:
            return None
        # A newer request for the document makes the older one pointless: cancel it (and its
        # provider call, which closes the connection).
        current = asyncio.current_task()
        older = self._running.get(uri)
        if older is not None and older is not current and not older.done():
            older.cancel()
        if current is not None:
            self._running[uri] = current
        try:
            return await self._suggest(uri, document.source, position)
        finally:
            if self._running.get(uri) is current:
                del self._running[uri]

    async def _suggest(self, uri: str, source: Source, client_position: Any) -> Offer | None:
        context = self.context
        settings = context.settings.completion
        if client_position.line >= source.line_count:
            return None
        position = from_client(source, client_position, context.encoding)
        line_before = source.line_text(position.line)[: position.character]
        reused = self._typed_ahead(uri, source, position.line, line_before)
        if reused is not None:
            return self._show(uri, position.line, line_before, reused)
        engine = context.engine
        try:
            ask = engine.complete_ask(source, position.line, position.character)
        except ExcludedFile:
            return None
        cached = engine.cached(ask)
        if cached is not None and cached.cache is CacheState.FRESH:
            return self._show(uri, position.line, line_before, _offer_of(cached, 0.0))
        pending = self._pending.get(uri)
        if pending is not None:
            if _typed_since(source, pending.at, position.line, line_before) is not None:
                # Typed on from where it was asked: its answer is the best there will be soon.
                with contextlib.suppress(NoAnswer):
                    await asyncio.shield(pending.call)
                reused = self._typed_ahead(uri, source, position.line, line_before)
                if reused is not None:  # counted with the model's time, from when it was asked
                    waited = (time.monotonic() - pending.started) * 1000.0
                    reused = Offer(reused.text, reused.model, waited)
                    return self._show(uri, position.line, line_before, reused)
            else:
                self._drop_pending(uri)  # the user went elsewhere: close its connection
        if settings.debounce_ms > 0:
            # Typing on cancels this wait: a keystroke in the middle of a word costs nothing.
            await asyncio.sleep(settings.debounce_ms / 1000.0)
        if not self.budget.allow(settings.max_per_minute):
            cached = await engine.recall(ask)
            return (
                self._show(uri, position.line, line_before, _offer_of(cached, 0.0))
                if cached is not None
                else None
            )
        at = Shown(position.line, line_before, "", "", 0.0)
        pending = Pending(at, asyncio.ensure_future(context.ask(ask, quiet=True)), time.monotonic())
        self._drop_pending(uri)
        self._pending[uri] = pending
        pending.call.add_done_callback(lambda call: self._answered(uri, pending))
        try:
            answer = await asyncio.shield(pending.call)  # a newer request may use it still
        except NoAnswer:
            return None
        return self._show(uri, position.line, line_before, self._offer_from(pending, answer))

    def _answered(self, uri: str, pending: Pending) -> None:
        """Keep a finished call's suggestion for typed-ahead reuse, whoever waits for it."""
        if self._pending.get(uri) is pending:
            del self._pending[uri]
        call = pending.call
        if call.cancelled() or call.exception() is not None:
            if not call.cancelled() and not isinstance(call.exception(), NoAnswer):
                log.info("a suggestion failed: %s", call.exception())
            return
        at, offer = pending.at, self._offer_from(pending, call.result())
        self._remember(
            uri, Shown(at.line, at.line_before, offer.text, offer.model, offer.latency_ms)
        )

    @staticmethod
    def _offer_from(pending: Pending, answer: Answer[Any]) -> Offer:
        return _offer_of(answer, (time.monotonic() - pending.started) * 1000.0)

    def _drop_pending(self, uri: str) -> None:
        pending = self._pending.pop(uri, None)
        if pending is not None and not pending.call.done():
            pending.call.cancel()

    def _typed_ahead(self, uri: str, source: Source, line: int, line_before: str) -> Offer | None:
        """The rest of a recent suggestion whose beginning the user has typed since (Enter
        included), less what already follows the cursor (a bracket the editor closed)."""
        after = self.context.config.task("complete").context_lines_after
        following = range(line + 1, min(source.line_count, line + 1 + after))
        line_after = source.line_text(line)[len(line_before) :]
        suffix = "\n".join([line_after, *(source.line_text(n) for n in following)])
        for shown in reversed(self._shown.get(uri, ())):
            typed = _typed_since(source, shown, line, line_before)
            if not typed or not shown.text.startswith(typed) or len(typed) >= len(shown.text):
                continue
            rest = fit_after_cursor(shown.text[len(typed) :], suffix, line_after)
            if rest.strip():
                return Offer(rest, shown.model, 0.0)
        return None

    def _show(self, uri: str, line: int, line_before: str, offer: Offer) -> Offer:
        self._remember(uri, Shown(line, line_before, offer.text, offer.model, offer.latency_ms))
        self._usage(offer.model, accepted=False, latency_ms=offer.latency_ms or None)
        return offer

    def _remember(self, uri: str, shown: Shown) -> None:
        recent = self._shown.setdefault(uri, deque(maxlen=_RECENT))
        last = recent[-1] if recent else None
        if last is None or (last.line, last.line_before, last.text) != (
            shown.line,
            shown.line_before,
            shown.text,
        ):
            recent.append(shown)

    def _usage(self, model: str, *, accepted: bool, latency_ms: float | None = None) -> None:
        config = self.context.config.models.get(model)
        provider = config.provider if config is not None else "unknown"
        usage = self.context.engine.gateway.usage
        usage.record_suggestion(model, provider, accepted=accepted, latency_ms=latency_ms)

    def _cursor_range(self, uri: str, position: types.Position) -> types.Range | None:
        document = self.context.documents.get(uri)
        if document is None:
            return None
        source = document.source
        at = from_client(source, position, self.context.encoding)
        return client_range(source, at, at, self.context.encoding)

    @staticmethod
    def _accept_command(offer: Offer) -> types.Command:
        return types.Command(
            title="Accept suggestion", command=ACCEPT_COMPLETION_COMMAND, arguments=[offer.model]
        )


def _typed_since(source: Source, shown: Shown, line: int, line_before: str) -> str | None:
    """What is now between where `shown` was offered and the cursor (at the end of
    `line_before` on `line`), lines joined by newlines; None when the text before that place has
    changed since."""
    if not shown.line <= line <= shown.line + MAX_SUGGESTION_LINES:
        return None
    first = line_before if line == shown.line else source.line_text(shown.line)
    if not first.startswith(shown.line_before):
        return None
    lines = [first[len(shown.line_before) :]]
    if line > shown.line:
        lines += [source.line_text(n) for n in range(shown.line + 1, line)] + [line_before]
    return "\n".join(lines)


def _offer_of(answer: Answer[Any], latency_ms: float) -> Offer:
    return Offer(answer.value.text, answer.model, latency_ms)
