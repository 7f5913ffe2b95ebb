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

import platformdirs

from ..config import ModelConfig
from .outcomes import EditQuality, Outcome, TokenUsage
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
CREATE TABLE IF NOT EXISTS spend (
    day TEXT NOT NULL,
    task TEXT NOT NULL,
    cost_usd REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (day, task)
);
CREATE TABLE IF NOT EXISTS output_tokens (
    model TEXT NOT NULL,
    task TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS output_tokens_by_model ON output_tokens (model, task, at);
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

# Answers remembered per model and task, to say what the next one will likely cost.
_OUTPUT_SAMPLES = 64

_FLUSH_EVERY_S = 2.0
# Edit verdicts share the outcomes table under this prefix (and travel to the team with them).
_EDIT = "edit:"


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
    # USD spent per (local day "YYYY-MM-DD", task), for budgets.
    spend: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    # (task, completion tokens, wall time) of each answer, for estimates.
    outputs: list[tuple[str, int, float]] = field(default_factory=list)
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
        for when, usd in older.spend.items():
            self.spend[when] += usd
        self.outputs[:0] = older.outputs
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
    edits: dict[str, int] = field(default_factory=dict)  # verified / rejected / not_verified
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


def sorted_kinds(kinds: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """A model's counted outcomes, as ModelStats keeps them: failures, skips, edit verdicts."""
    return {
        "failures": {k: v for k, v in kinds.items() if not k.startswith(("skipped_", _EDIT))},
        "skipped": {k: v for k, v in kinds.items() if k.startswith("skipped_")},
        "edits": {k[len(_EDIT) :]: v for k, v in kinds.items() if k.startswith(_EDIT)},
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def day_of(at: float) -> str:
    """The local calendar day of a wall time: daily budgets reset at local midnight."""
    return time.strftime("%Y-%m-%d", time.localtime(at))


@dataclass(frozen=True)
class Spend:
    """USD spent today and this month, overall and per task."""

    day: str
    today: dict[str, float]
    month: dict[str, float]

    @property
    def today_total(self) -> float:
        return sum(self.today.values())

    @property
    def month_total(self) -> float:
        return sum(self.month.values())

    def with_team(self, team: Spend, mine_then: Spend) -> Spend:
        """The team's spend as last read, plus what this machine spent since (`mine_then` is
        this machine's spend at that read); never less than this machine's own."""
        return Spend(
            self.day,
            _since(self.today, team.today, mine_then.today),
            _since(self.month, team.month, mine_then.month),
        )


def _since(
    mine: Mapping[str, float], team: Mapping[str, float], then: Mapping[str, float]
) -> dict[str, float]:
    return {
        key: max(mine.get(key, 0.0), team.get(key, 0.0) + mine.get(key, 0.0) - then.get(key, 0.0))
        for key in {*mine, *team}
    }


def default_usage_path() -> Path:
    return Path(platformdirs.user_state_dir("switchboard")) / "usage.sqlite"


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
        *,
        cost: float = 0.0,
        task: str | None = None,
    ) -> float:
        """Count one attempt costing `cost` USD (spent on `task`); returns the cost."""
        now = time.time()
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
                if task is not None:
                    if cost:
                        delta.spend[(day_of(now), task)] += cost
                    if outcome is Outcome.OK and not usage.estimated:
                        delta.outputs.append((task, usage.completion_tokens, now))
        return cost

    def record_edit(self, alias: str, provider: str, quality: EditQuality) -> None:
        """How a checker judged one of the model's edits (kept beside its outcomes)."""
        with self._lock:
            self._delta(alias, provider).outcomes[_EDIT + quality.value] += 1

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
                    db.executemany(
                        """INSERT INTO spend (day, task, cost_usd) VALUES (?, ?, ?)
                           ON CONFLICT (day, task) DO UPDATE SET
                               cost_usd = cost_usd + excluded.cost_usd""",
                        [(day, task, usd) for (day, task), usd in d.spend.items()],
                    )
                    for task in {task for task, _, _ in d.outputs}:
                        db.executemany(
                            "INSERT INTO output_tokens (model, task, tokens, at)"
                            " VALUES (?, ?, ?, ?)",
                            [(alias, t, n, at) for t, n, at in d.outputs if t == task],
                        )
                        db.execute(
                            """DELETE FROM output_tokens WHERE model = ? AND task = ?
                               AND rowid NOT IN (SELECT rowid FROM output_tokens
                                   WHERE model = ? AND task = ? ORDER BY at DESC LIMIT ?)""",
                            (alias, task, alias, task, _OUTPUT_SAMPLES),
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
                    **sorted_kinds(kinds),
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

    def spend(self, now: float | None = None) -> Spend:
        """Today's and this month's spend (saved, from every process, plus this one's unsaved)."""
        day = day_of(time.time() if now is None else now)
        month_prefix = day[:8]
        today: dict[str, float] = defaultdict(float)
        month: dict[str, float] = defaultdict(float)
        with self._lock:
            for delta in self._pending.values():
                for (when, task), usd in delta.spend.items():
                    if when == day:
                        today[task] += usd
                    if when.startswith(month_prefix):
                        month[task] += usd
            rows = []
            if self._db is not None:
                try:
                    rows = self._db.execute(
                        "SELECT day, task, SUM(cost_usd) FROM spend WHERE day >= ? AND day <= ?"
                        " GROUP BY day, task",
                        (month_prefix + "01", day),
                    ).fetchall()
                except sqlite3.Error as exc:
                    log.warning("Could not read the spend so far (%s).", exc)
        for when, task, usd in rows:
            month[task] += usd
            if when == day:
                today[task] += usd
        return Spend(day, dict(today), dict(month))

    def output_samples(self, alias: str, task: str) -> list[int]:
        """Completion tokens of recent answers from `alias` to `task` (saved and unsaved)."""
        with self._lock:
            delta = self._pending.get(alias)
            samples = [n for t, n, _ in delta.outputs if t == task] if delta is not None else []
            if self._db is not None:
                try:
                    rows = self._db.execute(
                        "SELECT tokens FROM output_tokens WHERE model = ? AND task = ?"
                        " ORDER BY at DESC LIMIT ?",
                        (alias, task, _OUTPUT_SAMPLES),
                    ).fetchall()
                except sqlite3.Error:
                    rows = []
                samples.extend(n for (n,) in rows)
        return samples

    def reset(self) -> None:
        with self._lock:
            self._pending.clear()
            self._recent.clear()
            if self._db is not None:
                self._db.executescript(
                    "DELETE FROM model_usage; DELETE FROM model_outcomes; DELETE FROM latency;"
                    " DELETE FROM output_tokens;"  # money spent stays spent: budgets keep it
                    " DELETE FROM suggestions; DELETE FROM suggestion_latency;"
                )

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None
