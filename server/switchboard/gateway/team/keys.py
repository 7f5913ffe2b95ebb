"""Where team data lives in Redis: one namespace per policy, every key inside it.

Keys look like `switchboard:{NAMESPACE}:...`. The braces make the namespace a Redis Cluster hash
tag, so the cache's Lua script only ever touches keys of one slot.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from ...config import Config


def policy_namespace(config: Config) -> str:
    """A name for the config's policy: its routes and the models (and endpoints) behind them.

    Teammates with the same routes share answers; a team whose `fast` is another model does not.
    """
    policy = {route: config.route_models(route) for route in sorted(config.routes)}
    material = json.dumps(policy, sort_keys=True, separators=(",", ":"))
    return "policy-" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Keys:
    namespace: str

    @property
    def prefix(self) -> str:
        return f"switchboard:{{{self.namespace}}}:"

    # -- the response cache --
    @property
    def entry_prefix(self) -> str:
        return self.prefix + "c:"

    def entry(self, key: str) -> str:
        return self.entry_prefix + key

    @property
    def cache_index(self) -> str:  # sorted set: cache key -> created_at
        return self.prefix + "cache:index"

    @property
    def cache_sizes(self) -> str:  # hash: cache key -> bytes
        return self.prefix + "cache:sizes"

    @property
    def cache_bytes(self) -> str:  # the sum of cache:sizes
        return self.prefix + "cache:bytes"

    # -- provider health --
    def health(self, provider: str) -> str:
        return self.prefix + "health:" + provider

    # -- usage --
    @property
    def usage_models(self) -> str:  # set of model aliases with figures
        return self.prefix + "models"

    def usage(self, alias: str) -> str:  # hash of counters
        return self.prefix + "usage:" + alias

    def latency(self, alias: str) -> str:  # list of recent latencies in ms, newest first
        return self.prefix + "latency:" + alias

    def suggestion_latency(self, alias: str) -> str:  # the same, for inline suggestions
        return self.prefix + "suggestion-latency:" + alias

    def spend(self, day: str) -> str:  # hash: task -> USD spent that day ("YYYY-MM-DD")
        return self.prefix + "spend:" + day
