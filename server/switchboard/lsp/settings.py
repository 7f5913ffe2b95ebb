"""Editor settings (section `switchboard`): one typed object, camelCase mapped once.

They arrive as initializationOptions, from `workspace/configuration` and with
`workspace/didChangeConfiguration`. Knobs that only matter to the editor (hover, review on save)
live here; the parts that change routing go through the workspace trust rule
(config/workspace.py), so editor settings can never add providers, base URLs or keys. Invalid
values produce a message and the defaults, never a crash.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs
import cattrs

from ..config.loader import strict_converter
from ..config.workspace import WORKSPACE_TABLES

# Settings the client uses itself (how to start the server, tracing): not ours to judge.
_CLIENT_ONLY = {"server_path", "python_path", "config_path", "trace", "server_args", "path"}
_FORBIDDEN_HINT = {"providers", "models", "cache", "api_key", "base_url", "api_key_env", "usage"}


@attrs.frozen(kw_only=True)
class HoverSettings:
    enabled: bool = True
    # Answer hovers only from the cache: never spend money on a hover.
    cache_only: bool = False
    # Wait this long before asking a model, so a passing mouse costs nothing.
    delay_ms: int = 250
    # At most this many hovers a minute go to a model; the rest get cached answers only.
    max_per_minute: int = 30


@attrs.frozen(kw_only=True)
class CompletionSettings:
    enabled: bool = True
    # Wait this long after a keystroke before asking a model: typing on cancels the wait.
    debounce_ms: int = 75
    # At most this many completions a minute go to a model; the rest get cached answers only.
    max_per_minute: int = 60
    # Offer the suggestion as a `textDocument/completion` item too. None: only to a client
    # without `textDocument/inlineCompletion` (which would show it twice otherwise).
    items: bool | None = None


@attrs.frozen(kw_only=True)
class ReviewSettings:
    on_save: bool = False


@attrs.frozen(kw_only=True)
class CodeActionSettings:
    # Offer rewrite/docstring/custom actions on a selection.
    selection: bool = True


@attrs.frozen(kw_only=True)
class ChecksSettings:
    # Run the installed checkers on open, save and idle, so that "Fix with AI" is listed for
    # their diagnostics where the editor sends a server only the diagnostics it published.
    background: bool = True
    # Which of them, by name (ruff, basedpyright, pyright, mypy, eslint, tsc, the user's own);
    # empty: every installed one. While the user types only the quick ones (the linters) run;
    # the type checkers wait for an open or a save.
    checkers: tuple[str, ...] = ()
    # Publish what they report as diagnostics too (off: the user's own linter shows them).
    publish: bool = False


@attrs.frozen(kw_only=True)
class EditorSettings:
    hover: HoverSettings = HoverSettings()
    completion: CompletionSettings = CompletionSettings()
    review: ReviewSettings = ReviewSettings()
    code_actions: CodeActionSettings = CodeActionSettings()
    checks: ChecksSettings = ChecksSettings()
    log_level: str = "info"


for _cls in (
    HoverSettings,
    CompletionSettings,
    ReviewSettings,
    CodeActionSettings,
    ChecksSettings,
    EditorSettings,
):
    attrs.resolve_types(_cls)


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _snake_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {snake(str(key)): _snake_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_snake_keys(item) for item in value]
    return value


def parse_settings(raw: Any) -> tuple[EditorSettings, dict[str, Any], list[str]]:
    """Editor settings, the routing overlay to apply under the trust rule, and warnings."""
    if raw is None:
        return EditorSettings(), {}, []
    if not isinstance(raw, Mapping):
        return EditorSettings(), {}, ["switchboard settings must be an object; using defaults"]
    data = _snake_keys(raw)
    # VS Code sends dotted setting names nested already; some clients send them flat.
    data = _unflatten(data)
    warnings: list[str] = []
    overlay = {key: data.pop(key) for key in list(data) if key in WORKSPACE_TABLES}
    for key in list(data):
        if key in _CLIENT_ONLY:
            data.pop(key)
        elif key in _FORBIDDEN_HINT or key not in attrs.fields_dict(EditorSettings):
            overlay[key] = data.pop(key)  # the trust rule reports it by name
    settings = EditorSettings()
    for key, value in data.items():
        field_type = attrs.fields_dict(EditorSettings)[key].type
        assert field_type is not None  # every field is annotated (and resolved above)
        try:
            settings = attrs.evolve(
                settings, **{key: strict_converter.structure(value, field_type)}
            )
        except Exception as exc:
            warnings.append(f"switchboard.{key}: invalid ({_short(exc)}); using the default")
    return settings, overlay, warnings


def _unflatten(data: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in data.items():
        parts = key.split(".")
        target = result
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        if isinstance(value, dict) and isinstance(target.get(parts[-1]), dict):
            target[parts[-1]].update(value)
        else:
            target[parts[-1]] = value
    return result


def _short(exc: Exception) -> str:
    if isinstance(exc, cattrs.ClassValidationError):
        return "; ".join(str(inner) for inner in exc.exceptions)
    return str(exc)
