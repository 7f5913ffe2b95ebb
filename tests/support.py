"""Shared test helpers: configs that point Switchboard at loopback fake providers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from switchboard.config import Config, config_from_mapping

FIX_ANSWER = "```python\n{code}\n```"


def config_dict(
    tmp_path: Path,
    providers: dict[str, str],
    models: dict[str, dict[str, Any]],
    routes: dict[str, list[str]],
    **sections: Any,
) -> dict[str, Any]:
    """A config as TOML would give it: providers name -> base_url, models alias -> settings.

    Each model's id defaults to its alias, so fake scripts can be keyed by alias.
    """
    raw: dict[str, Any] = {
        "providers": {
            name: {
                "base_url": url,
                **({"api_key_env": f"KEY_{name.upper()}"} if "keyed" in name else {}),
            }
            for name, url in providers.items()
        },
        "models": {alias: {"model": alias, **settings} for alias, settings in models.items()},
        "routes": routes,
        "cache": {"path": str(tmp_path / "cache.sqlite")},
        "usage": {"path": str(tmp_path / "usage.sqlite")},
        # No price lookups unless a test asks: they would add requests the test did not script.
        "prices": {"path": str(tmp_path / "prices.json"), "listing": False, "table": False},
    }
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values}
    return raw


def make_config(
    tmp_path: Path, *args: Any, environ: dict[str, str] | None = None, **kwargs: Any
) -> Config:
    return config_from_mapping(
        config_dict(tmp_path, *args, **kwargs), environ=environ or {}, source="test"
    )


def toml(raw: dict[str, Any]) -> str:
    """A minimal TOML writer for test configs (tables of scalars, arrays and nested tables)."""
    lines: list[str] = []

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list | tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        raise TypeError(type(v))

    def table(prefix: str, data: dict[str, Any]) -> None:
        scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
        nested = {k: v for k, v in data.items() if isinstance(v, dict)}
        if prefix and (scalars or not nested):
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f'"{k}" = {value(v)}' if "." in k or "-" in k else f"{k} = {value(v)}")
        for k, v in nested.items():
            key = f'"{k}"' if "." in k or ":" in k else k
            table(f"{prefix}.{key}" if prefix else key, v)

    table("", raw)
    return "\n".join(lines) + "\n"
