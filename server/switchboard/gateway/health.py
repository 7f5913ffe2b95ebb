"""Provider health: Retry-After cool-downs, a circuit breaker with a half-open probe, and
providers disabled by a rejected key.

State is per provider (a rate limit or an outage is the provider's, not one model's). The
board is plain data with a clock passed in, so every transition is testable without sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ..config import BreakerConfig
from .outcomes import Outcome
from .report import BoardHealth


class Gate(StrEnum):
    OPEN_FOR_TRAFFIC = "ok"
    PROBE = "probe"  # cool-down over: this caller may send the one trial request
    COOLING_DOWN = "cooling_down"
    DISABLED = "disabled"  # the key was rejected; stays so until the config changes


@dataclass
class ProviderHealth:
    consecutive_failures: int = 0
    trips: int = 0  # how many times the breaker opened in a row; doubles the cool-down
    cooling_until: float = 0.0
    probing: bool = False
    disabled_reason: str | None = None
    last_outcome: Outcome | None = None
    last_change: float = 0.0

    @property
    def breaker_open(self) -> bool:
        return self.trips > 0


@dataclass
class HealthBoard:
    """Health of every provider, shared by all requests of one gateway."""

    breaker: BreakerConfig
    _providers: dict[str, ProviderHealth] = field(default_factory=dict)

    def state(self, provider: str) -> ProviderHealth:
        health = self._providers.get(provider)
        if health is None:
            health = self._providers[provider] = ProviderHealth()
        return health

    def gate(self, provider: str, now: float) -> Gate:
        """May a request go to `provider` now? Claims the probe slot when it returns PROBE."""
        health = self.state(provider)
        if health.disabled_reason is not None:
            return Gate.DISABLED
        if now < health.cooling_until:
            return Gate.COOLING_DOWN
        if health.breaker_open or health.cooling_until:
            if health.probing:
                return Gate.COOLING_DOWN
            health.probing = True
            return Gate.PROBE
        return Gate.OPEN_FOR_TRAFFIC

    def disabled(self, provider: str) -> bool:
        """Whether the provider's key was rejected (it is not tried again)."""
        return self.state(provider).disabled_reason is not None

    def recovers_at(self, provider: str) -> float | None:
        """When a cooling provider may next be tried; None if it is usable or disabled."""
        health = self.state(provider)
        if health.disabled_reason is not None:
            return None
        return health.cooling_until or None

    def record(
        self,
        provider: str,
        outcome: Outcome,
        now: float,
        *,
        retry_after: float | None = None,
        detail: str = "",
    ) -> bool:
        """Note how a call ended. Returns True when this call newly disabled the provider."""
        health = self.state(provider)
        health.probing = False
        health.last_outcome = outcome
        health.last_change = now
        if outcome is Outcome.OK:
            health.consecutive_failures = 0
            health.trips = 0
            health.cooling_until = 0.0
            return False
        if outcome is Outcome.AUTH_ERROR:
            newly = health.disabled_reason is None
            health.disabled_reason = detail or "the provider rejected the API key"
            return newly
        if not outcome.counts_against_provider:
            # The provider answered; the request or model was the problem. A probe that got an
            # answer still proves the provider is back.
            if health.cooling_until and now >= health.cooling_until:
                health.cooling_until = 0.0
                health.trips = 0
                health.consecutive_failures = 0
            return False
        health.consecutive_failures += 1
        # A Retry-After is honoured up to the longest cool-down: past that a probe asks again
        # (a year-long Retry-After must not write a provider off until a restart).
        until = now + min(retry_after, self.breaker.max_cooldown_s) if retry_after else 0.0
        if health.breaker_open or health.consecutive_failures >= self.breaker.failure_threshold:
            # Opening, or a failed probe: stay away for an exponentially growing cool-down.
            cooldown = min(self.breaker.cooldown_s * (2**health.trips), self.breaker.max_cooldown_s)
            health.trips += 1
            until = max(until, now + cooldown)
        if until > health.cooling_until:
            health.cooling_until = until
        return False

    def release_probe(self, provider: str) -> None:
        """The probe's request ended without an outcome (it was cancelled): free the slot."""
        self.state(provider).probing = False

    def snapshot(self, now: float) -> dict[str, BoardHealth]:
        return {
            name: BoardHealth(
                state=(
                    "disabled"
                    if health.disabled_reason
                    else "cooling_down"
                    if now < health.cooling_until
                    else "ok"
                ),
                consecutive_failures=health.consecutive_failures,
                cooling_for_s=round(max(0.0, health.cooling_until - now), 3),
                disabled_reason=health.disabled_reason,
            )
            for name, health in sorted(self._providers.items())
        }
