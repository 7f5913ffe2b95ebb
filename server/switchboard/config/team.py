"""Where the team's Redis is, resolved from the user config and the environment.

Kept apart from the team package so that knowing whether team mode is on costs no import of
the Redis client: the language server starts faster without it.
"""

from __future__ import annotations

from collections.abc import Mapping

from .schema import CacheConfig


def redis_url(cache: CacheConfig, environ: Mapping[str, str]) -> str | None:
    """The team's Redis URL, from the user config or the environment; None: team mode off."""
    if cache.url:
        return cache.url
    if cache.url_env:
        return environ.get(cache.url_env) or None
    return None


def redis_password(cache: CacheConfig, environ: Mapping[str, str]) -> str | None:
    """The password from `password_env`, for a URL that carries none."""
    if not cache.password_env:
        return None
    return environ.get(cache.password_env) or None
