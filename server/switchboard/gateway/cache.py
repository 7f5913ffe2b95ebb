"""The response cache: an in-memory LRU in front of a persistent store.

Keys hash the task, the route and the normalized prompt, not the model, so any model's answer
on a route serves a later identical request. Entries older than the TTL are not served as
fresh, but the newest one is still served, labelled stale, when nothing upstream answers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cachetools import LRUCache

from .sqlite import connect, is_corrupt, set_aside
from .wire import Prompt

log = logging.getLogger(__name__)

_KEY_VERSION = 1
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)


def cache_key(task: str, route: str, models: tuple[tuple[str, str], ...], prompt: Prompt) -> str:
    """A stable hash of what was asked, ignoring whitespace that does not change the question.

    `models` is what the route reaches (`Config.route_models`: endpoint and model id of each
    candidate), never its aliases: one person's `strong` may be another's tiny model, and
    different models must not share an answer, locally or through the team's cache.
    """
    messages = [(m.role, _normalize(m.content)) for m in prompt.messages]
    material = json.dumps(
        [_KEY_VERSION, task, route, [list(m) for m in models], messages, prompt.json_answer],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _normalize(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _TRAILING_SPACE.sub("", text).strip("\n")


@dataclass(frozen=True, slots=True)
class CacheEntry:
    key: str
    text: str
    model: str
    provider: str
    created_at: float  # wall-clock seconds

    @property
    def size(self) -> int:
        return len(self.text.encode("utf-8")) + len(self.model) + len(self.provider) + 96


class CacheStore(Protocol):
    """Where entries persist beyond the process: SQLite here, Redis for teams."""

    def get(self, key: str) -> CacheEntry | None: ...

    def put(self, entry: CacheEntry) -> None: ...

    def clear(self) -> None: ...

    def stats(self) -> dict[str, int]: ...

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    created_at REAL NOT NULL,
    used_at REAL NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_use ON entries (used_at);
PRAGMA journal_size_limit = 4194304;
"""


