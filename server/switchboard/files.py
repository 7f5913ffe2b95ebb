"""Files named on the command line, read as the tasks see them (shared by every command)."""

from __future__ import annotations

from pathlib import Path

from .exits import UsageError
from .tasks import Source


def read_source(path: Path) -> Source:
    """A file named on the command line; UsageError says why it cannot be used."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not a file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not valid UTF-8 text (byte {exc.start})") from None
    if "\0" in text:
        raise UsageError(f"{path} looks like a binary file (it contains NUL bytes)")
    return Source(text.removeprefix("\ufeff"), str(path))
