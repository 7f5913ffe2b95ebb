"""The model gateway: providers, routing, cache and usage. Knows nothing of editors or LSP."""

from .cache import CacheEntry, CacheStore, ResponseCache, SqliteStore, cache_key
from .gateway import Answer, Ask, CacheState, Gateway, NoAnswer, describe_attempts
from .outcomes import Completion, InvalidAnswer, Outcome, ProviderError, TokenUsage
from .router import AllFailed, Attempt
from .usage import ModelStats, UsageLog
from .wire import Message, Prompt

__all__ = [
    "AllFailed",
    "Answer",
    "Ask",
    "Attempt",
    "CacheEntry",
    "CacheState",
    "CacheStore",
    "Completion",
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
