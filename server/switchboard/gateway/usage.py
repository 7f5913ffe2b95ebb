"""Usage accounting per model: requests, failures by kind, latency, tokens, cost, cache hits,
and inline suggestions (shown, accepted, their latency).

Counts accumulate in memory and are added to a SQLite file in batches, so several processes (an
editor's server, a CI script) add up into the same figures that `switchboard stats` shows.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..config import ModelConfig
from .outcomes import Outcome, TokenUsage
from .policy import percentile
from .sqlite import connect

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS model_usage (
    model TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    ok INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    cache_fresh INTEGER NOT NULL DEFAULT 0,
    cache_stale INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS model_outcomes (
    model TEXT NOT NULL,
    outcome TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (model, outcome)
);
CREATE TABLE IF NOT EXISTS latency (
    model TEXT NOT NULL,
    ms REAL NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS latency_by_model ON latency (model, at);
CREATE TABLE IF NOT EXISTS suggestions (
    model TEXT PRIMARY KEY,
    shown INTEGER NOT NULL DEFAULT 0,
    accepted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS suggestion_latency (
    model TEXT NOT NULL,
    ms REAL NOT NULL,
    at REAL NOT NULL
);
"""

_FLUSH_EVERY_S = 2.0


@dataclass
class UsageDelta:
    """What one model added since the last flush."""

    provider: str
    requests: int = 0
    ok: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cache_fresh: int = 0
    cache_stale: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (ms, wall time)
    # Inline suggestions: shown to the user, taken by them, and how long the model took.
    shown: int = 0
    accepted: int = 0
    suggestion_latencies: list[tuple[float, float]] = field(default_factory=list)

    def merge(self, older: UsageDelta) -> None:
        """Add figures not yet saved (they came first, so their latencies go first)."""
        for name in _COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(older, name))
        for outcome, count in older.outcomes.items():
            self.outcomes[outcome] += count
        self.latencies[:0] = older.latencies
        self.suggestion_latencies[:0] = older.suggestion_latencies


_COUNTERS = (
    "requests",
    "ok",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "cache_fresh",
    "cache_stale",
    "shown",
    "accepted",
)

# Receives each batch of figures once it is saved locally (team mode sends them to Redis).
UsageSink = Callable[[Mapping[str, UsageDelta]], None]


@dataclass(frozen=True)
class ModelStats:
    model: str
    provider: str
    requests: int
    ok: int
    failures: dict[str, int]
    skipped: dict[str, int]
    p50_ms: float | None
    p95_ms: float | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    cache_fresh: int
    cache_stale: int
    shown: int = 0
    accepted: int = 0
    suggestion_p50_ms: float | None = None
    suggestion_p95_ms: float | None = None

    @property
    def failure_count(self) -> int:
        return sum(self.failures.values())

    @classmethod
    def unused(cls, model: str, provider: str) -> ModelStats:
        """The figures of a model nothing was sent to yet."""
        return cls(model, provider, 0, 0, {}, {}, None, None, 0, 0, 0.0, 0, 0)


def cost_of(model: ModelConfig, usage: TokenUsage) -> float:
    return (
        usage.prompt_tokens * model.input_cost_per_mtok
        + usage.completion_tokens * model.output_cost_per_mtok
    ) / 1_000_000


