"""What starting costs: the language server answers `initialize` before it loads the gateway.

Editors wait for `initialize` before they show anything of a server, and Python spends most
of a start importing. The gateway (httpx, the cache files, the tasks' prompt machinery) is
loaded when `initialized` arrives; these tests keep it that way (bench/ measures the time).
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "httpx",
    "httpcore",
    "switchboard.engine",
    "switchboard.gateway.gateway",
    "switchboard.gateway.team",
    "switchboard.tasks.prompts",
    "switchboard.lsp.features.hover",
)


def loaded_after(code: str) -> list[str]:
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_server_is_built_without_the_gateway():
    code = (
        "from switchboard.config import config_from_mapping\n"
        "from switchboard.lsp.server import build_server\n"
        "build_server(config_from_mapping({}, environ={}, source='test'))"
    )
    assert loaded_after(code) == []


def test_the_command_line_loads_the_gateway_only_for_its_tasks():
    assert loaded_after("import switchboard.cli") == []
    assert "httpx" in loaded_after("import switchboard.commands")


def test_every_secret_in_play_is_known_to_the_log_scrubbers():
    from switchboard.config import config_from_mapping
    from switchboard.config.secrets import secret_values

    environ = {"SHAREAI_API_KEY": "sk-share-1234", "REDIS_PW": "hunter2-redis"}
    config = config_from_mapping(
        {"cache": {"url": "redis://:url-pass-99@127.0.0.1:6379/0", "password_env": "REDIS_PW"}},
        environ=environ,
        source="test",
    )
    assert set(secret_values(config, environ)) == {
        "sk-share-1234",
        "url-pass-99",
        "hunter2-redis",
    }
