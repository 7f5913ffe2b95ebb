"""Opening the SQLite files Switchboard keeps (cache, usage) so that a broken file never
crashes anything: a corrupt file is moved aside with a warning and rebuilt empty.

Only corruption justifies moving a file. A lock held by another process (a language server
and a CLI run share the files), a full disk or a path that cannot be opened are passing or
local problems: the caller treats them as a miss or works without the file, and the user's
data stays where it is.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

log = logging.getLogger(__name__)

# How long a statement waits for another process's write lock. Stores are used from the event
# loop, and WAL transactions here last milliseconds: waiting longer would freeze the editor.
BUSY_TIMEOUT_S = 0.5

_CORRUPTION = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}


class CorruptFile(sqlite3.DatabaseError):
    """The file opens but fails SQLite's integrity check."""


def is_corrupt(exc: BaseException) -> bool:
    """Whether `exc` says the file itself is damaged (not locked, full or unopenable)."""
    if isinstance(exc, CorruptFile):
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in _CORRUPTION


def connect(path: Path | str, schema: str, what: str) -> sqlite3.Connection:
    """A connection in WAL mode with `schema` applied, rebuilding the file if it is corrupt.

    Raises `sqlite3.Error` or `OSError` when the file cannot be used for another reason."""
    if str(path) != ":memory:" and Path(path).exists() and not Path(path).is_file():
        raise sqlite3.OperationalError(f"{path} is not a file")
    try:
        return _open(path, schema)
    except sqlite3.DatabaseError as exc:
        if str(path) == ":memory:" or not is_corrupt(exc):
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
        if source.is_file():
            try:
                source.replace(target.with_name(target.name + suffix))
                moved = target
            except OSError:
                source.unlink(missing_ok=True)
    return moved


def _open(path: Path | str, schema: str) -> sqlite3.Connection:
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
    )
    try:
        # auto_vacuum takes effect only if set before the first table (and before WAL).
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(schema)
        # A file whose header is fine can still hide broken pages: check before trusting it.
        row = conn.execute("PRAGMA quick_check(1)").fetchone()
        if row is None or row[0] != "ok":
            raise CorruptFile(f"integrity check failed: {row[0] if row else 'no result'}")
    except sqlite3.DatabaseError:
        conn.close()
        raise
    return conn
