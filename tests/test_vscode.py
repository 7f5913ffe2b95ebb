"""VS Code for real: the packaged extension in code-server (VS Code 1.100.3), driven through its
UI with puppeteer-core and headless Chromium, against the loopback fake provider.

Review a file, see the findings in the Problems panel, apply "Fix with AI" from the code-action
menu (Ctrl+.) while the fast model answers 429, see the status bar report the fallback, hover
for an explanation with its footer, open the routing stats from the status bar. Screenshots go
to artifacts/ (vscode-workbench.png, vscode-review.png, vscode-hover.png, vscode-stats.png).

scripts/setup.d/30-vscode.sh installs what this needs; without it the test is skipped, saying
what is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from switchboard.config.schema import ActionConfig, Config, TaskConfig, TasksConfig
from switchboard.config.workspace import WORKSPACE_SETTINGS
from switchboard.lsp.settings import EditorSettings
from tests.fake_provider import RateLimited, Reply
from tests.lsp_support import write_config
from tests.support import CODE, FIXED_CODE

# Not in the inner loop (`pytest -m "not slow"`): a real VS Code (code-server and Chromium).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
E2E = ROOT / "tests" / "vscode"
CODE_SERVER = E2E / "node_modules" / ".bin" / "code-server"
VSCE = ROOT / "node_modules" / ".bin" / "vsce"
SWITCHBOARD = Path(sys.executable).parent / "switchboard"
ARTIFACTS = ROOT / "artifacts"

FINDING = "add() subtracts instead of adding"
REVIEW = json.dumps(
    {
        "findings": [
            {
                "line": 2,
                "end_line": 2,
                "severity": "error",
                "message": FINDING,
                "suggestion": "    return a + b",
            },
            {"line": 5, "severity": "info", "message": "prints when the module is imported"},
        ]
    }
)
FIX = "```python\ndef add(a, b):\n    return a + b\n```"
EXPLANATION = "`add` **subtracts** its arguments, despite its name."


def missing_tools() -> str | None:
    """Why the editor cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed (scripts/setup needs Node 20)"
    if not CODE_SERVER.exists():
        where = CODE_SERVER.relative_to(ROOT)
        return f"code-server is not installed at {where} (scripts/setup.d/30-vscode.sh)"
    if not (E2E / "node_modules" / "puppeteer-core").is_dir():
        return "puppeteer-core is not installed in tests/vscode (scripts/setup.d/30-vscode.sh)"
    if _chromium() is None:
        return "chromium is not installed (apt-get install chromium; scripts/setup.d/30-vscode.sh)"
    if not VSCE.exists():
        return "the extension's npm packages are not installed (npm ci; scripts/setup.d/20-node.sh)"
    if not SWITCHBOARD.exists():
        return f"no switchboard console script next to {sys.executable}"
    return None


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def package_extension(out_dir: Path) -> Path:
    """`npm run package` (vsce, which runs the production build): the .vsix users install."""
    manifest = json.loads((ROOT / "package.json").read_text())
    vsix = out_dir / f"{manifest['name']}-{manifest['version']}.vsix"
    subprocess.run(
        ["npm", "run", "--silent", "package", "--", "--out", str(vsix)],
        cwd=ROOT,
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=180,
    )
    return vsix


def unpack_extension(vsix: Path, extensions_dir: Path) -> Path:
    """The .vsix's `extension/` folder as EXTDIR/<publisher>.<name>-<version>/."""
    with zipfile.ZipFile(vsix) as archive:
        manifest = json.loads(archive.read("extension/package.json"))
        folder = extensions_dir / (
            f"{manifest['publisher']}.{manifest['name']}-{manifest['version']}"
        )
        for info in archive.infolist():
            if info.filename.startswith("extension/") and not info.is_dir():
                target = folder / info.filename.removeprefix("extension/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(info))
    return folder


def isolated_env(tmp: Path) -> dict[str, str]:
    """The environment with HOME and XDG_* in tmp: what code-server, the extension host, the
    server and Chromium write stays there."""
    home = tmp / "home"
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
    }
    env.pop("SWITCHBOARD_CONFIG", None)
    return env


