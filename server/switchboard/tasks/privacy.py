"""What never leaves the machine: excluded files, and secrets inside the code that is sent.

Secrets are swapped for placeholders before a prompt is built (so neither providers nor the
cache ever see them) and swapped back in the answer before an edit is offered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pathspec

DEFAULT_EXCLUDES = (".env*", "*.pem", "*.key", "id_rsa*", "id_ed25519*", "*.p12", "*.pfx")
IGNORE_FILE = ".switchboardignore"

# Each pattern's group "secret" (or the whole match) is what gets replaced.
# Private key blocks are redacted line by line so that line numbers stay true.
_KEY_BLOCK = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?P<body>.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)"
    r"|\A(?P<tail>[A-Za-z0-9+/=\s]{16,}?)-----END [A-Z0-9 ]*PRIVATE KEY-----",
    re.DOTALL,
)
_KEY_LINE = re.compile(r"[^\s]+")

# Each pattern with the literal text that every match contains (lower case for the (?i)
# patterns): a pattern whose literals are all absent from ASCII text cannot match there and is
# not run. Running all twelve over a 40-line hover window took ~0.28 ms; most code holds none
# of the literals.
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (re.compile(pattern), needles)
    for pattern, needles in (
        # AWS access key id
        (r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b", ("AKIA", "ASIA", "ABIA", "ACCA")),
        (r"(?i)aws_?secret_?access_?key\W{0,5}(?P<secret>[A-Za-z0-9/+=]{40})\b", ("aws",)),
        # GitHub tokens
        (r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
        (r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b", ("github_pat_",)),
        (r"\bglpat-[A-Za-z0-9_\-]{20,}\b", ("glpat-",)),  # GitLab
        (r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b", ("xox",)),  # Slack
        # OpenAI, Anthropic, OpenRouter
        (r"\bsk-(?:proj-|ant-|or-v1-)?[A-Za-z0-9_\-]{20,}\b", ("sk-",)),
        (r"\bAIza[0-9A-Za-z_\-]{35}\b", ("AIza",)),  # Google API key
        # JWT
        (r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\b", ("eyJ",)),
        (r"\b(?:sk|rk)_live_[A-Za-z0-9]{16,}\b", ("_live_",)),  # Stripe
        # password = "…", api_key: '…', "secret": "…" — the quoted value only.
        (
            r"(?i)\b[\w.-]*(?:password|passwd|pwd|secret|token|api_?key|access_?key)[\w.-]*[\"']?"
            r"\s*[:=]\s*(?P<q>[\"'])(?P<secret>[^\"'\s]{4,})(?P=q)",
            ("pass", "pwd", "secret", "token", "key"),
        ),
    )
)
_KEY_BLOCK_NEEDLE = "PRIVATE KEY-----"


def _may_match(pattern: re.Pattern[str], needles: tuple[str, ...], text: str, lower: str) -> bool:
    haystack = lower if pattern.flags & re.IGNORECASE else text
    return any(needle in haystack for needle in needles)


def _placeholder(n: int) -> str:
    return f"__SWB_SECRET_{n}__"


_PLACEHOLDER = re.compile(r"__SWB_SECRET_(\d+)__")


@dataclass
class Redactor:
    """Replaces secrets with numbered placeholders and can put them back."""

    enabled: bool = True
    _by_secret: dict[str, str] = field(default_factory=dict)
    _by_placeholder: dict[str, str] = field(default_factory=dict)

    def redact(self, text: str) -> str:
        if not self.enabled:
            return text
        # The literal pre-check holds for ASCII only: under IGNORECASE, `re` also matches a few
        # non-ASCII letters (the Kelvin sign for k, the long s for s), so other text runs all.
        ascii_only = text.isascii()
        if not ascii_only or _KEY_BLOCK_NEEDLE in text:
            text = _KEY_BLOCK.sub(self._replace_key_block, text)
        lower = text.lower() if ascii_only else ""
        for pattern, needles in _SECRET_PATTERNS:
            if ascii_only and not _may_match(pattern, needles, text, lower):
                continue
            text, replaced = pattern.subn(self._replace, text)
            if replaced and ascii_only:  # a placeholder holds "SECRET": later patterns see it
                lower = text.lower()
        return text

    def _replace_key_block(self, match: re.Match[str]) -> str:
        group = "body" if match.group("body") is not None else "tail"
        start, end = match.span(group)
        whole_start, whole = match.start(0), match.group(0)
        body = _KEY_LINE.sub(lambda m: self._placeholder_for(m.group(0)), match.group(group))
        return whole[: start - whole_start] + body + whole[end - whole_start :]

    def _placeholder_for(self, secret: str) -> str:
        if _PLACEHOLDER.fullmatch(secret):
            return secret
        placeholder = self._by_secret.get(secret)
        if placeholder is None:
            placeholder = _placeholder(len(self._by_secret) + 1)
            self._by_secret[secret] = placeholder
            self._by_placeholder[placeholder] = secret
        return placeholder

    def _replace(self, match: re.Match[str]) -> str:
        group = "secret" if "secret" in match.re.groupindex else 0
        placeholder = self._placeholder_for(match.group(group))
        if group == 0:
            return placeholder
        start, end = match.span(group)
        whole_start = match.start(0)
        whole = match.group(0)
        return whole[: start - whole_start] + placeholder + whole[end - whole_start :]

    def restore(self, text: str) -> str:
        if not self._by_placeholder:
            return text
        return _PLACEHOLDER.sub(lambda m: self._by_placeholder.get(m.group(0), m.group(0)), text)

    @property
    def count(self) -> int:
        return len(self._by_secret)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret replaced so far (never to be sent, in any form)."""
        return tuple(self._by_secret)


class ExcludedFile(Exception):
    """The file is excluded from AI features: nothing about it is sent anywhere."""

    def __init__(self, path: str, rule: str) -> None:
        super().__init__(f"{path} is excluded from AI features ({rule}).")
        self.path = path
        self.rule = rule


def exclusion_rule(
    path: str | Path, extra: Iterable[str] = (), root: Path | None = None
) -> str | None:
    """Why `path` is excluded (the matching rule), or None when it may be sent."""
    path = Path(path)
    defaults = _default_spec(tuple(extra))
    if defaults.match_file(path.name) or (root and _matches_relative(defaults, path, root)):
        return "a built-in or configured exclusion"
    for directory in _search_dirs(path.parent, root):
        spec = _ignore_spec(directory / IGNORE_FILE)
        if spec is not None and _matches_relative(spec, path, directory):
            return str(directory / IGNORE_FILE)
    return None


@lru_cache(maxsize=16)
def _default_spec(extra: tuple[str, ...]) -> pathspec.PathSpec:
    return pathspec.GitIgnoreSpec.from_lines([*DEFAULT_EXCLUDES, *extra])


def _matches_relative(spec: pathspec.PathSpec, path: Path, base: Path) -> bool:
    try:
        relative = path.resolve().relative_to(base.resolve())
    except (ValueError, OSError):
        return False
    return spec.match_file(relative.as_posix())


def _search_dirs(start: Path, root: Path | None) -> Iterable[Path]:
    """From the file's folder up to the workspace root (or the filesystem root)."""
    try:
        current = start.resolve()
    except OSError:
        return
    stop = root.resolve() if root else None
    while True:
        yield current
        if current == stop or current.parent == current:
            return
        current = current.parent


def _ignore_spec(path: Path) -> pathspec.PathSpec | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return _parse_ignore(str(path), stat.st_mtime_ns)


@lru_cache(maxsize=64)
def _parse_ignore(path: str, _mtime_ns: int) -> pathspec.PathSpec | None:
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)
