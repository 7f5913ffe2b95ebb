"""Which cached answer counts: this machine's cache first, then the team's copy in Redis.

The local tier (memory, then SQLite) answers at once. The team's tier costs one bounded round
trip, made only when the local one has nothing fresh; a team copy newer than the local entry is
adopted locally, with its own age. An entry the ask cannot read (`ask.parse` refuses it) counts
as missing: it was right for another context, and the route is asked instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from .answers import Answer, Ask, CacheState
from .cache import CacheEntry, ResponseCache
from .outcomes import Attempt, InvalidAnswer
from .usage import UsageLog

if TYPE_CHECKING:
    from .team import Team

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Lookup(Generic[T]):
    """What one ask found before routing: a fresh answer to serve, or None; and the team's
    copy seen on the way, kept for the stale fallback."""

    answer: Answer[T] | None
    key: str | None
    shared: CacheEntry | None = None


class TieredCache:
    """The cache tiers of one gateway: lookup, store and the stale-if-error fallback.

    A `key` of None means the ask bypasses the cache (or the cache is off); the team's round
    trip is still made on the way to the route, because it also brings the team's provider
    health.
    """

    def __init__(self, local: ResponseCache | None, team: Team | None, usage: UsageLog) -> None:
        self.local = local
        self.team = team
        self.usage = usage

    def cached(self, ask: Ask[T], key: str) -> Answer[T] | None:
        """This machine's answer, fresh or stale, without a round trip."""
        return self._answer(ask, self._local(key))

    async def lookup(self, ask: Ask[T], key: str | None) -> Lookup[T]:
        """A fresh answer from this machine, else from the team's copy (adopted when newer)."""
        local = self._local(key)
        if local is not None and self._fresh(local):
            answer = self._answer(ask, local)
            if answer is not None:
                return Lookup(answer, key)
        if self.team is None:
            return Lookup(None, key)
        # One bounded Redis round trip: a teammate's answer, and the team's provider health.
        shared = await self.team.before_route(key)
        if shared is not None and self.local is not None and _newer(shared, local):
            self.local.adopt(shared)
            if self._fresh(shared):
                answer = self._answer(ask, shared)
                if answer is not None:
                    return Lookup(answer, key, shared)
        return Lookup(None, key, shared)

    async def recall(self, ask: Ask[T], key: str) -> Answer[T] | None:
        """A fresh answer from either tier, else the newest one, labelled by its age."""
        found = await self.lookup(ask, key)
        if found.answer is not None:
            return found.answer
        return self._newest(ask, found, None)

    def store(self, key: str, text: str, model: str, provider: str) -> None:
        """Keep a routed answer here and share it with the team."""
        if self.local is None:
            return
        entry = self.local.put(key, text, model, provider)
        if self.team is not None:
            self.team.share(entry)

    def stale(
        self, ask: Ask[T], found: Lookup[T], attempts: tuple[Attempt, ...], notices: tuple[str, ...]
    ) -> Answer[T] | None:
        """Stale-if-error: nothing on the route answered, so the newest entry serves, whatever
        its age, labelled stale and carrying what the route tried."""
        return self._newest(ask, found, CacheState.STALE, attempts, notices)

    def _newest(
        self,
        ask: Ask[T],
        found: Lookup[T],
        state: CacheState | None,
        attempts: tuple[Attempt, ...] = (),
        notices: tuple[str, ...] = (),
    ) -> Answer[T] | None:
        """The newest readable entry: this machine's (looked up again: another ask may have
        stored one meanwhile), or the team's copy when that is newer."""
        local = self._local(found.key)
        entries = [local] if local is not None else []
        if found.shared is not None and _newer(found.shared, local):
            entries.insert(0, found.shared)
        for entry in entries:
            answer = self._answer(ask, entry, state, attempts, notices)
            if answer is not None:
                return answer
        return None

    def _local(self, key: str | None) -> CacheEntry | None:
        return self.local.lookup(key) if self.local is not None and key is not None else None

    def _fresh(self, entry: CacheEntry) -> bool:
        return self.local is not None and self.local.is_fresh(entry)

    def _answer(
        self,
        ask: Ask[T],
        entry: CacheEntry | None,
        state: CacheState | None = None,
        attempts: tuple[Attempt, ...] = (),
        notices: tuple[str, ...] = (),
    ) -> Answer[T] | None:
        """`entry` as an answer to `ask` (labelled by its age unless `state` says otherwise),
        or None when there is none or the ask cannot read it."""
        if entry is None:
            return None
        try:
            value = ask.parse(entry.text)
        except InvalidAnswer:
            return None  # right for another context, not this one: ask the route instead
        if state is None:
            state = CacheState.FRESH if self._fresh(entry) else CacheState.STALE
        self.usage.record_cache_hit(entry.model, entry.provider, stale=state is CacheState.STALE)
        return Answer(
            value=value,
            text=entry.text,
            model=entry.model,
            provider=entry.provider,
            cache=state,
            route=ask.route,
            attempts=attempts,
            notices=notices,
        )


def _newer(entry: CacheEntry, than: CacheEntry | None) -> bool:
    return than is None or entry.created_at > than.created_at
