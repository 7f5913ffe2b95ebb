"""The typed configuration: what a validated config file becomes.

Names match the TOML keys one for one, so an error about a field is an error about a key.
"""

from __future__ import annotations

from typing import Literal

import attrs

TaskName = str  # "fix", "explain", "review", "complete" or a custom action's route

BUILTIN_TASKS = ("fix", "explain", "review", "complete")
# OpenAI's ReasoningEffort values, lowest first (the chat-completions request schema).
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
# Tasks the user waits on while typing or pointing: they ask for the least reasoning.
QUICK_TASKS = frozenset({"fix", "explain", "complete"})


@attrs.frozen(kw_only=True)
class ProviderConfig:
    """An OpenAI-compatible endpoint: where requests go and which key they carry."""

    base_url: str
    api_key_env: str | None = None
    # Only honoured from the user's own config file, never from a workspace.
    api_key: str | None = attrs.field(default=None, repr=False)
    # Plain http to a non-loopback host is refused unless the user says so here.
    allow_insecure_http: bool = False
    connect_timeout_s: float = 3.0
    max_connections: int = 32
    headers: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ModelConfig:
    """A model alias: one model id at one provider, with what it costs and supports."""

    provider: str
    model: str
    context_window: int = 8192
    max_output_tokens: int = 1024
    input_cost_per_mtok: float = 0.0
    output_cost_per_mtok: float = 0.0
    temperature: float | None = None
    # Per-attempt ceiling; the task's deadline (and its attempt_share) still bounds it.
    timeout_s: float = 30.0
    stream: bool = False
    # A streamed attempt ends when no token (answer or reasoning) arrived this long after the
    # request was sent, or between two events: a stream that stalls is not waited out.
    first_token_timeout_s: float = 10.0
    stream_idle_timeout_s: float = 10.0
    # Ask for a usage chunk at the end of a stream (stream_options.include_usage).
    stream_usage: bool = True
    # Send response_format {"type": "json_object"} for JSON answers (review).
    json_mode: bool = False
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    # The model thinks before it answers: its output budget gets room for the reasoning.
    reasoning: bool = False
    reasoning_budget_tokens: int = 4096
    # The `reasoning_effort` values the model accepts; quick tasks (fix, explain) send the
    # lowest of them. Empty: the field is never sent (many servers reject it).
    reasoning_efforts: tuple[str, ...] = ()
    # The model fills in the middle: inline completions go to `{base_url}/completions` with
    # `prompt` (before the cursor) and `suffix` (after it) instead of a chat prompt.
    fim: bool = False


@attrs.frozen(kw_only=True)
class TaskConfig:
    """Knobs of one task. Every field is harmless: a workspace may tune them."""

    deadline_s: float = 20.0
    # Lines of context around the code sent for fix/rewrite/explain (never the whole file).
    context_lines: int = 30
    # Hedging: start the next candidate when the first is slower than the hedge delay.
    hedge: bool = False
    hedge_delay_ms: float | None = None  # fixed delay; None learns it from recent latency
    hedge_min_ms: float = 150.0
    hedge_max_ms: float = 2500.0
    # A fix spanning more lines than this escalates to the `fix_large` route (or `review`).
    large_fix_lines: int = 80
    # While other models remain on the route, one attempt may use at most this share of the
    # time left before the deadline: a provider that hangs leaves the rest room to answer.
    attempt_share: float = 0.5
    # Lines sent after the cursor (inline completion); `context_lines` are those before it.
    context_lines_after: int = 10
    # Caps the answer's output tokens below the model's own limit (inline completion: short).
    max_output_tokens: int | None = None


@attrs.frozen(kw_only=True)
class TasksConfig:
    fix: TaskConfig = TaskConfig(deadline_s=20.0)
    explain: TaskConfig = TaskConfig(deadline_s=10.0, context_lines=20, hedge=True)
    review: TaskConfig = TaskConfig(deadline_s=120.0)
    # Suggestions while typing: worth nothing late, so a short deadline and a hedge.
    complete: TaskConfig = TaskConfig(
        deadline_s=1.5, context_lines=40, context_lines_after=15, max_output_tokens=64, hedge=True
    )


@attrs.frozen(kw_only=True)
class ActionConfig:
    """A user-defined code action on a selection."""

    title: str
    prompt: str
    route: str = "fix"


@attrs.frozen(kw_only=True)
class BreakerConfig:
    failure_threshold: int = 3
    cooldown_s: float = 30.0
    max_cooldown_s: float = 300.0


@attrs.frozen(kw_only=True)
class CacheConfig:
    enabled: bool = True
    ttl_s: float = 604800.0
    path: str | None = None  # default: the platform's cache directory
    max_entries: int = 20000
    max_bytes: int = 64 * 1024 * 1024
    memory_max_bytes: int = 16 * 1024 * 1024
    # Team mode: a shared Redis/Valkey (redis:// or rediss://) behind the local cache. The URL
    # may carry credentials, so it (like the whole table) is honoured from the user config only.
    url: str | None = attrs.field(default=None, repr=False)
    url_env: str | None = None  # an environment variable holding the URL instead
    password_env: str | None = None  # an environment variable holding the password
    ca_file: str | None = None  # CA bundle for rediss:// to a server with a private CA
    allow_insecure: bool = False  # plain redis:// to a non-loopback host
    namespace: str | None = None  # default: derived from the routes and their models
    # Longest an editor request waits on Redis; past it the request goes on without it.
    timeout_ms: float = 5.0
    connect_timeout_ms: float = 1000.0  # background connects, writes and `stats --team`
    shared_max_entries: int = 100_000
    shared_max_bytes: int = 256 * 1024 * 1024
    # How long a shared entry lives: fresh for ttl_s, then a stale-if-error fallback.
    # Default: ttl_s + 30 days; never less than ttl_s.
    shared_expire_s: float | None = None
    share_health: bool = True
    share_usage: bool = True


@attrs.frozen(kw_only=True)
class UsageConfig:
    path: str | None = None  # default: the platform's state directory
    latency_samples: int = 512  # per model, for percentiles


@attrs.frozen(kw_only=True)
class PrivacyConfig:
    redact_secrets: bool = True
    exclude: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class Config:
    """The whole, validated configuration. Built once, passed down, never dict-dug."""

    providers: dict[str, ProviderConfig] = attrs.field(factory=dict)
    models: dict[str, ModelConfig] = attrs.field(factory=dict)
    routes: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    tasks: TasksConfig = TasksConfig()
    actions: dict[str, ActionConfig] = attrs.field(factory=dict)
    breaker: BreakerConfig = BreakerConfig()
    cache: CacheConfig = CacheConfig()
    usage: UsageConfig = UsageConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    # Where it came from, for `config check` and messages; not a TOML key.
    source: str = attrs.field(default="built-in defaults", eq=False)

    def task(self, name: str) -> TaskConfig:
        """Knobs for a task; custom actions use the knobs of the task named by their route."""
        return getattr(self.tasks, name, self.tasks.fix)

    def route(self, name: str) -> tuple[str, ...]:
        return self.routes.get(name, ())

    def route_models(self, name: str) -> tuple[tuple[str, str], ...]:
        """What a route reaches: each candidate's endpoint (base URL) and model id. Aliases are
        one person's names, so this, not the chain of aliases, identifies a route's answers."""
        return tuple(
            (self.providers[self.models[alias].provider].base_url, self.models[alias].model)
            for alias in self.route(name)
        )
