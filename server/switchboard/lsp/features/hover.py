"""Hover: a short explanation of the code under the cursor, with who answered.

Hover fires often and costs money, so: a fresh cached answer returns at once; otherwise the
request waits a short delay (moving the mouse away cancels it before any model is asked), is
rate-limited per minute, and can be switched off or restricted to the cache in settings.
Cancelling the hover cancels the provider call, which closes its connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

from lsprotocol import types

from ...gateway import Answer, CacheState, NoAnswer
from ...tasks import ExcludedFile, Position
from ...tasks.explain import WORD
from ..context import Feature, FeatureContext
from ..positions import client_range, from_client

log = logging.getLogger(__name__)


class HoverBudget:
    """At most `limit` model-bound hovers in any 60 seconds."""

    what = "Hover"
    setting = "hover.maxPerMinute"

    def __init__(self) -> None:
        self._times: deque[float] = deque()
        self._refusing = False

    def allow(self, limit: int, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        while self._times and now - self._times[0] > 60.0:
            self._times.popleft()
        if len(self._times) >= limit:
            if not self._refusing:
                self._refusing = True
                log.info(
                    "%s limit reached (%d a minute, %s): answers come from the cache only "
                    "until it frees up.",
                    self.what,
                    limit,
                    self.setting,
                )
            return False
        self._refusing = False
        self._times.append(now)
        return True


def footer(answer: Answer[Any]) -> str:
    who = f"{answer.model} ({answer.provider})"
    label = {
        CacheState.MISS: "",
        CacheState.FRESH: " · cached",
        # Stale without attempts: served from the cache without asking (cache-only, limit).
        CacheState.STALE: " · stale cache: no model could answer"
        if answer.attempts
        else " · stale cache",
    }[answer.cache]
    return f"\n\n---\n*switchboard · {who}{label}*"


class Hover(Feature):
    """Explanations on hover, within the hover settings and the per-minute budget."""

    def __init__(self, context: FeatureContext) -> None:
        super().__init__(context)
        self.budget = HoverBudget()

    async def hover(self, params: types.HoverParams) -> types.Hover | None:
        context = self.context
        settings = context.settings.hover
        document = context.documents.get(params.text_document.uri)
        if not settings.enabled or document is None:
            return None
        source = document.source
        if params.position.line >= source.line_count:
            return None
        encoding = context.encoding
        position = from_client(source, params.position, encoding)
        line_text = source.line_text(position.line)
        if not line_text.strip():
            return None
        engine = context.engine
        try:
            ask = engine.explain_ask(source, position.line, position.character)
        except ExcludedFile:
            return None
        cached = engine.cached(ask)
        if cached is not None and cached.cache is CacheState.FRESH:
            context.notifier.answered("explain", cached)
            return _render(source, position, cached, encoding)
        if not settings.cache_only and settings.delay_ms > 0:
            # A passing mouse is cancelled during this wait: it costs nothing, not even budget.
            await asyncio.sleep(settings.delay_ms / 1000.0)
        if settings.cache_only or not self.budget.allow(settings.max_per_minute):
            cached = await engine.recall(ask)  # the team's cache too, never a model
            return _render(source, position, cached, encoding) if cached is not None else None
        try:
            answer = await context.ask(ask, quiet=True)  # hovers fire often: no message per miss
        except NoAnswer:
            return None
        return _render(source, position, answer, encoding)


def _render(source: Any, position: Position, answer: Answer[Any], encoding: str) -> types.Hover:
    line = source.line_text(position.line)
    word_range = None
    for match in WORD.finditer(line):
        if match.start() <= position.character <= match.end():
            word_range = client_range(
                source,
                Position(position.line, match.start()),
                Position(position.line, match.end()),
                encoding,
            )
            break
    return types.Hover(
        contents=types.MarkupContent(
            kind=types.MarkupKind.Markdown, value=answer.value.markdown + footer(answer)
        ),
        range=word_range,
    )
