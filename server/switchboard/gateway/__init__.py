"""The model gateway: providers, routing, cache and usage. Knows nothing of editors or LSP.

`Gateway` itself, which brings in the HTTP stack, is loaded on first use: the language server
names the gateway's data types while it starts, and answers `initialize` before loading it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .answers import Answer, Ask, BudgetReached, CacheState, NoAnswer, describe_attempts
from .cache import CacheEntry, CacheStore, ResponseCache, SqliteStore, cache_key
from .outcomes import Attempt, Completion, InvalidAnswer, Outcome, ProviderError, TokenUsage
from .router import AllFailed
from .usage import ModelStats, UsageLog
from .wire import Fim, Message, Prompt

if TYPE_CHECKING:
    from .gateway import Gateway


def __getattr__(name: str) -> Any:
    if name == "Gateway":
        from .gateway import Gateway

        return Gateway
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AllFailed",
    "Answer",
    "Ask",
    "Attempt",
    "BudgetReached",
    "CacheEntry",
    "CacheState",
    "CacheStore",
    "Completion",
    "Fim",
    "Gateway",
    "InvalidAnswer",
    "Message",
    "ModelStats",
    "NoAnswer",
    "Outcome",
    "Prompt",
    "ProviderError",
    "ResponseCache",
    "SqliteStore",
    "TokenUsage",
    "UsageLog",
    "cache_key",
    "describe_attempts",
]
