"""The configuration: lookup order, layering over built-ins, and errors that name the key."""

from __future__ import annotations

import pytest

from switchboard.config import ConfigError, config_from_mapping, load_config


def load(raw, env=None):
    return config_from_mapping(raw, environ=env or {}, source="test.toml")


def test_builtin_defaults_work_with_only_a_local_ollama():
    config = load({})
    assert set(config.providers) == {"local"}
    assert config.route("fix") == ("local-fast",)
    assert config.providers["local"].base_url == "http://127.0.0.1:11434/v1"


def test_builtin_defaults_put_hosted_fast_models_first_when_keys_are_set():
    config = load({}, {"SHAREAI_API_KEY": "x", "OPENROUTER_API_KEY": "y"})
    assert config.route("fix") == (
        "shareai-fast",
        "openrouter-fast",
        "local-fast",
        "shareai-strong",
        "openrouter-strong",
    )
    assert config.route("review")[0] == "shareai-strong"
    assert "openai" not in config.providers


def test_file_entries_replace_builtins_of_the_same_name():
    config = load(
        {
            "providers": {"shareai": {"base_url": "https://example.test/v1", "api_key_env": "K"}},
            "models": {"fast": {"provider": "shareai", "model": "m1", "context_window": 4096}},
            "routes": {"fix": ["fast", "local-fast"]},
            "cache": {"ttl_s": 60},
        }
    )
    assert config.providers["shareai"].base_url == "https://example.test/v1"
    assert config.models["fast"].context_window == 4096
    assert config.route("fix") == ("fast", "local-fast")
    assert config.route("explain") == ("local-fast",)  # built-in route kept
    assert config.cache.ttl_s == 60
    assert config.cache.max_entries == 20000  # other cache keys keep their defaults


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"models": {"m": {"provider": "local", "model": "x", "context_window": "big"}}},
            "models.m.context_window: expected an integer, got a string",
        ),
        (
            {"models": {"m": {"provider": "local", "model": "x", "colour": 1}}},
            "models.m.colour: unknown key",
        ),
        ({"models": {"m": {"provider": "local"}}}, "models.m.model: required key missing"),
        ({"routes": {"fix": "local-fast"}}, "routes.fix: expected an array of strings"),
        ({"routes": {"fix": ["nope"]}}, "routes.fix: unknown model 'nope'"),
        (
            {"models": {"m": {"provider": "ghost", "model": "x"}}},
            "models.m.provider: unknown provider 'ghost'",
        ),
        ({"cache": {"ttl_s": True}}, "cache.ttl_s: expected a number, got a boolean"),
        ({"tasks": {"fix": {"deadline_s": 0}}}, "tasks.fix.deadline_s: must be positive"),
        ({"bogus": {}}, "bogus: unknown key"),
        (
            {"models": {"m": {"provider": "local", "model": "x", "max_tokens_field": "n"}}},
            "models.m.max_tokens_field: must be one of",
        ),
        (
            {"providers": {"p": {"base_url": "http://example.com/v1"}}},
            "providers.p.base_url: 'http://example.com/v1' uses plain http to a non-loopback host",
        ),
        ({"providers": {"p": {"base_url": "ftp://example.com"}}}, "is not an http(s) URL"),
        (
            {"actions": {"a": {"title": "T", "prompt": "P", "route": "nope"}}},
            "actions.a.route: unknown route 'nope'",
        ),
        (
            {"tasks": {"fix": {"context_lines": -3}}},
            "tasks.fix.context_lines: must be between 0 and 500",
        ),
        (
            {"tasks": {"explain": {"hedge_min_ms": 500, "hedge_max_ms": 100}}},
            "tasks.explain.hedge_max_ms: must not be less than hedge_min_ms",
        ),
        (
            {"models": {"m": {"provider": "local", "model": "x", "temperature": 7.5}}},
            "models.m.temperature: must be between 0 and 2",
        ),
        ({"breaker": {"cooldown_s": -5}}, "breaker.cooldown_s: must be positive"),
        ({"cache": {"max_entries": 0}}, "cache.max_entries: must be at least 1"),
    ],
)
def test_a_bad_config_names_the_key(raw, message):
    with pytest.raises(ConfigError) as info:
        load(raw)
    assert message in str(info.value)
    assert str(info.value).startswith("test.toml: ")


def test_every_key_out_of_its_range_is_named_at_once():
    model = {"provider": "local", "model": "x", "context_window": 0, "timeout_s": -1}
    with pytest.raises(ConfigError) as info:
        load({"models": {"m": model}, "cache": {"max_bytes": 0}})
    message = str(info.value)
    assert "models.m.context_window: must be at least 1" in message
    assert "models.m.timeout_s: must be positive" in message
    assert "cache.max_bytes: must be at least 1" in message


def test_the_schema_refuses_a_value_out_of_range_however_it_is_built():
    from switchboard.config import ModelConfig

    with pytest.raises(ValueError, match="context_window: must be at least 1"):
        ModelConfig(provider="p", model="m", context_window=0)


def test_plain_http_is_allowed_to_loopback_and_when_the_user_opts_in():
    load({"providers": {"a": {"base_url": "http://localhost:8000/v1"}}})
    load({"providers": {"b": {"base_url": "http://[::1]:8000/v1"}}})
    load({"providers": {"c": {"base_url": "http://10.0.0.5/v1", "allow_insecure_http": True}}})


def test_lookup_order_is_flag_then_environment_then_user_file(tmp_path, monkeypatch):
    flag = tmp_path / "flag.toml"
    flag.write_text("[cache]\nttl_s = 1\n")
    env = tmp_path / "env.toml"
    env.write_text("[cache]\nttl_s = 2\n")
    assert load_config(flag, {"SWITCHBOARD_CONFIG": str(env)}).cache.ttl_s == 1
    assert load_config(None, {"SWITCHBOARD_CONFIG": str(env)}).cache.ttl_s == 2
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    user = tmp_path / "xdg" / "switchboard" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text("[cache]\nttl_s = 3\n")
    assert load_config(None, {}).cache.ttl_s == 3


def test_invalid_toml_and_missing_files_are_one_clear_error(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[models\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken, {})
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.toml", {})


def test_api_key_never_appears_in_the_config_repr():
    config = load({"providers": {"p": {"base_url": "https://x.test/v1", "api_key": "sk-secret-1"}}})
    assert "sk-secret-1" not in repr(config)


def test_a_workspace_cannot_stretch_or_break_a_tasks_window():
    from switchboard.config.workspace import apply_overlay

    config = load({})
    for knobs in ({"context_lines": 100000}, {"context_lines": -3}, {"deadline_s": -1}):
        updated, warnings = apply_overlay(config, {"tasks": {"fix": knobs}}, ".switchboard.toml")
        assert updated.tasks.fix == config.tasks.fix, knobs
        assert len(warnings) == 1 and "tasks.fix is unchanged" in warnings[0], warnings
    updated, warnings = apply_overlay(
        config, {"tasks": {"fix": {"context_lines": 10}}}, ".switchboard.toml"
    )
    assert updated.tasks.fix.context_lines == 10 and warnings == []


def test_paths_may_start_with_a_tilde(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "sb.toml").write_text(
        '[cache]\npath = "~/c/cache.sqlite"\n[usage]\npath = "~/u.db"\n'
    )
    config = load_config("~/sb.toml", {})
    assert config.cache.path == str(tmp_path / "c" / "cache.sqlite")
    assert config.usage.path == str(tmp_path / "u.db")
    assert load_config(None, {"SWITCHBOARD_CONFIG": "~/sb.toml"}).cache.path == config.cache.path