class SqliteStore:
    """Entries in one SQLite file (WAL), bounded in entries and bytes, least recently used out.

    Reads never write: when an entry was last used is remembered in memory and saved with the
    next write, so a hit costs one indexed SELECT and never waits for another process's lock.
    """

    _CHECK_EVERY = 32
    _MAX_TOUCHED = 4096

    def __init__(self, path: Path | str, *, max_entries: int, max_bytes: int) -> None:
        self.path = path
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._puts_since_check = 0
        # What this process believes the totals are (exact after each check; other processes
        # may add more): a put that crosses a bound evicts at once, not 32 puts later.
        self._entries_seen = 0
        self._bytes_seen = 0
        self._touched: dict[str, float] = {}
        self._db = connect(path, _SCHEMA, "cache")
        self._enforce_bounds()

    def _failed(self, exc: sqlite3.Error, doing: str) -> None:
        """A corrupt file is rebuilt rather than crash; anything else (another process holds
        the lock, the disk is full) costs only this operation."""
        if not is_corrupt(exc):
            log.info("Cache %s skipped: %s.", doing, exc)
            return
        log.warning("The cache file %s failed (%s); starting a new one.", self.path, exc)
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        if str(self.path) != ":memory:":
            set_aside(Path(self.path))
        self._touched.clear()
        self._entries_seen = self._bytes_seen = 0
        self._db = connect(self.path, _SCHEMA, "cache")

    def get(self, key: str) -> CacheEntry | None:
        with self._lock:
            try:
                row = self._db.execute(
                    "SELECT text, model, provider, created_at FROM entries WHERE key = ?", (key,)
                ).fetchone()
            except sqlite3.Error as exc:
                self._failed(exc, "read")
                return None
            if row is None:
                return None
            if len(self._touched) < self._MAX_TOUCHED or key in self._touched:
                self._touched[key] = time.time()
        return CacheEntry(key, row[0], row[1], row[2], row[3])

    def put(self, entry: CacheEntry) -> None:
        if entry.size > self.max_bytes:
            return
        with self._lock:
            touched, self._touched = self._touched, {}
            try:
                self._db.execute("BEGIN")
                self._db.execute(
                    """INSERT OR REPLACE INTO entries
                       (key, text, model, provider, created_at, used_at, size)
                       VALUES (?, ?, ?, ?, ?, ?, ?)""",
                    (
                        entry.key,
                        entry.text,
                        entry.model,
                        entry.provider,
                        entry.created_at,
                        time.time(),
                        entry.size,
                    ),
                )
                self._save_touched({k: at for k, at in touched.items() if k != entry.key})
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                self._touched.update(touched)
                self._failed(exc, "write")
                return
            self._puts_since_check += 1
            self._entries_seen += 1
            self._bytes_seen += entry.size
            if (
                self._puts_since_check >= self._CHECK_EVERY
                or self._entries_seen > self.max_entries
                or self._bytes_seen > self.max_bytes
            ):
                self._enforce_bounds_locked()

    def _enforce_bounds(self) -> None:
        with self._lock:
            self._enforce_bounds_locked()

    def _enforce_bounds_locked(self) -> None:
        """Evict least recently used entries down to 90% of both bounds."""
        self._puts_since_check = 0
        try:
            count, total = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM entries"
            ).fetchone()
            self._entries_seen, self._bytes_seen = count, total
            if count <= self.max_entries and total <= self.max_bytes:
                return
            keep_entries = int(self.max_entries * 0.9)
            keep_bytes = int(self.max_bytes * 0.9)
            drop, dropped_bytes = 0, 0
            for (size,) in self._db.execute("SELECT size FROM entries ORDER BY used_at ASC"):
                if count - drop <= keep_entries and total - dropped_bytes <= keep_bytes:
                    break
                drop += 1
                dropped_bytes += size
            self._db.execute(
                "DELETE FROM entries WHERE key IN "
                "(SELECT key FROM entries ORDER BY used_at ASC LIMIT ?)",
                (drop,),
            )
            self._db.execute("PRAGMA incremental_vacuum")
            self._entries_seen, self._bytes_seen = count - drop, total - dropped_bytes
        except sqlite3.Error as exc:
            self._failed(exc, "eviction")

    def clear(self) -> None:
        with self._lock:
            self._touched.clear()
            self._entries_seen = self._bytes_seen = 0
            try:
                self._db.execute("DELETE FROM entries")
                self._db.execute("PRAGMA incremental_vacuum")
            except sqlite3.Error as exc:
                self._failed(exc, "clearing")

    def stats(self) -> dict[str, int]:
        with self._lock:
            try:
                count, total = self._db.execute(
                    "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM entries"
                ).fetchone()
            except sqlite3.Error:
                return {"entries": 0, "bytes": 0}
        return {"entries": count, "bytes": total}

    def _save_touched(self, touched: dict[str, float]) -> None:
        """When entries were last read (kept in memory by `get`); inside a transaction."""
        self._db.executemany(
            "UPDATE entries SET used_at = ? WHERE key = ?", [(at, k) for k, at in touched.items()]
        )

    def close(self) -> None:
        with self._lock:
            touched, self._touched = self._touched, {}
            if touched:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("BEGIN")
                    self._save_touched(touched)
                    self._db.execute("COMMIT")
            self._db.close()


class ResponseCache:
    """The cache the gateway talks to: memory first, then the persistent store."""

    def __init__(
        self,
        store: CacheStore | None,
        *,
        ttl_s: float,
        memory_max_bytes: int,
        clock=time.time,
    ) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self._clock = clock
        self._memory: LRUCache[str, CacheEntry] = LRUCache(
            maxsize=max(1, memory_max_bytes), getsizeof=lambda entry: entry.size
        )

    def lookup(self, key: str) -> CacheEntry | None:
        """The newest entry for `key`, whatever its age (check `is_fresh`)."""
        entry = self._memory.get(key)
        if entry is None and self.store is not None:
            entry = self.store.get(key)
            if entry is not None:
                self._remember(entry)
        return entry

    def is_fresh(self, entry: CacheEntry) -> bool:
        return self._clock() - entry.created_at <= self.ttl_s

    def put(self, key: str, text: str, model: str, provider: str) -> CacheEntry:
        entry = CacheEntry(key, text, model, provider, self._clock())
        self._remember(entry)
        if self.store is not None:
            self.store.put(entry)
        return entry

    def adopt(self, entry: CacheEntry) -> None:
        """Keep an entry made elsewhere (a teammate's answer), with its own age."""
        self._remember(entry)
        if self.store is not None:
            self.store.put(entry)

    def _remember(self, entry: CacheEntry) -> None:
        # An entry larger than the whole memory budget stays on disk only.
        with contextlib.suppress(ValueError):
            self._memory[entry.key] = entry

    def clear(self) -> None:
        self._memory.clear()
        if self.store is not None:
            self.store.clear()

    def stats(self) -> dict[str, int]:
        persistent = self.store.stats() if self.store is not None else {"entries": 0, "bytes": 0}
        return {
            "memory_entries": len(self._memory),
            "memory_bytes": int(self._memory.currsize),
            **persistent,
        }

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
