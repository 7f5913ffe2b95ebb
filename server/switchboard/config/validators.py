"""Field rules of the config schema, as attrs validators.

Their messages name the rule, not the key ("must be at least 1"): the loader reports them at
the key's dotted path, as it does a wrong type (`models.fast.context_window: must be ...`).
Rules that span fields (a route naming a model, hedge_max_ms against hedge_min_ms) are the
loader's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import attrs

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


class OutOfRange(ValueError):
    """A value its field does not allow; `problem` says why, without the key."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.problem = problem


def rule(allowed: Callable[[Any], bool], problem: str) -> Validator:
    """A validator refusing a value `allowed` rejects, with `problem` as what the user reads."""

    def check(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not allowed(value):
            raise OutOfRange(attribute.name, problem)

    return check


def at_least(low: int) -> Validator:
    return rule(lambda value: value >= low, f"must be at least {low}")


def positive() -> Validator:
    return rule(lambda value: value > 0, "must be positive")


def not_negative() -> Validator:
    return rule(lambda value: value >= 0, "must not be negative")


def between(low: float, high: float) -> Validator:
    return rule(lambda value: low <= value <= high, f"must be between {low:g} and {high:g}")


def matches(pattern: str, problem: str) -> Validator:
    compiled = re.compile(pattern)
    return rule(lambda value: compiled.fullmatch(value) is not None, problem)


def optional(validator: Validator) -> Validator:
    """`validator` for a value that may also be None (unset)."""
    return attrs.validators.optional(validator)
