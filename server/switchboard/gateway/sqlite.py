"""Opening the SQLite files Switchboard keeps (cache, usage) so that a broken file never
crashes anything: it is moved aside with a warning and rebuilt empty."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

log = logging.getLogger(__name__)


def connect(path: Path | str, schema: str, what: str) -> sqlite3.Connection:
    """A connection in WAL mode with `schema` applied, rebuilding the file if it is corrupt."""
    try:
        return _open(path, schema)
    except sqlite3.DatabaseError as exc:
        if str(path) == ":memory:":
            raise
        moved = set_aside(Path(path))
        log.warning(
            "The %s file %s was unreadable (%s); moved it to %s and started a new one.",
            what,
            path,
            exc,
            moved.name if moved else "nowhere",
        )
        return _open(path, schema)


def set_aside(path: Path) -> Path | None:
    """Move a broken database (and its WAL files) out of the way; returns the new name."""
    target = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
    moved = None
    for suffix in ("", "-wal", "-shm"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            try:
                source.replace(target.with_name(target.name + suffix))
                moved = target
            except OSError:
                source.unlink(missing_ok=True)
    return moved


def _open(path: Path | str, schema: str) -> sqlite3.Connection:
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=2.0, check_same_thread=False, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(schema)
        # A file whose header is fine can still hide broken pages: check before trusting it.
        row = conn.execute("PRAGMA quick_check(1)").fetchone()
        if row is None or row[0] != "ok":
            raise sqlite3.DatabaseError(f"integrity check failed: {row[0] if row else 'no result'}")
    except sqlite3.DatabaseError:
        conn.close()
        raise
    return conn
