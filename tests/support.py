"""Shared test helpers: configs that point Switchboard at loopback fake providers."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from switchboard.config import Config, config_from_mapping

REPO = Path(__file__).resolve().parent.parent
# What `stats --json`, `stats --team --json` and `switchboard.stats` answer; editors read it.
STATS_SCHEMA = REPO / "server" / "switchboard" / "schemas" / "stats.schema.json"

# The file most tests work on, the answer that fixes its bug, and the fixed file.
CODE = "def add(a, b):\n    return a - b\n\n\nprint(add(1, 2))\n"
FIXED = "```python\ndef add(a, b):\n    return a + b\n```"
FIXED_CODE = CODE.replace("a - b", "a + b")


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


@functools.cache
def _stats_validator() -> Draft202012Validator:
    schema = json.loads(STATS_SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def assert_stats_report(data: Any) -> None:
    """`data` follows the stats report's JSON Schema (as editors rely on)."""
    errors = [
        f"{'.'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in _stats_validator().iter_errors(data)
    ]
    assert not errors, "\n".join(errors)


def switchboard(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    never_shows: Iterable[str] = (),
) -> subprocess.CompletedProcess[str]:
    """`switchboard ARGS` in a subprocess, in `cwd`, with `env` over this environment. Fails
    on a traceback, or when its output shows any of `never_shows` (keys, passwords)."""
    result = subprocess.run(
        [sys.executable, "-m", "switchboard", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=60,
    )
    assert "Traceback" not in result.stderr, result.stderr
    shown = result.stdout + result.stderr
    assert [secret for secret in never_shows if secret in shown] == []
    return result
