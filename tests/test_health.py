"""Provider health: Retry-After cool-downs, the circuit breaker and its half-open probe."""

from __future__ import annotations

from switchboard.config import BreakerConfig
from switchboard.gateway.health import Gate, HealthBoard
from switchboard.gateway.outcomes import Outcome


def board(threshold=3, cooldown=10.0):
    return HealthBoard(BreakerConfig(failure_threshold=threshold, cooldown_s=cooldown))


def test_retry_after_cools_the_provider_down_for_that_long():
    health = board()
    health.record("p", Outcome.RATE_LIMITED, now=100.0, retry_after=2.0)
    assert health.gate("p", 101.0) is Gate.COOLING_DOWN
    assert health.recovers_at("p") == 102.0
    assert health.gate("p", 102.5) is Gate.PROBE


def test_a_retry_after_longer_than_the_longest_cooldown_is_cut_to_it():
    health = HealthBoard(BreakerConfig(max_cooldown_s=300.0))
    health.record("p", Outcome.RATE_LIMITED, now=0.0, retry_after=365 * 86400.0)
    assert health.recovers_at("p") == 300.0
    assert health.gate("p", 301.0) is Gate.PROBE


def test_breaker_opens_after_repeated_failures_and_lets_one_probe_through():
    health = board(threshold=3, cooldown=10.0)
    for t in (0.0, 1.0):
        health.record("p", Outcome.SERVER_ERROR, now=t)
        assert health.gate("p", t) is Gate.OPEN_FOR_TRAFFIC
    health.record("p", Outcome.TIMEOUT, now=2.0)
    assert health.gate("p", 3.0) is Gate.COOLING_DOWN
    assert health.gate("p", 12.5) is Gate.PROBE
    # While the probe is out, everyone else still skips the provider.
    assert health.gate("p", 12.6) is Gate.COOLING_DOWN
    health.record("p", Outcome.OK, now=12.7)
    assert health.gate("p", 12.8) is Gate.OPEN_FOR_TRAFFIC


def test_a_failed_probe_reopens_with_a_longer_cooldown():
    health = board(threshold=1, cooldown=10.0)
    health.record("p", Outcome.CONNECT_ERROR, now=0.0)
    assert health.gate("p", 10.5) is Gate.PROBE
    health.record("p", Outcome.CONNECT_ERROR, now=10.5)
    assert health.recovers_at("p") == 30.5  # 20 s: doubled


def test_auth_failure_disables_the_provider_and_says_so_once():
    health = board()
    assert health.record("p", Outcome.AUTH_ERROR, now=0.0, detail="HTTP 401") is True
    assert health.record("p", Outcome.AUTH_ERROR, now=1.0) is False
    assert health.gate("p", 1000.0) is Gate.DISABLED


def test_model_level_failures_do_not_count_against_the_provider():
    health = board(threshold=1)
    for outcome in (Outcome.INVALID, Outcome.CONTEXT_TOO_LONG, Outcome.NOT_FOUND):
        health.record("p", outcome, now=0.0)
    assert health.gate("p", 0.0) is Gate.OPEN_FOR_TRAFFIC


def test_a_released_probe_lets_the_next_caller_probe():
    health = board(threshold=1, cooldown=1.0)
    health.record("p", Outcome.TIMEOUT, now=0.0)
    assert health.gate("p", 2.0) is Gate.PROBE
    health.release_probe("p")
    assert health.gate("p", 2.0) is Gate.PROBE
