"""Where the secrets a config refers to come from, and which values must never be shown.

Keys come from the environment (or the user's own config file); the list of every secret in
play is what the log scrubbers strike out, for the CLI and the language server alike.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from urllib.parse import urlsplit

from .schema import Config, ProviderConfig
from .team import redis_password, redis_url


def resolve_api_key(provider: ProviderConfig, environ: Mapping[str, str]) -> str | None:
    """The provider's key: from its environment variable, else from the user's config file."""
    if provider.api_key_env and environ.get(provider.api_key_env):
        return environ[provider.api_key_env]
    return provider.api_key


def secret_values(config: Config, environ: Mapping[str, str]) -> list[str]:
    """Every key and password the config makes Switchboard hold: never to be logged."""
    values = [resolve_api_key(provider, environ) for provider in config.providers.values()]
    url = redis_url(config.cache, environ)
    with contextlib.suppress(ValueError):  # a malformed URL is refused by validation anyway
        values.append(urlsplit(url).password if url else None)
    values.append(redis_password(config.cache, environ))
    return [value for value in values if value]
