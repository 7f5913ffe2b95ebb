"""Summaries of timings: nearest-rank percentiles, in milliseconds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN when there are no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def summary(ms: Sequence[float]) -> dict[str, Any]:
    """n, p50, p95, p99, max and mean of timings in ms (rounded to µs)."""
    if not ms:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    return {
        "n": len(ms),
        "p50": _r(percentile(ms, 50)),
        "p95": _r(percentile(ms, 95)),
        "p99": _r(percentile(ms, 99)),
        "max": _r(max(ms)),
        "mean": _r(sum(ms) / len(ms)),
    }


def _r(value: float) -> float:
    return round(value, 3)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is not
    positive (an added latency within noise of zero makes no meaningful ratio)."""
    if numerator is None or denominator is None or denominator <= 1e-9:
        return None
    return round(numerator / denominator, 2)