class UsageLog:
    def __init__(self, path: Path | str | None, *, latency_samples: int = 512) -> None:
        self._path = path
        self._samples = latency_samples
        self._lock = threading.Lock()
        self._pending: dict[str, UsageDelta] = {}
        self._recent: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=latency_samples))
        self._last_flush = time.monotonic()
        self._db: sqlite3.Connection | None = None
        self._sinks: list[UsageSink] = []
        if path is not None:
            try:
                self._db = connect(path, _SCHEMA, "usage")
                self._load_recent()
            except (sqlite3.Error, OSError) as exc:
                log.warning("Usage figures will not be kept: cannot open %s (%s).", path, exc)

    def _load_recent(self) -> None:
        assert self._db is not None
        rows = self._db.execute(
            "SELECT model, ms FROM latency ORDER BY at DESC LIMIT ?", (self._samples * 64,)
        ).fetchall()
        for model, ms in reversed(rows):
            self._recent[model].append(ms)

    def recent_latencies(self, model: str) -> deque[float]:
        """Recent successful latencies of `model` in ms (this process and earlier ones)."""
        return self._recent[model]

    def _delta(self, alias: str, provider: str) -> UsageDelta:
        delta = self._pending.get(alias)
        if delta is None:
            delta = self._pending[alias] = UsageDelta(provider)
        return delta

    def record_attempt(
        self,
        alias: str,
        model: ModelConfig,
        outcome: Outcome,
        ms: float,
        usage: TokenUsage | None = None,
    ) -> float:
        """Count one attempt; returns its cost in USD."""
        cost = cost_of(model, usage) if usage is not None else 0.0
        with self._lock:
            delta = self._delta(alias, model.provider)
            if outcome is Outcome.OK:
                delta.requests += 1
                delta.ok += 1
                delta.latencies.append((ms, time.time()))
                self._recent[alias].append(ms)
            elif outcome.skipped:
                delta.outcomes[outcome.value] += 1
            else:
                delta.requests += 1
                delta.outcomes[outcome.value] += 1
            if usage is not None:
                delta.prompt_tokens += usage.prompt_tokens
                delta.completion_tokens += usage.completion_tokens
                delta.cost_usd += cost
        return cost

    def record_cache_hit(self, alias: str, provider: str, stale: bool) -> None:
        with self._lock:
            delta = self._delta(alias, provider)
            if stale:
                delta.cache_stale += 1
            else:
                delta.cache_fresh += 1

    def record_suggestion(
        self, alias: str, provider: str, *, accepted: bool, latency_ms: float | None = None
    ) -> None:
        """Count a suggestion shown (with the model's latency when one was asked) or accepted."""
        with self._lock:
            delta = self._delta(alias, provider)
            if accepted:
                delta.accepted += 1
            else:
                delta.shown += 1
                if latency_ms is not None:
                    delta.suggestion_latencies.append((latency_ms, time.time()))

    def maybe_flush(self) -> None:
        if time.monotonic() - self._last_flush >= _FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            self._last_flush = time.monotonic()
        if not pending:
            return
        if self._db is not None:
            try:
                self._write(pending)
            except sqlite3.Error as exc:
                log.warning(
                    "Could not save usage figures (%s); they are kept for the next try.", exc
                )
                with self._lock:
                    for alias, delta in pending.items():
                        self._merge_back(alias, delta)
                return
        for sink in self._sinks:
            sink(pending)

    def add_sink(self, sink: UsageSink) -> None:
        """Also hand every saved batch to `sink` (it must not block)."""
        self._sinks.append(sink)

    def _merge_back(self, alias: str, old: UsageDelta) -> None:
        self._delta(alias, old.provider).merge(old)

    def _write(self, pending: dict[str, UsageDelta]) -> None:
        assert self._db is not None
        db = self._db
        now = time.time()
        with self._lock:  # one connection, used from one thread at a time
            db.execute("BEGIN IMMEDIATE")
            try:
                for alias, d in pending.items():
                    db.execute(
                        """INSERT INTO model_usage (model, provider, requests, ok, prompt_tokens,
                               completion_tokens, cost_usd, cache_fresh, cache_stale, updated_at)
                           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                           ON CONFLICT (model) DO UPDATE SET
                               provider = excluded.provider,
                               requests = requests + excluded.requests,
                               ok = ok + excluded.ok,
                               prompt_tokens = prompt_tokens + excluded.prompt_tokens,
                               completion_tokens = completion_tokens + excluded.completion_tokens,
                               cost_usd = cost_usd + excluded.cost_usd,
                               cache_fresh = cache_fresh + excluded.cache_fresh,
                               cache_stale = cache_stale + excluded.cache_stale,
                               updated_at = excluded.updated_at""",
                        (
                            alias,
                            d.provider,
                            d.requests,
                            d.ok,
                            d.prompt_tokens,
                            d.completion_tokens,
                            d.cost_usd,
                            d.cache_fresh,
                            d.cache_stale,
                            now,
                        ),
                    )
                    db.executemany(
                        """INSERT INTO model_outcomes (model, outcome, count) VALUES (?, ?, ?)
                           ON CONFLICT (model, outcome)
                           DO UPDATE SET count = count + excluded.count""",
                        [(alias, outcome, n) for outcome, n in d.outcomes.items()],
                    )
                    if d.shown or d.accepted:
                        db.execute(
                            """INSERT INTO suggestions (model, shown, accepted) VALUES (?, ?, ?)
                               ON CONFLICT (model) DO UPDATE SET
                                   shown = shown + excluded.shown,
                                   accepted = accepted + excluded.accepted""",
                            (alias, d.shown, d.accepted),
                        )
                    self._add_samples("suggestion_latency", alias, d.suggestion_latencies)
                    self._add_samples("latency", alias, d.latencies)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _add_samples(self, table: str, alias: str, samples: list[tuple[float, float]]) -> None:
        """Add (ms, at) samples to `table`, keeping only the newest `latency_samples` per model.
        `table` is one of ours, never input."""
        if not samples:
            return
        assert self._db is not None
        self._db.executemany(
            f"INSERT INTO {table} (model, ms, at) VALUES (?, ?, ?)",
            [(alias, ms, at) for ms, at in samples],
        )
        self._db.execute(
            f"""DELETE FROM {table} WHERE model = ? AND rowid NOT IN (
                   SELECT rowid FROM {table} WHERE model = ? ORDER BY at DESC LIMIT ?)""",
            (alias, alias, self._samples),
        )

    def snapshot(self) -> list[ModelStats]:
        """Every model's figures, including this process's unsaved ones."""
        self.flush()
        if self._db is None:
            return []
        with self._lock:
            usage_rows = self._db.execute(
                "SELECT model, provider, requests, ok, prompt_tokens, completion_tokens, cost_usd,"
                " cache_fresh, cache_stale FROM model_usage ORDER BY model"
            ).fetchall()
            outcome_rows = self._db.execute(
                "SELECT model, outcome, count FROM model_outcomes"
            ).fetchall()
            latency_rows = self._db.execute("SELECT model, ms FROM latency").fetchall()
            suggestion_rows = self._db.execute(
                "SELECT model, shown, accepted FROM suggestions"
            ).fetchall()
            suggestion_latency_rows = self._db.execute(
                "SELECT model, ms FROM suggestion_latency"
            ).fetchall()
        outcomes: dict[str, dict[str, int]] = defaultdict(dict)
        for model, outcome, count in outcome_rows:
            outcomes[model][outcome] = count
        latencies: dict[str, list[float]] = defaultdict(list)
        for model, ms in latency_rows:
            latencies[model].append(ms)
        suggestions = {model: (shown, accepted) for model, shown, accepted in suggestion_rows}
        suggestion_ms: dict[str, list[float]] = defaultdict(list)
        for model, ms in suggestion_latency_rows:
            suggestion_ms[model].append(ms)
        stats = []
        for model, provider, requests, ok, p_tok, c_tok, cost, fresh, stale in usage_rows:
            kinds = outcomes.get(model, {})
            stats.append(
                ModelStats(
                    model=model,
                    provider=provider,
                    requests=requests,
                    ok=ok,
                    failures={k: v for k, v in kinds.items() if not k.startswith("skipped_")},
                    skipped={k: v for k, v in kinds.items() if k.startswith("skipped_")},
                    p50_ms=percentile(latencies.get(model, []), 50),
                    p95_ms=percentile(latencies.get(model, []), 95),
                    prompt_tokens=p_tok,
                    completion_tokens=c_tok,
                    cost_usd=cost,
                    cache_fresh=fresh,
                    cache_stale=stale,
                    shown=suggestions.get(model, (0, 0))[0],
                    accepted=suggestions.get(model, (0, 0))[1],
                    suggestion_p50_ms=percentile(suggestion_ms.get(model, []), 50),
                    suggestion_p95_ms=percentile(suggestion_ms.get(model, []), 95),
                )
            )
        return stats

    def reset(self) -> None:
        with self._lock:
            self._pending.clear()
            self._recent.clear()
            if self._db is not None:
                self._db.executescript(
                    "DELETE FROM model_usage; DELETE FROM model_outcomes; DELETE FROM latency;"
                    " DELETE FROM suggestions; DELETE FROM suggestion_latency;"
                )

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None
