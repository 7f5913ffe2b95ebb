"""Find, parse and validate the configuration file into one typed `Config`."""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs
import cattrs
import platformdirs
from cattrs.errors import CattrsError, ForbiddenExtraKeysError
from cattrs.gen import make_dict_structure_fn, override
from cattrs.v import transform_error

from .defaults import builtin_providers_models_routes
from .schema import BUILTIN_TASKS, BudgetConfig, Config, TaskConfig, TasksConfig
from .validators import OutOfRange

CONFIG_ENV = "SWITCHBOARD_CONFIG"
APP_NAME = "switchboard"


class ConfigError(Exception):
    """The configuration cannot be used. The message names the file and the key."""


def user_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def find_config_path(
    explicit: str | os.PathLike[str] | None, environ: Mapping[str, str]
) -> Path | None:
    """`--config`, then `$SWITCHBOARD_CONFIG`, then the user config file if it exists."""
    if explicit:
        return Path(explicit).expanduser()
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV]).expanduser()
    path = user_config_path()
    return path if path.is_file() else None


def load_config(
    explicit: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Load the config the user asked for (or the built-in defaults) and validate it."""
    environ = os.environ if environ is None else environ
    path = find_config_path(explicit, environ)
    if path is None:
        return config_from_mapping({}, environ=environ, source="built-in defaults")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return config_from_mapping(raw, environ=environ, source=str(path))


def config_from_mapping(
    raw: Mapping[str, Any], *, environ: Mapping[str, str], source: str
) -> Config:
    """Layer a parsed TOML document over the built-in defaults and validate the result.

    A provider, model or route defined in the file replaces the built-in one of the same name;
    every other section is merged key by key over the defaults.
    """
    providers, models, routes = builtin_providers_models_routes(environ)
    merged: dict[str, Any] = dict(raw)
    merged["providers"] = {**_unstructure(providers), **_table(raw, "providers", source)}
    merged["models"] = {**_unstructure(models), **_table(raw, "models", source)}
    merged["routes"] = {**{k: list(v) for k, v in routes.items()}, **_table(raw, "routes", source)}
    if "strategies" in raw:
        # `fix = "latency"` is short for `[strategies.fix] order = "latency"`.
        merged["strategies"] = {
            route: {"order": value} if isinstance(value, str) else value
            for route, value in _table(raw, "strategies", source).items()
        }
    if "tasks" in raw:
        merged["tasks"] = _tasks_over_defaults(_table(raw, "tasks", source))
    try:
        config = strict_converter.structure(merged, Config)
    except Exception as exc:  # cattrs raises exception groups naming each bad field
        raise ConfigError(f"{source}: {describe_errors(exc)}") from None
    config = attrs.evolve(
        config,
        source=source,
        cache=attrs.evolve(
            config.cache, path=_home(config.cache.path), ca_file=_home(config.cache.ca_file)
        ),
        usage=attrs.evolve(config.usage, path=_home(config.usage.path)),
        prices=attrs.evolve(config.prices, path=_home(config.prices.path)),
    )
    problems = [*_semantic_problems(config), *_team_problems(config, environ)]
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))
    return config


def _tasks_over_defaults(tasks: Mapping[str, Any]) -> dict[str, Any]:
    """Each `[tasks.X]` table over that task's own defaults (not the generic TaskConfig's):
    `[tasks.complete] hedge = false` must keep completion's short deadline."""
    defaults = TasksConfig()
    out: dict[str, Any] = {}
    for name, table in tasks.items():
        default = getattr(defaults, name, None)
        if isinstance(table, dict) and isinstance(default, TaskConfig):
            table = {**strict_converter.unstructure(default), **table}
        out[name] = table
    return out


def _home(path: str | None) -> str | None:
    """A path from the config with `~` meaning the user's home, as in a shell."""
    return os.path.expanduser(path) if path else path


