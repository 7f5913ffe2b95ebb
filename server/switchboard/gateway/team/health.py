"""Provider health shared with the team: the local board, plus what teammates saw.

When this member's board starts a cool-down (a Retry-After, or the breaker opening) it is
published to Redis, expiring when it ends; the longest cool-down anyone saw stands. A success
ends a breaker's cool-down for the whole team (a Retry-After is the provider's own instruction
and runs its course). Before each routed request the gateway reads the team's view: a provider
a teammate is cooling down is skipped here too, and a teammate's later success ends the local
cool-down. Without Redis the local board decides alone, as it always does. A rejected key is
never shared: keys are per user.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..health import Gate, HealthBoard
from ..outcomes import Outcome
from ..report import BoardHealth


class HealthChannel(Protocol):
    """Where a board sends what the team should know (never waits)."""

    def cooldown(self, provider: str, value: dict[str, Any], expire_ms: int) -> None: ...

    def success(self, provider: str, at: float, keep_ms: int) -> None: ...


@dataclass
class SharedHealthBoard(HealthBoard):
    channel: HealthChannel | None = None
    wall: Callable[[], float] = time.time
    mono: Callable[[], float] = time.monotonic
    # provider -> when (on the board's clock) a teammate's cool-down ends
    _team_until: dict[str, float] = field(default_factory=dict)

    def gate(self, provider: str, now: float) -> Gate:
        health = self.state(provider)
        if health.disabled_reason is None and now < self._team_until.get(provider, 0.0):
            return Gate.COOLING_DOWN
        return super().gate(provider, now)

    def recovers_at(self, provider: str) -> float | None:
        local = super().recovers_at(provider)
        if self.state(provider).disabled_reason is not None:
            return None
        times = [t for t in (local, self._team_until.get(provider)) if t]
        return max(times) if times else None

    def record(
        self,
        provider: str,
        outcome: Outcome,
        now: float,
        *,
        retry_after: float | None = None,
        detail: str = "",
    ) -> bool:
        health = self.state(provider)
        before = health.cooling_until
        newly_disabled = super().record(
            provider, outcome, now, retry_after=retry_after, detail=detail
        )
        if self.channel is None or outcome is Outcome.AUTH_ERROR:
            return newly_disabled
        wall = self.wall()
        if outcome is Outcome.OK:
            self.channel.success(provider, wall, int(self.breaker.max_cooldown_s * 1000))
        elif health.cooling_until > max(before, now):
            by_provider = retry_after is not None and now + retry_after >= health.cooling_until
            self.channel.cooldown(
                provider,
                {
                    "until": wall + (health.cooling_until - now),
                    "at": wall,
                    "kind": "retry_after" if by_provider else "breaker",
                    "outcome": outcome.value,
                },
                max(1, int((health.cooling_until - now) * 1000)),
            )
        return newly_disabled

    def observe(self, provider: str, raw: bytes | str | None) -> None:
        """Adopt the team's view of `provider` (its Redis value; None when there is none)."""
        value = parse_health(raw)
        now, wall = self.mono(), self.wall()
        if value is None:
            self._team_until.pop(provider, None)  # expired: any team cool-down is over
            return
        if isinstance(value.get("until"), int | float):
            until = now + (float(value["until"]) - wall)
            if until > now:
                self._team_until[provider] = until
            else:
                self._team_until.pop(provider, None)
        elif isinstance(value.get("recovered"), int | float):
            self._team_until.pop(provider, None)
            at = now + (float(value["recovered"]) - wall)
            health = self.state(provider)
            cooling = health.cooling_until or health.breaker_open
            if cooling and not health.probing and health.last_change <= at:
                health.cooling_until = 0.0
                health.trips = 0
                health.consecutive_failures = 0

    def snapshot(self, now: float) -> dict[str, BoardHealth]:
        board = super().snapshot(now)
        for provider, until in self._team_until.items():
            if until > now:
                entry = board.get(provider) or BoardHealth("ok", 0, 0.0, None)
                board[provider] = dataclasses.replace(
                    entry,
                    state="cooling_down" if entry.state == "ok" else entry.state,
                    team_cooling_for_s=round(until - now, 3),
                )
        return board


def parse_health(raw: bytes | str | None) -> dict[str, Any] | None:
    """A health value from Redis, or None for nothing or something unreadable."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
