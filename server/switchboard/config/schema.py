"""The typed configuration: what a validated config file becomes.

Names match the TOML keys one for one, so an error about a field is an error about a key. Each
field's own range is declared here (`validators.py`); rules that span fields are the loader's.
"""

from __future__ import annotations

from typing import Literal

import attrs

from .validators import at_least, between, matches, not_negative, optional, positive, rule

TaskName = str  # "fix", "explain", "review", "complete" or a custom action's route

BUILTIN_TASKS = ("fix", "explain", "review", "complete")
# OpenAI's ReasoningEffort values, lowest first (the chat-completions request schema).
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
# Context sent around the code: a window, never the whole file (docs/DESIGN.md, Prompt protocol).
MAX_CONTEXT_LINES = 500
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
    connect_timeout_s: float = attrs.field(default=3.0, validator=positive())
    max_connections: int = attrs.field(default=32, validator=at_least(1))
    headers: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ModelConfig:
    """A model alias: one model id at one provider, with what it costs and supports."""

    provider: str
    model: str
    context_window: int = attrs.field(default=8192, validator=at_least(1))
    max_output_tokens: int = attrs.field(default=1024, validator=at_least(1))
    # USD per million tokens. Unset: the provider's listing or the price table says (prices.py);
    # a price set here always wins. 0 means free (a local model), which a spent budget allows.
    input_cost_per_mtok: float | None = attrs.field(
        default=None, validator=optional(not_negative())
    )
    output_cost_per_mtok: float | None = attrs.field(
        default=None, validator=optional(not_negative())
    )
    temperature: float | None = attrs.field(default=None, validator=optional(between(0, 2)))
    # Per-attempt ceiling; the task's deadline (and its attempt_share) still bounds it.
    timeout_s: float = attrs.field(default=30.0, validator=positive())
    stream: bool = False
    # A streamed attempt ends when no token (answer or reasoning) arrived this long after the
    # request was sent, or between two events: a stream that stalls is not waited out.
    first_token_timeout_s: float = attrs.field(default=10.0, validator=positive())
    stream_idle_timeout_s: float = attrs.field(default=10.0, validator=positive())
    # Ask for a usage chunk at the end of a stream (stream_options.include_usage).
    stream_usage: bool = True
    # Send response_format {"type": "json_object"} for JSON answers (review).
    json_mode: bool = False
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    # The model thinks before it answers: its output budget gets room for the reasoning.
    reasoning: bool = False
    reasoning_budget_tokens: int = attrs.field(default=4096, validator=not_negative())
    # The `reasoning_effort` values the model accepts; quick tasks (fix, explain) send the
    # lowest of them. Empty: the field is never sent (many servers reject it).
    reasoning_efforts: tuple[str, ...] = attrs.field(
        default=(),
        validator=rule(
            lambda efforts: all(e in REASONING_EFFORTS for e in efforts),
            f"unknown value (one of {', '.join(REASONING_EFFORTS)})",
        ),
    )
    # The model fills in the middle: inline completions go to `{base_url}/completions` with
    # `prompt` (before the cursor) and `suffix` (after it) instead of a chat prompt.
    fim: bool = False


@attrs.frozen(kw_only=True)
class TaskConfig:
    """Knobs of one task. Every field is harmless: a workspace may tune them."""

    deadline_s: float = attrs.field(default=20.0, validator=positive())
    # Lines of context around the code sent for fix/rewrite/explain (never the whole file).
    context_lines: int = attrs.field(default=30, validator=between(0, MAX_CONTEXT_LINES))
    # Hedging: start the next candidate when the first is slower than the hedge delay.
    hedge: bool = False
    # A fixed delay; None learns it from recent latency.
    hedge_delay_ms: float | None = attrs.field(default=None, validator=optional(not_negative()))
    hedge_min_ms: float = attrs.field(default=150.0, validator=not_negative())
    hedge_max_ms: float = 2500.0  # at least hedge_min_ms (the loader's rule)
    # A fix spanning more lines than this escalates to the `fix_large` route (or `review`).
    large_fix_lines: int = attrs.field(default=80, validator=at_least(1))
    # While other models remain on the route, one attempt may use at most this share of the
    # time left before the deadline: a provider that hangs leaves the rest room to answer.
    attempt_share: float = attrs.field(
        default=0.5, validator=rule(lambda v: 0 < v <= 1, "must be more than 0 and at most 1")
    )
    # Escalation by experience: after this many invalid or checker-rejected fixes from the fast
    # route on one kind of diagnostic (source and code) in one file, fixes of that kind go
    # straight to the stronger route until escalation_memory_s after the last failure. 0: off.
    escalate_after_failures: int = attrs.field(default=2, validator=at_least(0))
    escalation_memory_s: float = attrs.field(default=1800.0, validator=positive())
    # Lines sent after the cursor (inline completion); `context_lines` are those before it.
    context_lines_after: int = attrs.field(default=10, validator=between(0, MAX_CONTEXT_LINES))
    # Caps the answer's output tokens below the model's own limit (inline completion: short).
    max_output_tokens: int | None = attrs.field(default=None, validator=optional(at_least(1)))


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
    failure_threshold: int = attrs.field(default=3, validator=at_least(1))
    cooldown_s: float = attrs.field(default=30.0, validator=positive())
    max_cooldown_s: float = 300.0  # at least cooldown_s (the loader's rule)