def _table(raw: Mapping[str, Any], key: str, source: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: {key}: expected a table")
    return value


def _unstructure(items: Mapping[str, Any]) -> dict[str, Any]:
    return {name: strict_converter.unstructure(item) for name, item in items.items()}


# -- structuring with strict scalar types ---------------------------------------------------

# Shared with the editor settings: TOML and JSON values are already typed, so nothing coerces.
strict_converter = cattrs.Converter(forbid_extra_keys=True)


def _strict(kind: type, accepts: tuple[type, ...], label: str) -> None:
    def structure(value: Any, _: type) -> Any:
        if isinstance(value, bool) and bool not in accepts:
            raise TypeError(f"expected {label}, got a boolean")
        if not isinstance(value, accepts):
            raise TypeError(f"expected {label}, got {_kind_of(value)}")
        return kind(value)

    strict_converter.register_structure_hook(kind, structure)


def _kind_of(value: Any) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


_strict(int, (int,), "an integer")
_strict(float, (int, float), "a number")
_strict(str, (str,), "a string")
_strict(bool, (bool,), "a boolean")


def _structure_str_tuple(value: Any, _: type) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise TypeError(f"expected an array of strings, got {_kind_of(value)}")
    bad = [item for item in value if not isinstance(item, str)]
    if bad:
        raise TypeError("expected an array of strings")
    return tuple(value)


strict_converter.register_structure_hook_func(lambda t: t == tuple[str, ...], _structure_str_tuple)


def _has_field_rules(cls: Any) -> bool:
    return attrs.has(cls) and any(field.validator for field in attrs.fields(cls))


def _structure_checking_fields(cls: type) -> Callable[[Any, type], Any]:
    """cattrs' own structuring of `cls`, with each field's validator run as that field is
    structured. A value out of range is then reported at its key, like a wrong type, and every
    bad field of a table is reported, not only the first (as attrs' `__init__` would)."""
    attrs.resolve_types(cls)
    checked: dict[str, Any] = {
        field.name: override(struct_hook=_checked(field, field.validator))
        for field in attrs.fields(cls)
        if field.validator is not None
    }
    return make_dict_structure_fn(cls, strict_converter, **checked)


def _checked(
    field: attrs.Attribute[Any], validator: Callable[[Any, Any, Any], Any]
) -> Callable[[Any, type], Any]:
    def structure(value: Any, kind: type) -> Any:
        result: Any = strict_converter.structure(value, kind)
        validator(None, field, result)
        return result

    return structure


strict_converter.register_structure_hook_factory(_has_field_rules, _structure_checking_fields)


def _format_exception(exc: BaseException, _type: Any) -> str:
    if isinstance(exc, OutOfRange):
        return exc.problem
    if isinstance(exc, ForbiddenExtraKeysError):
        return "\0" + ",".join(sorted(exc.extra_fields))
    if isinstance(exc, KeyError):
        return "required key missing"
    if isinstance(exc, TypeError | ValueError | CattrsError):
        text = str(exc)
        if text.startswith("expected"):
            return text
        literal = re.match(r"(.*) not in literal typing\.Literal\[(.*)\]$", text)
        if literal:
            return f"must be one of {literal.group(2)}, got {literal.group(1)!r}"
        return f"invalid value ({text})"
    return f"invalid value ({exc})"


def describe_errors(exc: Exception) -> str:
    messages: list[str] = []
    for line in transform_error(exc, path="$", format_exception=_format_exception):
        message, _, path = line.rpartition(" @ ")
        key = _dotted(path)
        if message.startswith("\0"):
            messages.extend(f"{_join(key, name)}: unknown key" for name in message[1:].split(","))
        else:
            messages.append(f"{key}: {message}")
    return "; ".join(messages)


def _dotted(path: str) -> str:
    path = re.sub(r"\[(['\"])(.*?)\1\]", r".\2", path)
    path = re.sub(r"\[(\d+)\]", r"[\1]", path)
    return path.removeprefix("$").lstrip(".")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# -- rules that span keys (a field's own range is declared on the schema) --------------------


def _semantic_problems(config: Config):
    for name, provider in config.providers.items():
        problem = base_url_problem(provider.base_url, provider.allow_insecure_http)
        if problem:
            yield f"providers.{name}.base_url: {problem}"
    for alias, model in config.models.items():
        if model.provider not in config.providers:
            yield (
                f"models.{alias}.provider: unknown provider {model.provider!r} "
                f"(defined: {', '.join(sorted(config.providers)) or 'none'})"
            )
    for task, chain in config.routes.items():
        if not chain and task in BUILTIN_TASKS:
            yield f"routes.{task}: an empty route can never answer"
        for alias in chain:
            if alias not in config.models:
                yield f"routes.{task}: unknown model {alias!r}"
    for route in config.strategies:
        if route not in config.routes:
            yield f"strategies.{route}: unknown route {route!r}"
    for name, action in config.actions.items():
        if action.route not in config.routes:
            yield f"actions.{name}.route: unknown route {action.route!r}"
    for task in BUILTIN_TASKS:
        yield from task_problems(f"tasks.{task}", config.task(task))
    yield from budget_problems("budget", config.budget)
    breaker = config.breaker
    if breaker.max_cooldown_s < breaker.cooldown_s:
        yield "breaker.max_cooldown_s: must not be less than breaker.cooldown_s"


def task_problems(prefix: str, knobs: TaskConfig):
    """What is wrong across one task's knobs (from the user's config or a workspace's)."""
    if knobs.hedge_max_ms < knobs.hedge_min_ms:
        yield f"{prefix}.hedge_max_ms: must not be less than hedge_min_ms"


def budget_problems(prefix: str, budget: BudgetConfig):
    """What is wrong with spending limits (from the user's config or a workspace's)."""
    scopes = [(prefix, budget), *((f"{prefix}.tasks.{t}", b) for t, b in budget.tasks.items())]
    for where, limits in scopes:
        for key in ("daily_usd", "monthly_usd"):
            value = getattr(limits, key)
            if value is not None and value < 0:
                yield f"{where}.{key}: must not be negative"
    if not 0 < budget.warn_ratio <= 1:
        yield f"{prefix}.warn_ratio: must be more than 0 and at most 1"


def _team_problems(config: Config, environ: Mapping[str, str]):
    cache = config.cache
    if cache.url and cache.url_env:
        yield "cache.url, cache.url_env: set one of them, not both"
    if cache.url:
        problem = redis_url_problem(cache.url, cache.allow_insecure)
        if problem:
            yield f"cache.url: {problem}"
    elif cache.url_env and environ.get(cache.url_env):
        problem = redis_url_problem(environ[cache.url_env], cache.allow_insecure)
        if problem:
            yield f"cache.url_env: ${cache.url_env} {problem}"
    if cache.ca_file is not None and not Path(cache.ca_file).is_file():
        yield f"cache.ca_file: {cache.ca_file} is not a readable file"
    if cache.shared_expire_s is not None and cache.shared_expire_s < cache.ttl_s:
        # Entries would vanish from Redis while still fresh locally, and never serve as stale.
        yield f"cache.shared_expire_s: must be at least cache.ttl_s ({cache.ttl_s:.15g} s)"


def redis_url_problem(url: str, allow_insecure: bool = False) -> str | None:
    """Why this Redis URL may not carry the team's code and answers, or None when it may.

    Never repeats the URL: it may hold a password.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "is not a valid redis:// or rediss:// URL"
    try:
        port = parts.port  # parsed lazily: a bad one would surface later, as a traceback
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        return "has an invalid port (a number from 1 to 65535)"
    if parts.scheme == "unix":
        return None if parts.path else "is a unix:// URL without a socket path"
    if parts.scheme not in ("redis", "rediss") or not host:
        return "is not a redis://, rediss:// or unix:// URL with a host"
    if parts.scheme == "redis" and not is_loopback_host(host) and not allow_insecure:
        return (
            "uses plain redis:// to a non-loopback host; use rediss:// (TLS), "
            "or set cache.allow_insecure = true in your user config"
        )
    return None


def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def base_url_problem(url: str, allow_insecure_http: bool = False) -> str | None:
    """Why this base URL may not carry code or keys, or None when it may."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http(s) URL"
    if parts.scheme == "http" and not is_loopback_host(parts.hostname) and not allow_insecure_http:
        return (
            f"{url!r} uses plain http to a non-loopback host; use https "
            "(or set allow_insecure_http = true in your user config)"
        )
    return None