@contextlib.contextmanager
def code_server(
    tmp: Path, workspace: Path, extensions_dir: Path, settings: dict, machine_settings: dict
) -> Iterator[str]:
    """code-server on a free loopback port with these user and machine settings; its URL.

    The browser window is a remote window: VS Code takes machine-scoped settings (serverPath,
    configPath) from the remote's settings (`Machine/settings.json`), not the user's.
    """
    user_data = tmp / "user-data"
    for folder, values in (("User", settings), ("Machine", machine_settings)):
        (user_data / folder).mkdir(parents=True)
        (user_data / folder / "settings.json").write_text(json.dumps(values, indent=2))
    env = isolated_env(tmp)
    config = tmp / "code-server.yaml"
    config.write_text("auth: none\ncert: false\n")
    port = _free_port()
    log = (tmp / "code-server.log").open("wb")
    process = subprocess.Popen(
        [
            str(CODE_SERVER),
            "--config", str(config),
            "--auth", "none",
            "--bind-addr", f"127.0.0.1:{port}",
            "--disable-telemetry",
            "--disable-update-check",
            "--disable-workspace-trust",
            "--user-data-dir", str(user_data),
            "--extensions-dir", str(extensions_dir),
            str(workspace),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, killed whole at the end
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"code-server did not start:\n{(tmp / 'code-server.log').read_text()}"
                    ) from None
                time.sleep(0.1)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        log.close()


def extension_log(user_data: Path) -> str:
    """The Switchboard output channel (the server's stderr and the client's log), if written:
    a log channel, in the extension's own folder of the extension host's logs."""
    logs = sorted(user_data.glob("logs/*/exthost*/switchboard.switchboard/Switchboard.log"))
    return "\n".join(path.read_text(errors="replace") for path in logs)


@pytest.fixture(scope="module")
def extension_vsix(tmp_path_factory) -> Path:
    """The packaged extension, built once for this module's tests."""
    reason = missing_tools()
    if reason:
        print(f"test_vscode: skipped: {reason}", file=sys.stderr)
        pytest.skip(reason)
    started = time.monotonic()
    vsix = package_extension(tmp_path_factory.mktemp("vsix"))
    print(f"packaged {vsix.name} in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return vsix


EDITOR_SETTINGS = {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "workbench.welcomePage.walkthroughs.openOnInstall": False,
    "extensions.ignoreRecommendations": True,
    "editor.hover.delay": 150,
    "editor.lightbulb.enabled": "off",
    "files.autoSave": "off",
    "switchboard.trace.server": "messages",
}


def test_the_plain_vsce_command_packages_the_extension(tmp_path):
    """`npx @vscode/vsce package`, with no flags, as the vsce docs and users type it: the
    options live in package.json ("vsce"), so it builds the same .vsix as `npm run package`,
    with the extension's own README rather than the repository's (whose relative links vsce
    cannot resolve without a repository URL)."""
    if not VSCE.exists():
        pytest.skip("the extension's npm packages are not installed (npm ci)")
    vsix = tmp_path / "plain.vsix"
    packaged = subprocess.run(
        ["npx", "--no", "@vscode/vsce", "package", "--out", str(vsix)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert packaged.returncode == 0, packaged.stdout + packaged.stderr
    with zipfile.ZipFile(vsix) as archive:
        files = {name for name in archive.namelist() if name.startswith("extension/")}
        assert files == {
            "extension/package.json",
            "extension/readme.md",
            "extension/dist/extension.js",
        }
        readme = archive.read("extension/readme.md").decode()
    assert readme == (ROOT / "vscode-client" / "README.md").read_text()


def run_editor(
    tmp_path: Path, vsix: Path, settings: dict, machine_settings: dict, plan: dict
) -> tuple[dict, str]:
    """Start code-server with the extension installed, run drive.mjs; what it saw, and a
    description of the run (its log, the output channel) for assertion messages."""
    extensions = tmp_path / "extensions"
    folder = unpack_extension(vsix, extensions)
    assert (folder / "dist" / "extension.js").is_file()
    ARTIFACTS.mkdir(exist_ok=True)
    plan = {
        "artifacts": str(ARTIFACTS),
        "chromium": _chromium(),
        "profile": str(tmp_path / "chromium"),
        "machineSettingsFile": str(tmp_path / "user-data" / "Machine" / "settings.json"),
        **plan,
    }
    with code_server(
        tmp_path, Path(plan["workspace"]), extensions, settings, machine_settings
    ) as url:
        drive = subprocess.run(
            ["node", str(E2E / "drive.mjs"), json.dumps({**plan, "url": url})],
            cwd=E2E,
            env=isolated_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=240,
        )
    log = extension_log(tmp_path / "user-data")
    lines = drive.stdout.strip().splitlines()
    seen = json.loads(lines[-1]) if lines else {}
    context = (
        f"drive exited {drive.returncode}\n--- stderr\n{drive.stderr}\n"
        f"--- seen\n{json.dumps(seen, indent=2)}\n--- Switchboard output channel\n{log}"
    )
    assert drive.returncode == 0, context
    print(
        "editor steps: "
        + ", ".join(f"{name} {step['ms']} ms" for name, step in seen["steps"].items()),
        file=sys.stderr,
    )
    return {**seen, "log": log}, context


def one_file_workspace(tmp_path: Path, fake, name: str, text: str) -> tuple[Path, dict]:
    """A workspace holding `name`, and the machine settings that run our server on the fake."""
    config = write_config(tmp_path, fake.base_url)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / name).write_text(text)
    machine = {"switchboard.serverPath": str(SWITCHBOARD), "switchboard.configPath": str(config)}
    return workspace, machine


def test_vscode_review_fix_with_fallback_hover_and_stats(fake, tmp_path, extension_vsix):
    fake.default("strong", Reply(REVIEW))
    fake.script("fast", RateLimited())  # the fix: fast is rate-limited, backup answers
    fake.default("fast", Reply(EXPLANATION))  # then the hover: fast answers
    fake.default("backup", Reply(FIX))
    workspace, machine = one_file_workspace(tmp_path, fake, "calc.py", CODE)
    settings = {**EDITOR_SETTINGS, "switchboard.hover.delayMs": 0}
    seen, context = run_editor(
        tmp_path,
        extension_vsix,
        settings,
        machine,
        {
            "workspace": str(workspace),
            "file": "calc.py",
            "expectFindings": 2,
            "fixAt": "2:12",
            "fixTitlePrefix": f"Fix with AI: {FINDING}",
            "fixedLine": "return a + b",
            "hoverWord": "add",
            "serverMarker": machine["switchboard.configPath"],
        },
    )

    # The review ran on the strong model and its findings are in the Problems panel.
    assert seen["reviewMessage"].startswith("Switchboard: 2 findings in calc.py (strong)"), context
    messages = [row["message"] for row in seen["problemsAfterReview"]]
    assert FINDING in messages and "prints when the module is imported" in messages, context
    assert all("switchboard" in row["text"] for row in seen["problemsAfterReview"]), context

    # Ctrl+. listed the AI quick fix and the review's own suggestion; the fix landed, from
    # backup, after fast answered 429 — and the status bar says so.
    assert any(label.startswith("Apply AI suggestion") for label in seen["codeActions"]), context
    assert seen["appliedAction"].startswith(f"Fix with AI: {FINDING}")
    assert (workspace / "calc.py").read_text() == FIXED_CODE
    assert "fell back to backup" in seen["statusAfterFix"], context
    assert [row["message"] for row in seen["problemsAfterFix"]] == [
        "prints when the module is imported"
    ]
    assert [r.model for r in fake.requests if r.model != "strong"][:2] == ["fast", "backup"]

    # The hover: the explanation and the footer naming the model that answered.
    assert "subtracts its arguments" in seen["hover"], context
    assert "switchboard · fast (p)" in seen["hover"], context

    # The routing stats page, opened from the status bar item.
    stats = seen["stats"]
    assert "backup" in stats and "fast" in stats and "rate limited 1" in stats, context
    assert (ARTIFACTS / "vscode-workbench.png").stat().st_size > 10_000

    # After a crash the client restarts the server, and the status bar comes back from
    # "starting" to idle.
    assert seen["statusAfterCrash"] == "Switchboard", context
    assert "restarting it" in seen["log"], context

    # A restart gives a working server again (its commands registered anew, no error).
    assert "cache is cleared" in seen["clearCacheMessage"], context
    assert seen["errorsAfterRestart"] == [], context
    assert seen["log"].count("Starting ") == 2, context


def test_vscode_shows_a_suggestion_as_ghost_text_and_tab_takes_it(fake, tmp_path, extension_vsix):
    """vscode-languageclient 10 declares LSP 3.18 inline completion, so VS Code gets ghost text
    (and no duplicate completion-menu item); Tab inserts it, and its command tells the server,
    whose routing stats count the suggestion as accepted."""
    code = "def mean(values):\n    total =\n    return total / len(values)\n"
    fake.default("fast", Reply("<think>a sum</think>```python\nsum(values)\n```"))
    workspace, machine = one_file_workspace(tmp_path, fake, "mean.py", code)
    seen, context = run_editor(
        tmp_path,
        extension_vsix,
        EDITOR_SETTINGS,
        machine,
        {
            "scenario": "complete",
            "workspace": str(workspace),
            "file": "mean.py",
            "firstLine": "def mean",
            "typeAt": f"2:{len('    total =') + 1}",
            "typed": " ",
            "acceptedLine": "total = sum(values)",
        },
    )
    assert seen["ghostText"].strip() == "sum(values)", context
    assert (workspace / "mean.py").read_text() == code.replace("total =\n", "total = sum(values)\n")
    assert seen["suggestWidget"] == 0, context
    assert "1 accepted" in seen["stats"], context
    assert all(r.model == "fast" for r in fake.requests), context
    assert (ARTIFACTS / "vscode-ghost-text.png").stat().st_size > 10_000


def test_vscode_says_once_why_the_server_cannot_run(tmp_path, extension_vsix):
    config = tmp_path / "broken.toml"
    config.write_text('[models.fast]\nprovider = "nowhere"\ncontext_window = "big"\n')
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    settings = EDITOR_SETTINGS
    machine = {"switchboard.serverPath": str(SWITCHBOARD), "switchboard.configPath": str(config)}
    seen, context = run_editor(
        tmp_path,
        extension_vsix,
        settings,
        machine,
        {
            "scenario": "broken",
            "workspace": str(workspace),
            "brokenSettings": {**machine, "switchboard.serverPath": "/nonexistent/switchboard"},
            "pythonAsServerSettings": {**machine, "switchboard.serverPath": sys.executable},
        },
    )

    # A config error: the server's own sentence, once, with the way to the config file.
    [failure] = seen["startFailure"]
    assert "exited at start with code 2: " in failure["message"], context
    assert "models.fast.context_window: expected an integer, got a string." in failure["message"]
    assert "Open Config" in failure["buttons"], context
    assert "stopped" in seen["statusAfterStartFailure"]
    assert len(seen["notificationsAfterWait"]) == 1, context  # no restart loop, no second message
    assert seen["log"].count(f"Starting {SWITCHBOARD} ") == 1, context

    # A serverPath that points nowhere is reported as such, not replaced by another server.
    [not_found] = seen["notFound"]
    assert '"/nonexistent/switchboard", which is not an executable file' in not_found["message"]
    assert "Open Settings" in not_found["buttons"], context
    assert "no server" in seen["statusWhenNotFound"]

    # A serverPath that is a Python: `python lsp` exits 2 too, but that is no config error.
    [python] = seen["pythonAsServer"]
    assert "exited at start with code 2" in python["message"], context
    assert "Fix the config" not in python["message"], context
    assert "switchboard.pythonPath" in python["message"], context
    assert "Open Config" not in python["buttons"], context


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _flat_settings(cls: type, prefix: str = "") -> dict[str, object]:
    """The server's editor settings as dotted camelCase names -> defaults."""
    flat: dict[str, object] = {}
    for field in attrs.fields(cls):
        name = prefix + _camel(field.name)
        if attrs.has(field.type):
            flat.update(_flat_settings(field.type, f"{name}."))
        else:
            flat[name] = field.default
    return flat


def _workspace_settings() -> dict[str, object]:
    """What a workspace may set (config/workspace.py), as dotted camelCase setting names ->
    the setting's default: nothing added, an empty list for a list, else an empty object."""
    settings: dict[str, object] = {}
    for name in WORKSPACE_SETTINGS:
        value: object = Config()
        for part in name.split("."):
            value = getattr(value, part)
        settings[".".join(_camel(part) for part in name.split("."))] = (
            [] if isinstance(value, tuple) else {}
        )
    return settings


def test_the_extension_contributes_the_server_settings_name_for_name():
    """package.json mirrors server/switchboard/lsp/settings.py (names and defaults), what a
    workspace may set (config/workspace.py) and the task and action fields of
    config/schema.py, so a setting added on either side shows up here."""
    contributed = json.loads((ROOT / "package.json").read_text())["contributes"]["configuration"]
    properties = {
        key.removeprefix("switchboard."): value for key, value in contributed["properties"].items()
    }
    server = _flat_settings(EditorSettings)
    overlay = _workspace_settings()
    client_only = {"serverPath", "pythonPath", "configPath", "trace.server"}
    assert set(properties) == set(server) | set(overlay) | client_only
    for name, default in {**server, **overlay}.items():
        default = list(default) if isinstance(default, tuple) else default  # a JSON array
        assert properties[name]["default"] == default, name
    knobs = properties["tasks"]["additionalProperties"]["properties"]
    assert set(knobs) == {_camel(field.name) for field in attrs.fields(TaskConfig)}
    assert set(properties["tasks"]["propertyNames"]["enum"]) == {
        field.name for field in attrs.fields(TasksConfig)
    }
    action = properties["actions"]["additionalProperties"]
    assert set(action["properties"]) == {_camel(field.name) for field in attrs.fields(ActionConfig)}
    assert set(action["required"]) == {
        _camel(field.name) for field in attrs.fields(ActionConfig) if field.default is attrs.NOTHING
    }
    for name in ("serverPath", "pythonPath", "configPath"):
        assert properties[name]["scope"] == "machine", name
    # An untrusted folder's workspace settings cannot spend the user's money.
    manifest = json.loads((ROOT / "package.json").read_text())
    restricted = manifest["capabilities"]["untrustedWorkspaces"]["restrictedConfigurations"]
    costly = {"review.onSave", "hover.maxPerMinute", "routes", "tasks", "actions"}
    assert {f"switchboard.{name}" for name in costly} <= set(restricted)
    assert all(name.removeprefix("switchboard.") in properties for name in restricted)
