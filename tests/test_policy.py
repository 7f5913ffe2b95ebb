"""Routing policy as pure functions: retry classification, Retry-After, hedge delay, sizes."""

from __future__ import annotations

import email.utils
import math

import pytest

from switchboard.config import ModelConfig
from switchboard.gateway.outcomes import Outcome
from switchboard.gateway.policy import (
    attempt_budget,
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
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "-5"}) == 0.0


@pytest.mark.parametrize(
    "raw",
    [
        "soon",
        "Wed, 21 Oct 99999 07:28:00 GMT",  # past year 9999: datetime refuses it
        "Wed, 21 Oct 999999999999999999999 07:28:00 GMT",  # too large for a C long
        "nan",
    ],
)
def test_an_unreadable_retry_after_means_the_longest_cool_down(raw):
    # Infinity, which the breaker caps at max_cooldown_s: never a crash of the attempt.
    assert parse_retry_after({"retry-after": raw}) == math.inf
    assert error_for_status(429, {"retry-after": raw}, None, "").retry_after == math.inf


def test_a_far_future_retry_after_date_is_read():
    date = "Fri, 31 Dec 9999 23:59:59 GMT"
    assert parse_retry_after({"retry-after": date}, now=0) == 253402300799


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
    # The 90th percentile of ten samples is the ninth, not the largest (one slow outlier).
    samples = [100.0] * 9 + [900.0]
    assert hedge_delay(samples, fixed_ms=None, min_ms=50, max_ms=2000) == 0.1
    samples = [float(ms) for ms in range(10, 1010, 10)]  # 10, 20, ... 1000 ms
    assert hedge_delay(samples, fixed_ms=None, min_ms=50, max_ms=2000) == 0.9
    assert hedge_delay([10.0] * 20, fixed_ms=None, min_ms=150, max_ms=2000) == 0.15
    assert hedge_delay([9000.0] * 20, fixed_ms=None, min_ms=150, max_ms=2000) == 2.0
    assert hedge_delay([10.0] * 20, fixed_ms=300, min_ms=150, max_ms=2000) == 0.3


def test_an_attempt_leaves_the_rest_of_the_route_time_to_answer():
    # Two of twenty seconds gone, more models to try: half the remaining 18 s.
    assert attempt_budget(30.0, 18.0, others_remain=True, share=0.5) == 9.0
    # The last candidate may use all the time left, within its own timeout.
    assert attempt_budget(30.0, 18.0, others_remain=False, share=0.5) == 18.0
    assert attempt_budget(5.0, 18.0, others_remain=True, share=0.5) == 5.0
    # Never less than a second while that much is left, never more than is left.
    assert attempt_budget(30.0, 1.5, others_remain=True, share=0.5) == 1.0
    assert attempt_budget(30.0, 0.4, others_remain=True, share=0.5) == 0.4
    assert attempt_budget(30.0, -1.0, others_remain=True, share=0.5) == 0.0


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
