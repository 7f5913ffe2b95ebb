"""Routing policy as pure functions: what to retry, how long to wait, what fits where."""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Mapping, Sequence

from ..config import ModelConfig
from .outcomes import (
    AuthFailed,
    ContextTooLong,
    ModelNotFound,
    ProviderError,
    RateLimited,
    RequestRejected,
    ServerError,
)

# Some proxies answer 400/413/422 for prompts over the window with only a message to go by.
_CONTEXT_WORDS = re.compile(
    r"context[_ ]length|context window|maximum context|too many tokens|prompt is too long"
    r"|reduce the length|input is too long|exceeds? the model",
    re.IGNORECASE,
)


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to stay away, from `retry-after-ms`, then `retry-after` (seconds or HTTP date).

    A value that cannot be read (a date past year 9999, words) means "as long as you may":
    infinity, which the breaker caps at its longest cool-down. None when there is no header.
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            value = float(raw_ms) / 1000.0
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value >= 0:
            return value
    raw = headers.get("retry-after")
    if raw is None:
        return math.inf if raw_ms is not None else None
    try:
        value = float(raw)
    except ValueError:
        value = _seconds_until(raw, time.time() if now is None else now)
    if math.isnan(value):
        return math.inf
    return max(0.0, value)


def _seconds_until(http_date: str, now: float) -> float:
    try:
        parsed = email.utils.parsedate_tz(http_date)
        if parsed is None:
            return math.inf
        return email.utils.mktime_tz(parsed) - now
    except (ValueError, OverflowError):  # a year past 9999, or too large for a C long
        return math.inf


def error_for_status(
    status: int, headers: Mapping[str, str], error_code: str | None, message: str
) -> ProviderError:
    """Turn a non-2xx HTTP answer into the typed failure the router acts on."""
    detail = f"HTTP {status}" + (f": {message}" if message else "")
    if status == 429:
        return RateLimited(detail, retry_after=parse_retry_after(headers))
    if status in (401, 403):
        return AuthFailed(detail)
    if error_code == "context_length_exceeded" or (
        status in (400, 413, 422) and _CONTEXT_WORDS.search(message or "")
    ):
        return ContextTooLong(detail)
    if status == 404:
        return ModelNotFound(detail)
    if status in (408, 409) or status >= 500:
        return ServerError(detail, retry_after=parse_retry_after(headers))
    return RequestRejected(detail)


def estimate_tokens(text: str) -> int:
    """A deliberately generous token estimate (code runs ~3-4 characters per token)."""
    return len(text) // 3 + 1


def output_reserve(model: ModelConfig, cap: int | None = None) -> int:
    """The output tokens asked for, which a prompt must leave room for in `model`'s window: the
    model's `max_output_tokens` or the prompt's lower `cap`, plus room for the reasoning of a
    model that thinks first (without it, the reasoning uses up the budget and the answer is
    cut off)."""
    budget = model.max_output_tokens if cap is None else min(model.max_output_tokens, cap)
    return budget + (model.reasoning_budget_tokens if model.reasoning else 0)


def fits(model: ModelConfig, prompt_tokens: int, output_cap: int | None = None) -> bool:
    """Can `model` take a prompt of `prompt_tokens` and still have room for its answer?"""
    return prompt_tokens + output_reserve(model, output_cap) <= model.context_window


def models_that_fit(
    models: Mapping[str, ModelConfig],
    chain: Sequence[str],
    prompt_tokens: int,
    output_cap: int | None = None,
) -> tuple[str, ...]:
    """The aliases of `chain` whose model can take a prompt of `prompt_tokens`."""
    return tuple(alias for alias in chain if fits(models[alias], prompt_tokens, output_cap))


def hedge_delay(
    recent_latencies_ms: Sequence[float],
    *,
    fixed_ms: float | None,
    min_ms: float,
    max_ms: float,
    default_ms: float = 800.0,
) -> float:
    """How long to wait for the first candidate before starting a second one, in seconds.

    Learned as the 90th percentile of the candidate's recent successful latencies: a request
    slower than nine in ten of its peers is likely stuck behind something.
    """
    if fixed_ms is not None:
        return max(0.0, fixed_ms) / 1000.0
    chosen = percentile(recent_latencies_ms, 90) if len(recent_latencies_ms) >= 5 else None
    if chosen is None:
        chosen = default_ms
    return min(max(chosen, min_ms), max_ms) / 1000.0


# An attempt capped by its share of the deadline still gets at least this long.
MIN_ATTEMPT_S = 1.0


def attempt_budget(
    timeout_s: float, remaining_s: float, *, others_remain: bool, share: float
) -> float:
    """How long one attempt may take, in seconds.

    The model's own timeout, within the time left; while other candidates remain, at most
    `share` of that time, so that a provider that accepts the connection and never answers
    leaves the rest of the route room to answer before the deadline.
    """
    remaining_s = max(0.0, remaining_s)
    if others_remain:
        remaining_s = min(remaining_s, max(MIN_ATTEMPT_S, remaining_s * share))
    return max(0.0, min(timeout_s, remaining_s))


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of `values`, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def route_for_size(task: str, lines: int, large_lines: int, routes: Mapping[str, object]) -> str:
    """The route a request of `lines` lines takes: a fix too large for the fast route escalates
    to `<task>_large` if defined, else to the review route (the strong models)."""
    if lines <= large_lines:
        return task
    for candidate in (f"{task}_large", "review"):
        if candidate in routes:
            return candidate
    return task
