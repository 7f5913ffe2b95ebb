"""The one path from "someone asks" to "a model answers", shared by the CLI and the server.

The engine guards privacy (excluded files), turns a request into a task's `Ask`, and hands it
to the gateway. Callers get the gateway's `Answer` (or `NoAnswer`) back unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .config import Config
from .gateway import Answer, Ask, Attempt, Gateway, ModelStats, NoAnswer, Outcome
from .gateway.estimate import Estimate
from .gateway.policy import estimate_tokens, fits, models_that_fit
from .gateway.report import CacheFigures, ModelRow, StatsReport
from .tasks import (
    DOCSTRING_INSTRUCTION,
    REWRITE_INSTRUCTION,
    ChangedLines,
    EditResult,
    ExcludedFile,
    Explanation,
    Review,
    Source,
    Suggestion,
    complete_ask,
    edit_ask,
    exclusion_rule,
    explain_ask,
    fix_instruction,
    review_ask,
    review_changes_ask,
)

T = TypeVar("T")

if TYPE_CHECKING:
    from .checks import Target, Verifier

# Selection actions every user gets: name -> (title, instruction, route).
BUILTIN_EDITS = {
    "rewrite": ("Rewrite with AI: improve selection", REWRITE_INSTRUCTION, "fix"),
    "docstring": ("Add docstring with AI", DOCSTRING_INSTRUCTION, "fix"),
}


def withheld_variables(config: Config) -> tuple[str, ...]:
    """Environment variables a checker never sees: the user's keys and the team's secrets."""
    names = [p.api_key_env for p in config.providers.values() if p.api_key_env]
    names += [name for name in (config.cache.password_env, config.cache.url_env) if name]
    return tuple(names)


class Engine:
    def __init__(self, config: Config, gateway: Gateway, *, root: Path | None = None) -> None:
        self.config = config
        self.gateway = gateway
        self.root = root

    @classmethod
    def create(
        cls, config: Config, *, environ: Mapping[str, str] | None = None, root: Path | None = None
    ) -> Engine:
        return cls(config, Gateway.create(config, environ=environ), root=root)

    def reconfigure(self, config: Config) -> None:
        self.config = config
        self.gateway.reconfigure(config)

    # -- preparing asks (no I/O) --------------------------------------------------------------

    def excluded_reason(self, path: str | None) -> str | None:
        if path is None:
            return None
        return exclusion_rule(path, self.config.privacy.exclude, self.root)

    def guard(self, source: Source) -> None:
        """Refuse before anything is built or sent for a file the user excluded."""
        reason = self.excluded_reason(source.path)
        if reason is not None and source.path is not None:
            raise ExcludedFile(source.path, reason)

    def fix_ask(
        self,
        source: Source,
        start: int,
        end: int,
        message: str | None = None,
        *,
        target: Target | None = None,
        verify: bool = True,
    ) -> Ask[EditResult]:
        """Fix lines start..end (0-based, inclusive), optionally for a diagnostic's message;
        with the diagnostic as `target`, its own checker verifies each model's edit."""
        self.guard(source)
        verifier = self.verifier(source, target) if verify else None
        ask = edit_ask(
            self.config, source, start, end, instruction=fix_instruction(message), verifier=verifier
        )
        if target is None or source.path is None:
            return ask
        kind = f"{source.path}\0{(target.source or '').lower()}\0{target.code or target.message}"
        return dataclasses.replace(ask, experience=kind)

    def verifier(self, source: Source, target: Target | None) -> Verifier | None:
        """Who verifies edits of `source` for `target`, when verification is on and the file is
        one a checker can look at (it has a directory on disk)."""
        if target is None or not self.config.verify.enabled or not source.path:
            return None
        path = Path(source.path)
        if not path.parent.is_dir():
            return None
        from .checks import Verifier  # subprocess machinery: only when a fix is asked for

        return Verifier(
            self.config,
            path,
            source.text,
            source.language,
            target,
            root=self.root,
            withheld=withheld_variables(self.config),
        )

    def edit_ask(self, source: Source, start: int, end: int, action: str) -> Ask[EditResult]:
        """A selection action: a built-in one (`rewrite`, `docstring`) or one from the config."""
        self.guard(source)
        if action in self.config.actions:
            custom = self.config.actions[action]
            instruction, route = custom.prompt, custom.route
        elif action in BUILTIN_EDITS:
            _, instruction, route = BUILTIN_EDITS[action]
        else:
            raise KeyError(f"unknown action {action!r}")
        return edit_ask(
            self.config, source, start, end, instruction=instruction, task=route, route=route
        )

    def explain_ask(
        self, source: Source, line: int, character: int | None = None
    ) -> Ask[Explanation]:
        self.guard(source)
        return explain_ask(self.config, source, line, character)

    def complete_ask(self, source: Source, line: int, character: int) -> Ask[Suggestion]:
        self.guard(source)
        return complete_ask(self.config, source, line, character)

    def review_ask(self, source: Source) -> Ask[Review]:
        self.guard(source)
        self._check_fits("review", source)
        return review_ask(self.config, source)

    def review_changes_ask(self, source: Source, changes: ChangedLines) -> Ask[Review]:
        """Review a patch's changes to `source`: the whole file as context where it fits the
        review route's first model, else the changed regions with their enclosing functions."""
        self.guard(source)
        chain = self.config.route("review")
        if chain:
            model = self.config.models[chain[0]]
            # The text alone first: building a prompt for a huge file costs seconds.
            if estimate_tokens(source.text) < model.context_window:
                ask = review_changes_ask(self.config, source, changes)
                needed = estimate_tokens(ask.prompt.text)
                if fits(model, needed, ask.prompt.max_output_tokens):
                    return ask
        return review_changes_ask(self.config, source, changes, whole=False)

    def _check_fits(self, route: str, source: Source) -> None:
        """Refuse a whole-file task no model on the route could take, before building a prompt
        (for a huge file that alone would cost seconds). The rule is the router's; the file
        alone is less than its prompt, so nothing refused here could have been answered."""
        chain = self.config.route(route)
        needed = estimate_tokens(source.text)
        if chain and not models_that_fit(self.config.models, chain, needed):
            attempts = tuple(
                Attempt(
                    alias,
                    self.config.models[alias].provider,
                    Outcome.SKIPPED_CONTEXT_WINDOW,
                    0.0,
                    f"the file needs about {needed} tokens",
                )
                for alias in chain
            )
            raise NoAnswer(route, attempts)

    # -- answering ------------------------------------------------------------------------------

    async def ask(self, ask: Ask[T]) -> Answer[T]:
        return await self.gateway.ask(ask)

    def cached(self, ask: Ask[T]) -> Answer[T] | None:
        return self.gateway.cached(ask)

    async def recall(self, ask: Ask[T]) -> Answer[T] | None:
        return await self.gateway.recall(ask)

    async def fix(
        self, source: Source, start: int, end: int, message: str | None = None
    ) -> Answer[EditResult]:
        return await self.ask(self.fix_ask(source, start, end, message))

    async def explain(
        self, source: Source, line: int, character: int | None = None
    ) -> Answer[Explanation]:
        return await self.ask(self.explain_ask(source, line, character))

    async def review(self, source: Source) -> Answer[Review]:
        return await self.ask(self.review_ask(source))

    # -- housekeeping ---------------------------------------------------------------------------

    def stats(self) -> StatsReport:
        """Per model: usage, latency, failures, cost and its price; every model on a route is
        listed, used or not, so that a user choosing between them sees them all."""
        models = self.config.models
        figures = {stats.model: stats for stats in self.gateway.usage.snapshot()}
        for alias in dict.fromkeys(a for chain in self.config.routes.values() for a in chain):
            if alias not in figures and alias in models:
                figures[alias] = ModelStats.unused(alias, models[alias].provider)
        cache = self.gateway.cache
        return StatsReport(
            models=tuple(
                # With where its price came from: config, provider listing, price table, unknown.
                ModelRow(figures[alias], self.gateway.price_of(alias) if alias in models else None)
                for alias in sorted(figures)
            ),
            providers=self.gateway.provider_health(),
            cache=CacheFigures(**cache.stats()) if cache is not None else None,
            budget=self.gateway.budget_report(),
            route_orders=self.gateway.route_orders(),
        )

    def review_estimate(self, source: Source) -> Estimate | None:
        """What reviewing `source` would likely cost (None: no model on the route fits it)."""
        return self.gateway.estimate(self.review_ask(source))

    async def team_stats(self) -> StatsReport | None:
        """Figures shared by the team (None when team mode is off); raises TeamUnavailable."""
        return await self.gateway.team_stats()

    def clear_cache(self) -> None:
        self.gateway.clear_cache()

    async def aclose(self) -> None:
        await self.gateway.aclose()
