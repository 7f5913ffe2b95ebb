"""What a workspace may change: the trust rule (docs/DESIGN.md, Security), in one place.

A cloned repository (its `.switchboard.toml`) or an editor's workspace settings may pick among
the user's models, reorder routes, tune harmless knobs, lower budgets and add exclusions and
actions. It may not add a provider, change a base URL, set a key, move the cache, turn redaction
off or raise a budget: those come from the user's own config only, so a repository cannot
redirect the user's key or code, or run up the user's bill.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from .loader import ConfigError, describe_errors, strict_converter, task_problems
from .schema import ActionConfig, BudgetConfig, BudgetLimits, Config, TaskConfig

PROJECT_FILE = ".switchboard.toml"
# What a workspace may set: whole tables, or one key of a table (a list it can only add to).
# Editors mirror these names (the VS Code extension contributes each as a setting).
WORKSPACE_SETTINGS = ("routes", "tasks", "actions", "privacy.exclude", "budget")
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
        merged, problems = _merge_task(f"tasks.{task}", current, knobs)
        if merged is None:
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
    budget, complaints = lower_budget(config.budget, overlay.get("budget"))
    if complaints:
        warnings.append(
            f"{origin}: ignored {'; '.join(complaints)}: a workspace may lower a budget, "
            "never raise it"
        )
    if refused:
        warnings.append(
            f"{origin}: ignored {', '.join(sorted(refused))}: providers, models, keys, base URLs, "
            "the cache, redaction and checkers can only be set in your user config"
        )
    updated = attrs.evolve(
        config, routes=routes, tasks=tasks, actions=actions, privacy=privacy, budget=budget
    )
    return updated, warnings


def _merge_task(
    prefix: str, current: TaskConfig, knobs: Mapping[str, Any]
) -> tuple[TaskConfig | None, list[str]]:
    """`knobs` over `current`; or None, and what is wrong with them."""
    try:
        # The schema's validators refuse a knob out of its range, as for the user's config.
        merged = strict_converter.structure(
            {**strict_converter.unstructure(current), **knobs}, TaskConfig
        )
    except Exception as exc:
        return None, [_prefix(prefix, describe_errors(exc))]
    problems = list(task_problems(prefix, merged))
    return (None if problems else merged), problems


_LIMIT_KEYS = ("daily_usd", "monthly_usd")


def lower_budget(user: BudgetConfig, raw: Any) -> tuple[BudgetConfig, list[str]]:
    """The user's budget with a workspace's lower limits applied, and what was refused (a
    raise, an unknown key, a value that is not a number). A workspace cannot loosen spending:
    a cloned repository must not be able to run up the user's bill."""
    if raw is None:
        return user, []
    if not isinstance(raw, Mapping):
        return user, ["budget (it must be a table)"]
    complaints: list[str] = []
    overall = {key: getattr(user, key) for key in _LIMIT_KEYS}
    for key, value in raw.items():
        if key in _LIMIT_KEYS:
            overall[key] = _lower(overall[key], value, f"budget.{key}", complaints)
        elif key == "warn_ratio" and _number(value) and 0 < value <= user.warn_ratio:
            overall[key] = float(value)  # warning earlier is harmless
        elif key != "tasks":
            complaints.append(f"budget.{key}")
    tasks = dict(user.tasks)
    raw_tasks = raw.get("tasks", {})
    for task, limits in (raw_tasks if isinstance(raw_tasks, Mapping) else {}).items():
        current = tasks.get(task, BudgetLimits())
        lowered = {key: getattr(current, key) for key in _LIMIT_KEYS}
        for key, value in (limits if isinstance(limits, Mapping) else {}).items():
            where = f"budget.tasks.{task}.{key}"
            if key in _LIMIT_KEYS:
                lowered[key] = _lower(lowered[key], value, where, complaints)
            else:
                complaints.append(where)
        tasks[task] = BudgetLimits(**lowered)
    return attrs.evolve(user, tasks=tasks, **overall), complaints


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _lower(user: float | None, value: Any, where: str, complaints: list[str]) -> float | None:
    if not _number(value) or value < 0:
        complaints.append(f"{where} (not a non-negative number)")
        return user
    if user is not None and value > user:
        complaints.append(f"{where} = {value:g} (above your {user:g})")
        return user
    return float(value)


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
