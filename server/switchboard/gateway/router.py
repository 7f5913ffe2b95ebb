"""The router: walks a route's candidates until one gives a usable answer.

One loop covers plain fallback and hedging. A failure starts the next candidate at once (a retry
is a re-route, not a sleep); with hedging, a candidate slower than its hedge delay also starts
the next one, and the first usable answer wins. Everything happens inside one deadline, and
cancelling the caller cancels every in-flight provider call, which closes its connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..config import Config, ModelConfig, TaskConfig
from .health import Gate, HealthBoard
from .outcomes import (
    Attempt,
    Completion,
    EditQuality,
    InvalidAnswer,
    Outcome,
    ProviderError,
    ProviderTimeout,
    Rejected,
    TokenUsage,
)
from .policy import MIN_ATTEMPT_S, attempt_budget, estimate_tokens, fits, hedge_delay
from .prices import PriceBook, cost_of
from .usage import UsageLog
from .wire import Prompt

if TYPE_CHECKING:
    from .provider import ProviderClient

T = TypeVar("T")

log = logging.getLogger(__name__)

# How often a request waiting on another's probe of a recovering provider looks again.
_PROBE_POLL_S = 0.02


@dataclass(frozen=True, slots=True)
class RouteRequest(Generic[T]):
    """What the router needs: the candidates in order, the prompt, how to judge an answer."""

    task: str
    chain: tuple[str, ...]
    prompt: Prompt
    parse: Callable[[str], T]
    deadline_s: float
    knobs: TaskConfig
    verify: Callable[[T, float], Awaitable[tuple[T, EditQuality]]] | None = None


@dataclass(frozen=True, slots=True)
class Routed(Generic[T]):
    value: T
    text: str
    model: str
    provider: str
    usage: TokenUsage
    cost_usd: float
    attempts: tuple[Attempt, ...]
    notices: tuple[str, ...]


class AllFailed(Exception):
    """No candidate produced a usable answer within the deadline."""

    def __init__(self, attempts: tuple[Attempt, ...], notices: tuple[str, ...]) -> None:
        super().__init__("no model on the route could answer")
        self.attempts = attempts
        self.notices = notices


@dataclass(frozen=True, slots=True)
class _Candidate:
    alias: str
    model: ModelConfig
    client: ProviderClient


class Router:
    def __init__(
        self,
        config: Config,
        clients: Mapping[str, ProviderClient],
        health: HealthBoard,
        usage: UsageLog,
        clock: Callable[[], float] = time.monotonic,
        prices: PriceBook | None = None,
    ) -> None:
        self.config = config
        self._clients = clients
        self.health = health
        self._usage = usage
        self._clock = clock
        self.prices = prices or PriceBook(config, None)

    async def route(self, request: RouteRequest[T]) -> Routed[T]:
        return await _Run(self, request).execute()


@dataclass(eq=False)
class _InFlight:
    candidate: _Candidate
    started: float
    probe: bool


@dataclass(eq=False)
class _Run(Generic[T]):
    """The state of one routed request: where in the chain it is and what happened so far."""

    router: Router
    request: RouteRequest[T]
    attempts: list[Attempt] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    _next_index: int = 0
    _min_window: int = 0  # after a context-length error, only larger windows are worth trying
    _cooling: list[_Candidate] = field(default_factory=list)
    _in_flight: dict[asyncio.Task[tuple[Completion, Any, EditQuality | None]], _InFlight] = field(
        default_factory=dict
    )

    def __post_init__(self) -> None:
        self._prompt_tokens = estimate_tokens(self.request.prompt.text)
        self._deadline_at = self.router._clock() + self.request.deadline_s

    async def execute(self) -> Routed[T]:
        try:
            return await self._loop()
        finally:
            await self._cancel_in_flight()

    async def _loop(self) -> Routed[T]:
        hedge_at: float | None = None
        while True:
            if not self._in_flight:
                picked = self._next_candidate() or await self._last_resort()
                if picked is None:
                    raise self._failed()
                if self.router._clock() >= self._deadline_at:
                    if picked[1]:
                        self.router.health.release_probe(picked[0].model.provider)
                    raise self._failed()
                hedge_at = self._start(*picked)
            now = self.router._clock()
            if now >= self._deadline_at:
                self._expire(now)
                raise self._failed()
            timeout = self._deadline_at - now
            if hedge_at is not None:
                timeout = min(timeout, max(0.0, hedge_at - now))
            done, _ = await asyncio.wait(
                self._in_flight, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if not done:
                if self.router._clock() >= self._deadline_at:
                    continue  # expires at the top of the loop
                # The hedge delay passed with no answer: race the next candidate.
                picked = self._next_candidate()
                hedge_at = self._start(*picked) if picked is not None else None
                continue
            for task in done:
                flight = self._in_flight.pop(task)
                routed = self._settle(task, flight)
                if routed is not None:
                    return routed

    def _failed(self) -> AllFailed:
        return AllFailed(tuple(self.attempts), tuple(self.notices))

    def _start(self, candidate: _Candidate, probe: bool) -> float | None:
        """Send to `candidate`; returns when to hedge if it has not answered by then."""
        now = self.router._clock()
        budget = attempt_budget(
            candidate.model.timeout_s,
            self._deadline_at - now,
            others_remain=self._next_index < len(self.request.chain) or bool(self._cooling),
            share=self.request.knobs.attempt_share,
        )
        task = asyncio.create_task(
            self._call(candidate, budget), name=f"switchboard:{candidate.alias}"
        )
        self._in_flight[task] = _InFlight(candidate, now, probe)
        knobs = self.request.knobs
        if not knobs.hedge or self._next_index >= len(self.request.chain):
            return None
        delay = hedge_delay(
            self.router._usage.recent_latencies(candidate.alias),
            fixed_ms=knobs.hedge_delay_ms,
            min_ms=knobs.hedge_min_ms,
            max_ms=knobs.hedge_max_ms,
        )
        return now + delay

    async def _call(
        self, candidate: _Candidate, budget_s: float
    ) -> tuple[Completion, Any, EditQuality | None]:
        try:
            async with asyncio.timeout(budget_s):
                completion = await candidate.client.complete(candidate.model, self.request.prompt)
        except TimeoutError:
            raise ProviderTimeout(f"no complete answer within {budget_s:.3g}s") from None
        try:
            value = self.request.parse(completion.text)
            if self.request.verify is None:
                return completion, value, None
            # The checker's time is its own (the provider has answered), within the deadline.
            deadline_left = self._deadline_at - self.router._clock()
            value, quality = await self.request.verify(value, deadline_left)
        except InvalidAnswer as exc:
            exc.usage = self._usage_of(completion)  # an answer the budget has paid for
            raise
        return completion, value, quality

    def _usage_of(self, completion: Completion) -> TokenUsage:
        """The tokens the provider reported, else an estimate of them."""
        return completion.usage or TokenUsage(
            self._prompt_tokens, estimate_tokens(completion.text), estimated=True
        )

    def _settle(
        self, task: asyncio.Task[tuple[Completion, Any, EditQuality | None]], flight: _InFlight
    ) -> Routed[T] | None:
        candidate = flight.candidate
        elapsed_ms = (self.router._clock() - flight.started) * 1000.0
        exc = task.exception()
        if exc is None:
            completion, value, quality = task.result()
            if quality is not None:
                self.router._usage.record_edit(candidate.alias, candidate.model.provider, quality)
            usage = self._usage_of(completion)
            cost = self._record(candidate, Outcome.OK, elapsed_ms, usage=usage)
            return Routed(
                value=value,
                text=completion.text,
                model=candidate.alias,
                provider=candidate.model.provider,
                usage=usage,
                cost_usd=cost,
                attempts=tuple(self.attempts),
                notices=tuple(self.notices),
            )
        if isinstance(exc, InvalidAnswer):
            if isinstance(exc, Rejected):
                self.router._usage.record_edit(
                    candidate.alias, candidate.model.provider, EditQuality.REJECTED
                )
            self._record(candidate, Outcome.INVALID, elapsed_ms, detail=str(exc), usage=exc.usage)
        elif isinstance(exc, ProviderError):
            if exc.outcome is Outcome.CONTEXT_TOO_LONG:
                self._min_window = max(self._min_window, candidate.model.context_window)
            self._record(
                candidate,
                exc.outcome,
                elapsed_ms,
                detail=exc.detail,
                retry_after=exc.retry_after,
                usage=exc.usage,
            )
        else:
            # A bug in a parser or client must not take the editor down: count it as a bad answer.
            log.exception("unexpected error from %s", candidate.alias, exc_info=exc)
            self._record(candidate, Outcome.BAD_RESPONSE, elapsed_ms, detail=type(exc).__name__)
        return None

    def _record(
        self,
        candidate: _Candidate,
        outcome: Outcome,
        ms: float,
        *,
        detail: str = "",
        retry_after: float | None = None,
        usage: TokenUsage | None = None,
    ) -> float:
        provider = candidate.model.provider
        self.attempts.append(Attempt(candidate.alias, provider, outcome, ms, detail))
        if not outcome.skipped:
            newly_disabled = self.router.health.record(
                provider, outcome, self.router._clock(), retry_after=retry_after, detail=detail
            )
            if newly_disabled:
                self.notices.append(
                    f"Provider '{provider}' rejected the API key ({detail}); Switchboard will not "
                    "use it until the configuration changes."
                )
        cost = 0.0
        if usage is not None:
            cost = cost_of(self.router.prices.price(candidate.alias), usage)
        self.router._usage.record_attempt(
            candidate.alias, candidate.model, outcome, ms, usage, cost=cost, task=self.request.task
        )
        if outcome is not Outcome.OK and not outcome.skipped:
            log.info(
                "%s via %s: %s (%s) after %.0f ms", candidate.alias, provider, outcome, detail, ms
            )
        return cost

    def _next_candidate(self) -> tuple[_Candidate, bool] | None:
        """The next candidate worth sending to, recording every one skipped on the way."""
        config = self.router.config
        chain = self.request.chain
        while self._next_index < len(chain):
            alias = chain[self._next_index]
            self._next_index += 1
            model = config.models[alias]
            candidate = _Candidate(alias, model, self.router._clients[model.provider])
            output_cap = self.request.prompt.max_output_tokens
            if model.context_window <= self._min_window or not fits(
                model, self._prompt_tokens, output_cap
            ):
                self._record(candidate, Outcome.SKIPPED_CONTEXT_WINDOW, 0.0)
                continue
            gate = self.router.health.gate(model.provider, self.router._clock())
            if gate is Gate.DISABLED:
                self._record(candidate, Outcome.SKIPPED_AUTH, 0.0)
                continue
            if gate is Gate.COOLING_DOWN:
                self._record(candidate, Outcome.SKIPPED_OPEN_BREAKER, 0.0)
                self._cooling.append(candidate)
                continue
            return candidate, gate is Gate.PROBE
        return None

    async def _last_resort(self) -> tuple[_Candidate, bool] | None:
        """Every candidate left is cooling down: wait for the one that recovers first, if it
        recovers in time to answer before the deadline (MIN_ATTEMPT_S at least).

        Only one request probes a recovering provider; others waiting for it wait for the
        probe's verdict (a success opens it to all, a failure cools it down again)."""
        health = self.router.health
        now = self.router._clock()
        # A provider whose cool-down ended meanwhile (another request's probe succeeded)
        # recovers now: it is the best candidate, not one to drop.
        recoveries = [
            (health.recovers_at(candidate.model.provider) or now, candidate)
            for candidate in self._cooling
            if not health.disabled(candidate.model.provider)
        ]
        self._cooling.clear()
        if not recoveries:
            return None
        _, candidate = min(recoveries, key=lambda pair: pair[0])
        provider = candidate.model.provider
        while True:
            at = health.recovers_at(provider)
            now = self.router._clock()
            if at is not None and at > now:
                if at + MIN_ATTEMPT_S > self._deadline_at:
                    return None
                await asyncio.sleep(at - now)
            gate = health.gate(provider, self.router._clock())
            if gate is Gate.DISABLED:
                return None
            if gate is not Gate.COOLING_DOWN:
                return candidate, gate is Gate.PROBE
            # Another request holds the probe: wait for its verdict while that can still pay.
            if self.router._clock() + MIN_ATTEMPT_S > self._deadline_at:
                return None
            await asyncio.sleep(_PROBE_POLL_S)

    async def _cancel_in_flight(self) -> None:
        if not self._in_flight:
            return
        for task in self._in_flight:
            task.cancel()
        await asyncio.gather(*self._in_flight, return_exceptions=True)
        for flight in self._in_flight.values():
            if flight.probe:
                self.router.health.release_probe(flight.candidate.model.provider)
        self._in_flight.clear()

    def _expire(self, now: float) -> None:
        """The deadline passed: in-flight candidates count as timed out."""
        for flight in self._in_flight.values():
            self._record(
                flight.candidate,
                Outcome.TIMEOUT,
                (now - flight.started) * 1000.0,
                detail=f"the task's {self.request.deadline_s:g}s deadline passed",
            )