@attrs.frozen(kw_only=True)
class CacheConfig:
    enabled: bool = True
    ttl_s: float = attrs.field(default=604800.0, validator=not_negative())
    path: str | None = None  # default: the platform's cache directory
    max_entries: int = attrs.field(default=20000, validator=at_least(1))
    max_bytes: int = attrs.field(default=64 * 1024 * 1024, validator=at_least(1))
    memory_max_bytes: int = attrs.field(default=16 * 1024 * 1024, validator=at_least(1))
    # Team mode: a shared Redis/Valkey (redis:// or rediss://) behind the local cache. The URL
    # may carry credentials, so it (like the whole table) is honoured from the user config only.
    url: str | None = attrs.field(default=None, repr=False)
    url_env: str | None = None  # an environment variable holding the URL instead
    password_env: str | None = None  # an environment variable holding the password
    ca_file: str | None = None  # CA bundle for rediss:// to a server with a private CA
    allow_insecure: bool = False  # plain redis:// to a non-loopback host
    # Default: derived from the routes and their models.
    namespace: str | None = attrs.field(
        default=None,
        validator=optional(
            matches(r"[A-Za-z0-9._-]{1,64}", "use 1 to 64 letters, digits, '.', '_' or '-'")
        ),
    )
    # Longest an editor request waits on Redis; past it the request goes on without it.
    timeout_ms: float = attrs.field(default=5.0, validator=positive())
    # Background connects, writes and `stats --team`.
    connect_timeout_ms: float = attrs.field(default=1000.0, validator=positive())
    shared_max_entries: int = attrs.field(default=100_000, validator=at_least(1))
    shared_max_bytes: int = attrs.field(default=256 * 1024 * 1024, validator=at_least(1))
    # How long a shared entry lives: fresh for ttl_s, then a stale-if-error fallback.
    # Default: ttl_s + 30 days; never less than ttl_s (the loader's rule).
    shared_expire_s: float | None = attrs.field(default=None, validator=optional(positive()))
    share_health: bool = True
    share_usage: bool = True


@attrs.frozen(kw_only=True)
class CheckerConfig:
    """A user's own checker (user config only: a workspace must not make the editor run its
    programs). `command` may name `{file}` (the text to check) and `{original}` (its path)."""

    command: tuple[str, ...] = attrs.field(validator=rule(bool, "name the program to run"))
    format: Literal["ruff-json", "pyright-json", "mypy-json", "eslint-json", "tsc", "gcc", "sarif"]
    # The diagnostic `source` values it answers for (default: its name).
    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()  # languageIds; empty: every language
    # stdin: the text on stdin under the file's name; file: in a temporary file beside it.
    input: Literal["stdin", "file"] = "stdin"
    timeout_s: float | None = attrs.field(default=None, validator=optional(positive()))


@attrs.frozen(kw_only=True)
class VerifyConfig:
    """Verifying fixes with the checker that raised their diagnostic."""

    enabled: bool = True
    # One checker run; the task's deadline still bounds it.
    timeout_s: float = attrs.field(default=15.0, validator=positive())


@attrs.frozen(kw_only=True)
class UsageConfig:
    path: str | None = None  # default: the platform's state directory
    # Per model, for percentiles.
    latency_samples: int = attrs.field(default=512, validator=at_least(1))


@attrs.frozen(kw_only=True)
class PricesConfig:
    """Where prices come from for models whose config sets none."""

    listing: bool = True  # the provider's own GET /models listing (OpenRouter's carries prices)
    table: bool = True  # the genai-prices table from PyPI
    # How long looked-up prices are kept before a background refresh.
    ttl_s: float = attrs.field(default=86400.0, validator=positive())
    path: str | None = None  # default: the platform's cache directory
    timeout_s: float = attrs.field(default=5.0, validator=positive())  # per provider listing


@attrs.frozen(kw_only=True)
class BudgetLimits:
    """Spending limits in USD; None means no limit."""

    daily_usd: float | None = None
    monthly_usd: float | None = None


@attrs.frozen(kw_only=True)
class BudgetConfig:
    """Spending limits overall and per task. A workspace may lower them, never raise them."""

    daily_usd: float | None = None
    monthly_usd: float | None = None
    warn_ratio: float = 0.8  # say once when spend passes this share of a limit
    tasks: dict[str, BudgetLimits] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class StrategyConfig:
    """How a route's candidates are ordered. `listed` (the default) keeps the route's order;
    `latency`, `price` and `mixed` order them by the usage figures, recomputed at most every
    `refresh_s` (a request only looks the order up)."""

    order: Literal["listed", "latency", "price", "mixed"] = "listed"
    # For `mixed`: the share of latency in the score, the rest is price.
    latency_weight: float = attrs.field(default=0.5, validator=between(0, 1))
    refresh_s: float = attrs.field(default=10.0, validator=positive())
    # How many of a model's latest successful latencies its median is taken over.
    samples: int = attrs.field(default=10, validator=at_least(1))


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
    # Route name -> how its candidates are ordered; a route not named here keeps its order.
    strategies: dict[str, StrategyConfig] = attrs.field(factory=dict)
    tasks: TasksConfig = TasksConfig()
    actions: dict[str, ActionConfig] = attrs.field(factory=dict)
    breaker: BreakerConfig = BreakerConfig()
    cache: CacheConfig = CacheConfig()
    usage: UsageConfig = UsageConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    checkers: dict[str, CheckerConfig] = attrs.field(factory=dict)
    verify: VerifyConfig = VerifyConfig()
    prices: PricesConfig = PricesConfig()
    budget: BudgetConfig = BudgetConfig()
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
