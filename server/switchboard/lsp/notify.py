"""Telling the user about the gateway without nagging.

An outage (an answer served stale from the cache, or nothing answering because providers
failed) produces one `window/showMessage` saying what failed, per model, and what was served;
further failures during the same outage go to the log only. The first answer from a provider
ends the outage. When the providers were up but no answer was usable (every model's edit was
invalid, the prompt fit no model), that is no outage: a fix or review the user asked for says
so each time, a hover only logs it. Every task also sends a small `switchboard/status`
notification that editors can show (the VS Code status bar does).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from lsprotocol import types

from ..gateway import Answer, CacheState, NoAnswer, describe_attempts
from .names import STATUS_METHOD

log = logging.getLogger(__name__)


class Messenger(Protocol):
    def show(self, kind: types.MessageType, message: str) -> None: ...

    def notify(self, method: str, params: Any) -> None: ...


@dataclass
class Notifier:
    messenger: Messenger
    in_outage: bool = False
    _told: set[str] = field(default_factory=set)
    _busy: int = 0  # requests between working() and done()

    def working(self, task: str, model: str | None) -> None:
        self._busy += 1
        self.messenger.notify(STATUS_METHOD, {"state": "working", "task": task, "model": model})

    def done(self, *, settled: bool) -> None:
        """A request ended; if it ended without saying how (cancelled) and nothing else is
        running, the status goes back to idle rather than spinning on."""
        self._busy = max(0, self._busy - 1)
        if not settled and self._busy == 0:
            self.idle()

    def answered(
        self, task: str, answer: Answer[Any], spend: dict[str, float] | None = None
    ) -> None:
        self._notices(answer.notices)
        if answer.cache is CacheState.STALE:
            state = "stale"
            self._outage(
                f"Switchboard: no model could answer the {task} request "
                f"({describe_attempts(answer.attempts)}). Served a cached answer from "
                f"{answer.model} instead (stale)."
            )
        else:
            if answer.cache is CacheState.MISS and self.in_outage:
                self.in_outage = False
                log.info("Providers are answering again (%s).", answer.model)
            state = {
                CacheState.FRESH: "cached",
                CacheState.MISS: "fellBack" if answer.fell_back else "idle",
            }[answer.cache]
        self.messenger.notify(
            STATUS_METHOD,
            {
                "state": state,
                "task": task,
                "model": answer.model,
                "provider": answer.provider,
                "cache": answer.cache.value,
                "detail": describe_attempts(answer.attempts) if answer.fell_back else "",
                "budget": answer.budget,  # "reached": editors say "budget reached"
                # Today's and this month's spend, for the status bar's tooltip.
                **({"spend": spend} if spend is not None else {}),
            },
        )

    def failed(self, task: str, failure: NoAnswer, *, quiet: bool = False) -> None:
        """Nothing answered. An outage is said once; otherwise, unless `quiet` (a hover, which
        fires often), the user hears that the answers were unusable."""
        self._notices(failure.notices)
        what = describe_attempts(failure.attempts)
        if any(attempt.outcome.unavailable for attempt in failure.attempts):
            self._outage(
                f"Switchboard: no model could answer the {task} request ({what}) "
                "and nothing was cached."
            )
        elif quiet:
            log.info("No usable answer to the %s request (%s).", task, what)
        else:
            self.messenger.show(
                types.MessageType.Info,
                f"Switchboard: no model gave a usable answer to the {task} request ({what}).",
            )
        self.messenger.notify(
            STATUS_METHOD,
            {
                "state": "failing",
                "task": task,
                "model": None,
                "detail": what,
                "budget": failure.budget,
            },
        )

    def idle(self) -> None:
        self.messenger.notify(STATUS_METHOD, {"state": "idle", "task": None, "model": None})

    def declined(self, message: str) -> None:
        """An answer that could not be used (the text changed meanwhile): always say so."""
        self.messenger.show(types.MessageType.Info, message)

    def _outage(self, message: str) -> None:
        if self.in_outage:
            log.info("%s", message)
            return
        self.in_outage = True
        log.warning("%s", message)
        self.messenger.show(types.MessageType.Warning, message)

    def _notices(self, notices: tuple[str, ...]) -> None:
        for notice in notices:
            if notice not in self._told:
                self._told.add(notice)
                self.messenger.show(types.MessageType.Warning, f"Switchboard: {notice}")
