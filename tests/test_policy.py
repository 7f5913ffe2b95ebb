"""Routing policy as pure functions: retry classification, Retry-After, hedge delay, sizes."""

from __future__ import annotations

import email.utils

import pytest

from switchboard.config import ModelConfig
from switchboard.gateway.outcomes import Outcome
from switchboard.gateway.policy import (
    error_for_status,
    fits,
    hedge_delay,
    models_that_fit,
    parse_retry_after,
    percentile,
    route_for_size,
)


def test_retry_after_ms_wins_over_retry_after():
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    date = email.utils.formatdate(1_000_030, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=1_000_000) == pytest.approx(30, abs=1)
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "-5"}) == 0.0


@pytest.mark.parametrize(
    ("status", "code", "message", "outcome"),
    [
        (429, None, "", Outcome.RATE_LIMITED),
        (500, None, "", Outcome.SERVER_ERROR),
        (502, None, "", Outcome.SERVER_ERROR),
        (503, None, "", Outcome.SERVER_ERROR),
        (408, None, "", Outcome.SERVER_ERROR),
        (409, None, "", Outcome.SERVER_ERROR),
        (401, None, "", Outcome.AUTH_ERROR),
        (403, None, "", Outcome.AUTH_ERROR),
        (404, "model_not_found", "", Outcome.NOT_FOUND),
        (400, "context_length_exceeded", "", Outcome.CONTEXT_TOO_LONG),
        (400, None, "This model's maximum context length is 8192 tokens", Outcome.CONTEXT_TOO_LONG),
        (413, None, "prompt is too long", Outcome.CONTEXT_TOO_LONG),
        (400, None, "unknown field foo", Outcome.REJECTED),
    ],
)
def test_status_codes_become_typed_outcomes(status, code, message, outcome):
    assert error_for_status(status, {}, code, message).outcome is outcome


def test_rate_limit_carries_its_retry_after():
    error = error_for_status(429, {"retry-after": "3"}, None, "")
    assert error.retry_after == 3.0


def test_any_retryable_server_error_carries_its_retry_after():
    for status in (408, 500, 502, 503, 504):
        assert error_for_status(status, {"retry-after": "20"}, None, "").retry_after == 20.0
    assert error_for_status(502, {}, None, "").retry_after is None


def test_hedge_delay_is_learned_from_recent_latency_and_clamped():
    assert hedge_delay([], fixed_ms=None, min_ms=100, max_ms=2000) == 0.8
    samples = [100.0] * 9 + [900.0]
    assert hedge_delay(samples, fixed_ms=None, min_ms=50, max_ms=2000) == 0.9
    assert hedge_delay([10.0] * 20, fixed_ms=None, min_ms=150, max_ms=2000) == 0.15
    assert hedge_delay([9000.0] * 20, fixed_ms=None, min_ms=150, max_ms=2000) == 2.0
    assert hedge_delay([10.0] * 20, fixed_ms=300, min_ms=150, max_ms=2000) == 0.3


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile([], 50) is None


def test_a_large_fix_escalates_to_the_large_route_or_review():
    routes = {"fix": (), "review": ()}
    assert route_for_size("fix", 10, 80, routes) == "fix"
    assert route_for_size("fix", 81, 80, routes) == "review"
    assert route_for_size("fix", 81, 80, {**routes, "fix_large": ()}) == "fix_large"


def test_a_prompt_fits_a_model_only_with_room_for_its_answer():
    model = ModelConfig(provider="p", model="m", context_window=1000, max_output_tokens=200)
    assert fits(model, 800) and not fits(model, 801)
    assert fits(model, 900, output_cap=100)  # a short answer (explain) leaves more room
    assert fits(model, 800, output_cap=5000)  # a cap above the model's own changes nothing
    roomy = ModelConfig(provider="p", model="r", context_window=100_000)
    models = {"small": model, "roomy": roomy}
    assert models_that_fit(models, ("small", "roomy"), 5000) == ("roomy",)
    assert models_that_fit(models, ("small",), 5000) == ()
