"""Typed outcomes of talking to a provider: one place names every way a call can end.

Like httpx's exception hierarchy, each failure is its own class carrying what the router needs
(an outcome and, for rate limits, how long to stay away). Nothing above the provider layer looks
at HTTP status codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar


class Outcome(StrEnum):
    OK = "ok"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECT_ERROR = "connect_error"
    BAD_RESPONSE = "bad_response"
    INVALID = "invalid"
    CUT_OFF = "cut_off"
    AUTH_ERROR = "auth_error"
    CONTEXT_TOO_LONG = "context_too_long"
    NOT_FOUND = "not_found"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    SKIPPED_OPEN_BREAKER = "skipped_open_breaker"
    SKIPPED_AUTH = "skipped_auth"
    SKIPPED_CONTEXT_WINDOW = "skipped_context_window"

    @property
    def skipped(self) -> bool:
        return self.value.startswith("skipped_")

    @property
    def counts_against_provider(self) -> bool:
        """Failures that say the provider is unhealthy, not that the request or model was wrong."""
        return self in _PROVIDER_FAILURES

    @property
    def unavailable(self) -> bool:
        """The provider could not be used at all (down, cooling down, key rejected, model
        missing), as opposed to answering with something unusable."""
        return self in _PROVIDER_FAILURES or self in _UNAVAILABLE

    def describe(self) -> str:
        return _WORDS[self]


_PROVIDER_FAILURES = frozenset(
    {
        Outcome.RATE_LIMITED,
        Outcome.SERVER_ERROR,
        Outcome.TIMEOUT,
        Outcome.CONNECT_ERROR,
        Outcome.BAD_RESPONSE,
    }
)

_UNAVAILABLE = frozenset(
    {Outcome.AUTH_ERROR, Outcome.SKIPPED_AUTH, Outcome.SKIPPED_OPEN_BREAKER, Outcome.NOT_FOUND}
)

_WORDS = {
    Outcome.OK: "answered",
    Outcome.RATE_LIMITED: "rate-limited",
    Outcome.SERVER_ERROR: "server error",
    Outcome.TIMEOUT: "timed out",
    Outcome.CONNECT_ERROR: "unreachable",
    Outcome.BAD_RESPONSE: "broken answer",
    Outcome.INVALID: "unusable answer",
    Outcome.CUT_OFF: "answer cut off at its token limit",
    Outcome.AUTH_ERROR: "rejected the API key",
    Outcome.CONTEXT_TOO_LONG: "prompt too long for it",
    Outcome.NOT_FOUND: "model not found",
    Outcome.REJECTED: "rejected the request",
    Outcome.CANCELLED: "cancelled",
    Outcome.SKIPPED_OPEN_BREAKER: "skipped (cooling down)",
    Outcome.SKIPPED_AUTH: "skipped (API key rejected earlier)",
    Outcome.SKIPPED_CONTEXT_WINDOW: "skipped (context window too small)",
}


@dataclass(frozen=True, slots=True)
class TokenUsage:
    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False
    # What the provider itself says the call cost (OpenRouter's `usage.cost`), when it says.
    cost_usd: float | None = None

    def to_json(self) -> dict[str, int | bool]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "estimated": self.estimated,
        }


@dataclass(frozen=True, slots=True)
class Completion:
    """A complete, well-formed answer from a provider."""

    text: str
    usage: TokenUsage | None
    finish_reason: str | None = None


class ProviderError(Exception):
    """A provider call that did not produce a usable completion."""

    outcome: ClassVar[Outcome]

    def __init__(
        self, detail: str, *, retry_after: float | None = None, usage: TokenUsage | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after
        # The tokens of an answer that came but cannot be used (cut off, only reasoning): paid
        # for all the same.
        self.usage = usage


class RateLimited(ProviderError):
    outcome = Outcome.RATE_LIMITED


class ServerError(ProviderError):
    outcome = Outcome.SERVER_ERROR


class ProviderTimeout(ProviderError):
    outcome = Outcome.TIMEOUT


class ConnectFailed(ProviderError):
    outcome = Outcome.CONNECT_ERROR


class BadResponse(ProviderError):
    outcome = Outcome.BAD_RESPONSE


class AnswerCutOff(ProviderError):
    """A well-formed answer the model did not finish (token limit, content filter): the model's
    problem with this request, not a sign that the provider is unhealthy. Counted apart from
    unusable answers, so that a model whose reasoning eats its output budget shows as such."""

    outcome = Outcome.CUT_OFF


class AnswerWithheld(ProviderError):
    """The provider's content filter withheld the answer: nothing the next model cannot do."""

    outcome = Outcome.INVALID


class OnlyReasoning(ProviderError):
    """The model reasoned and never gave an answer: its failure on this request, not the
    provider's."""

    outcome = Outcome.INVALID


class AuthFailed(ProviderError):
    outcome = Outcome.AUTH_ERROR


class ContextTooLong(ProviderError):
    outcome = Outcome.CONTEXT_TOO_LONG


class ModelNotFound(ProviderError):
    outcome = Outcome.NOT_FOUND


class RequestRejected(ProviderError):
    outcome = Outcome.REJECTED


class InvalidAnswer(Exception):
    """A well-formed completion whose content the task cannot use (raised by task parsers)."""

    usage: TokenUsage | None = None  # the completion's tokens, set by the router (paid for)


class Rejected(InvalidAnswer):
    """An edit that the checker which raised its diagnostic refused: the diagnostic is still
    there, or the edit added an error. The next model is asked."""


class EditQuality(StrEnum):
    """What verified a model's edit: the number a user chooses a fix model by."""

    VERIFIED = "verified"
    REJECTED = "rejected"
    NOT_VERIFIED = "not_verified"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One candidate's turn at a request: which model, how it ended, how long it took."""

    model: str
    provider: str
    outcome: Outcome
    ms: float
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "model": self.model,
            "provider": self.provider,
            "outcome": self.outcome.value,
            "ms": round(self.ms, 1),
        }
        if self.detail:
            data["detail"] = self.detail
        return data
