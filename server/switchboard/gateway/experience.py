"""Escalation by experience: where the fast models recently failed, skip them.

A fix that the fast route's models answered with an invalid edit (or one the diagnostic's own
checker rejected) is remembered by its kind: the file and the diagnostic's source and code.
After `escalate_after_failures` such failures within `escalation_memory_s`, fixes of that kind
go straight to the stronger route, until the memory of the last failure expires. Pure data and
a clock passed in: no I/O, nothing of the CLI or the editor.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from .outcomes import Attempt, Outcome

# Kinds remembered at most; the least recently failed is forgotten first.
MAX_KINDS = 4096


@dataclass(slots=True)
class _Failures:
    count: int
    last_at: float


def fast_ones_failed(attempts: Iterable[Attempt], fast: Iterable[str]) -> bool:
    """Did a model of the fast route answer, and its edit turn out invalid or rejected?"""
    fast = set(fast)
    return any(a.outcome is Outcome.INVALID and a.model in fast for a in attempts)


class Experience:
    def __init__(self, max_kinds: int = MAX_KINDS) -> None:
        self._kinds: OrderedDict[str, _Failures] = OrderedDict()
        self._max = max_kinds

    def failed(self, kind: str, now: float, memory_s: float) -> None:
        known = self._kinds.pop(kind, None)
        if known is None or now - known.last_at > memory_s:
            known = _Failures(0, now)
        known.count += 1
        known.last_at = now
        self._kinds[kind] = known
        while len(self._kinds) > self._max:
            self._kinds.popitem(last=False)

    def failures(self, kind: str, now: float, memory_s: float) -> int:
        """How many times the fast models failed on `kind`, the last within `memory_s`."""
        known = self._kinds.get(kind)
        if known is None:
            return 0
        if now - known.last_at > memory_s:
            del self._kinds[kind]
            return 0
        return known.count

    def forget(self, kind: str) -> None:
        self._kinds.pop(kind, None)
