"""How a `switchboard` command ends: its exit code, and the one sentence that says why.

Exit codes: 0 answered (also from a stale cache), 2 configuration error, 3 nothing could answer
and nothing was cached, 4 a fix was answered but not verified (`fix --verified-only`), 1
anything else. Errors are one sentence on stderr, never a traceback.
"""

from __future__ import annotations

import sys

EXIT_OK, EXIT_ERROR, EXIT_CONFIG, EXIT_NO_ANSWER, EXIT_NOT_VERIFIED = 0, 1, 2, 3, 4


class UsageError(Exception):
    """The command line or its inputs cannot be used; the message says why."""


def fail(code: int, message: str) -> int:
    """Say what went wrong in one sentence on stderr; returns the exit code."""
    print(f"switchboard: {message}", file=sys.stderr)
    return code
