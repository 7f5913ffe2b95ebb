"""Logging that never shows a key: every record is scrubbed of the configured key values."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

_HANDLER_NAME = "switchboard"


class ScrubSecrets(logging.Filter):
    """Replaces each known secret in a formatted record with `[redacted]`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        scrubbed = self.scrub(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


def setup_logging(
    level: int, secrets: Iterable[str] = (), handler: logging.Handler | None = None
) -> logging.Handler:
    """Send Switchboard's logs (and warnings from libraries) to stderr, or to `handler`."""
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == _HANDLER_NAME:
            root.removeHandler(existing)
    handler = handler or logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ScrubSecrets(secrets))
    root.addHandler(handler)
    root.setLevel(min(level, logging.WARNING))
    logging.getLogger("switchboard").setLevel(level)
    # Library chatter (per-request lines from httpx, per-message lines from pygls) stays quiet
    # unless asked for with full debug output.
    quiet = logging.DEBUG if level <= logging.DEBUG - 5 else logging.WARNING
    for name in ("httpx", "httpcore", "asyncio"):
        logging.getLogger(name).setLevel(quiet)
    # pygls warns about routine races (a cancel arriving after the reply went out).
    logging.getLogger("pygls").setLevel(quiet if quiet == logging.DEBUG else logging.ERROR)
    return handler
