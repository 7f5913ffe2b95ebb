"""What a workspace may change: the trust rule (docs/DESIGN.md, Security), in one place.

A cloned repository (its `.switchboard.toml`) or an editor's workspace settings may pick among
the user's models, reorder routes, tune harmless knobs and add exclusions and actions. It may not
add a provider, change a base URL, set a key, move the cache, or turn redaction off: those come
from the user's own config only, so a repository cannot redirect the user's key or code.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from .loader import ConfigError, describe_errors, strict_converter, task_problems
from .schema import ActionConfig, Config, TaskConfig

PROJECT_FILE = ".switchboard.toml"
# What a workspace may set: whole tables, or one key of a table (a list it can only add to).
# Editors mirror these names (the VS Code extension contributes each as a setting).
WORKSPACE_SETTINGS = ("routes", "tasks", "actions", "privacy.exclude")
# The top-level tables those live in.
WORKSPACE_TABLES = tuple(dict.fromkeys(name.split(".")[0] for name in WORKSPACE_SETTINGS))


def apply_overlay(
    config: Config, overlay: Mapping[str, Any], origin: str
) -> tuple[Config, list[str]]:
    """`config` with the allowed parts of `overlay` applied, and warnings about the rest."""
    warnings: list[str] = []
    refused = [key for key in overlay if key not in WORKSPACE_TABLES]
    routes = dict(config.routes)
    for task, chain in _mapping(overlay.get("routes"), "routes", warnings).items():
        if not isinstance(chain, list) or not all(isinstance(a, str) for a in chain) or not chain:
            warnings.append(f"{origin}: routes.{task} must be a non-empty list of model names")
            continue
        unknown = [alias for alias in chain if alias not in config.models]
        if unknown:
            warnings.append(
                f"{origin}: routes.{task} names models your config does not define "
                f"({', '.join(unknown)}); the route is unchanged"
            )
            continue
        routes[task] = tuple(chain)
    tasks = config.tasks
    for task, knobs in _mapping(overlay.get("tasks"), "tasks", warnings).items():
        current = getattr(tasks, task, None)
        if not isinstance(current, TaskConfig) or not isinstance(knobs, Mapping):
            warnings.append(f"{origin}: tasks.{task} is not a task with settings")
            continue
        try:
            merged = strict_converter.structure(
                {**strict_converter.unstructure(current), **knobs}, TaskConfig
            )
        except Exception as exc:
            warnings.append(f"{origin}: {_prefix(f'tasks.{task}', describe_errors(exc))}")
            continue
        problems = list(task_problems(f"tasks.{task}", merged))
        if problems:
            warnings.append(f"{origin}: {'; '.join(problems)}; tasks.{task} is unchanged")
            continue
        if task == "complete":
            merged, raised = _within_caps(merged, current)
            if raised:
                warnings.append(
                    f"{origin}: tasks.complete may lower, not raise, {', '.join(raised)}; "
                    "kept at your config's value"
                )
        tasks = attrs.evolve(tasks, **{task: merged})
    actions = dict(config.actions)
    for name, raw in _mapping(overlay.get("actions"), "actions", warnings).items():
        try:
            action = strict_converter.structure(raw, ActionConfig)
        except Exception as exc:
            warnings.append(f"{origin}: {_prefix(f'actions.{name}', describe_errors(exc))}")
            continue
        if action.route not in routes:
            warnings.append(f"{origin}: actions.{name}.route: unknown route {action.route!r}")
            continue
        actions[name] = action
    privacy = config.privacy
    raw_privacy = _mapping(overlay.get("privacy"), "privacy", warnings)
    for key, value in raw_privacy.items():
        if key == "exclude" and isinstance(value, list) and all(isinstance(v, str) for v in value):
            privacy = attrs.evolve(privacy, exclude=(*privacy.exclude, *value))
        else:
            refused.append(f"privacy.{key}")
    if refused:
        warnings.append(
            f"{origin}: ignored {', '.join(sorted(refused))}: providers, models, keys, base URLs, "
            "the cache and redaction can only be set in your user config"
        )
    updated = attrs.evolve(config, routes=routes, tasks=tasks, actions=actions, privacy=privacy)
    return updated, warnings


def _mapping(value: Any, key: str, warnings: list[str]) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        warnings.append(f"{key} must be a table")
        return {}
    return value


# Completion runs on every keystroke: what it spends is the user's to set. A workspace may turn
# these down (cheaper, faster), never up past the user's own config.
_COMPLETION_CAPS = ("deadline_s", "context_lines", "context_lines_after", "max_output_tokens")


def _within_caps(knobs: TaskConfig, caps: TaskConfig) -> tuple[TaskConfig, list[str]]:
    """`knobs` with each capped value at most the user's; the names that were raised."""
    raised: list[str] = []
    changes: dict[str, Any] = {}
    for name in _COMPLETION_CAPS:
        value, cap = getattr(knobs, name), getattr(caps, name)
        if cap is not None and (value is None or value > cap):
            raised.append(name)
            changes[name] = cap
    return (attrs.evolve(knobs, **changes) if changes else knobs), raised


def _prefix(path: str, description: str) -> str:
    return "; ".join(f"{path}.{part}" for part in description.split("; "))


def load_project_overlay(root: Path) -> tuple[dict[str, Any], str | None]:
    """The project's `.switchboard.toml` as a mapping, or an error message."""
    path = root / PROJECT_FILE
    if not path.is_file():
        return {}, None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return {}, f"{path}: ignored, it cannot be read ({exc})"


__all__ = [
    "PROJECT_FILE",
    "WORKSPACE_SETTINGS",
    "WORKSPACE_TABLES",
    "ConfigError",
    "apply_overlay",
    "load_project_overlay",
]
