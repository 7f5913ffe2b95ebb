"""Configuration: one typed, validated object built from TOML and the built-in defaults."""

from .loader import (
    ConfigError,
    base_url_problem,
    config_from_mapping,
    find_config_path,
    is_loopback_host,
    load_config,
    redis_url_problem,
    user_config_path,
)
from .schema import (
    ActionConfig,
    BreakerConfig,
    BudgetConfig,
    BudgetLimits,
    CacheConfig,
    Config,
    ModelConfig,
    PricesConfig,
    PrivacyConfig,
    ProviderConfig,
    TaskConfig,
    UsageConfig,
)

__all__ = [
    "ActionConfig",
    "BreakerConfig",
    "BudgetConfig",
    "BudgetLimits",
    "CacheConfig",
    "Config",
    "ConfigError",
    "ModelConfig",
    "PricesConfig",
    "PrivacyConfig",
    "ProviderConfig",
    "TaskConfig",
    "UsageConfig",
    "base_url_problem",
    "config_from_mapping",
    "find_config_path",
    "is_loopback_host",
    "load_config",
    "redis_url_problem",
    "user_config_path",
]
