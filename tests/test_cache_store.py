"""The SQLite cache store under contention and on unusable paths: a lock held by another
process (an editor's server and a CLI share the file) is a passing miss, never a reason to
throw the cache away; a path that is not a file is left alone."""

from __future__ import annotations

import logging
import sqlite3
import time

import pytest

from switchboard.gateway.cache import CacheEntry, SqliteStore


def entry(key: str, text: str = "answer") -> CacheEntry:
    return CacheEntry(key, text, "fast", "p", time.time())


@pytest.fixture
def store(tmp_path):
    store = SqliteStore(tmp_path / "cache.sqlite", max_entries=100, max_bytes=1 << 20)
    yield store
    store.close()


@pytest.fixture
def other_process_writing(tmp_path):
    """Another connection to the same file holding its write lock (as a second process would)."""
    held: list[sqlite3.Connection] = []

    def hold() -> sqlite3.Connection:
        conn = sqlite3.connect(tmp_path / "cache.sqlite", isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        held.append(conn)
        return conn

    yield hold
    for conn in held:
        conn.rollback()
        conn.close()


def test_a_locked_file_is_read_as_usual_and_never_set_aside(
    store, tmp_path, other_process_writing, caplog
):
    store.put(entry("k1"))
    other_process_writing()
    with caplog.at_level(logging.INFO):
        assert store.get("k1").text == "answer"  # WAL readers do not wait for writers
        store.put(entry("k2"))  # skipped: the other writer holds the lock
    assert not list(tmp_path.glob("cache.sqlite.corrupt-*"))
    assert "starting a new one" not in caplog.text
    assert store.get("k1").text == "answer"


def test_writes_resume_once_the_other_process_lets_go(store, other_process_writing):
    store.put(entry("k1"))
    assert store.get("k1") is not None  # touched: its use time is saved with the next write
    conn = other_process_writing()
    store.put(entry("k2"))
    conn.rollback()
    store.put(entry("k3"))
    assert store.get("k1") is not None and store.get("k3") is not None


def test_recently_read_entries_survive_eviction(tmp_path):
    store = SqliteStore(tmp_path / "cache.sqlite", max_entries=10, max_bytes=1 << 20)
    try:
        for n in range(10):
            store.put(entry(f"k{n}"))
            time.sleep(0.002)
        assert store.get("k0") is not None  # the oldest write, but just used
        for n in range(10, 14):
            store.put(entry(f"k{n}"))
        assert store.get("k0") is not None
        assert store.get("k1") is None
    finally:
        store.close()


def test_bounds_hold_after_every_write(tmp_path):
    store = SqliteStore(tmp_path / "cache.sqlite", max_entries=10, max_bytes=4096)
    try:
        for n in range(60):
            store.put(entry(f"k{n}", "x" * (n % 7) * 100))
            stats = store.stats()
            assert stats["entries"] <= 10 and stats["bytes"] <= 4096, (n, stats)
    finally:
        store.close()


def test_a_new_file_can_give_space_back(store, tmp_path):
    conn = sqlite3.connect(tmp_path / "cache.sqlite")
    try:
        assert conn.execute("PRAGMA auto_vacuum").fetchone() == (2,)  # incremental
    finally:
        conn.close()


def test_a_directory_is_not_a_cache_file_and_is_left_alone(tmp_path):
    folder = tmp_path / "mydir"
    folder.mkdir()
    (folder / "important.txt").write_text("keep me")
    with pytest.raises(sqlite3.Error):
        SqliteStore(folder, max_entries=10, max_bytes=4096)
    assert (folder / "important.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mydir"]


def test_a_corrupt_file_found_later_is_rebuilt(store, tmp_path, caplog):
    store.put(entry("k1"))
    store.close()
    (tmp_path / "cache.sqlite").write_bytes(b"garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"cache.sqlite{suffix}").unlink(missing_ok=True)
    with caplog.at_level(logging.WARNING):
        reopened = SqliteStore(tmp_path / "cache.sqlite", max_entries=10, max_bytes=4096)
    try:
        assert "unreadable" in caplog.text
        assert reopened.get("k1") is None
        reopened.put(entry("k2"))
        assert reopened.get("k2") is not None
    finally:
        reopened.close()
