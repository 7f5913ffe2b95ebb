"""Fixes verified by the tools that raised them, with the real checkers.

ruff, basedpyright and mypy come from PyPI (the dev dependency group); eslint and tsc from npm
(tests/tools, installed by scripts/setup.d/25-checkers.sh). A fast model whose edit leaves the
diagnostic is refused with the checker's reason and the strong model's edit lands; an edit that
breaks any language's syntax is refused; a checker that is missing, crashes or hangs never
blocks a fix, which is then offered as not verified.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lsprotocol import types

from switchboard.checks import Target
from switchboard.checks.registry import find_executable
from switchboard.config import config_from_mapping
from switchboard.engine import Engine
from switchboard.gateway import Gateway, NoAnswer
from switchboard.tasks import Source
from tests.fake_provider import Reply
from tests.lsp_support import apply_text_edits, edits_of, start_session, stop_session
from tests.support import config_dict, toml

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tests" / "tools" / "node_modules"
HELLO = 'def greet(name):\n    print("hello " + nam)\n\n\ngreet("you")\n'
HELLO_FIXED = HELLO.replace("+ nam)", "+ name)")
LEAVES_IT = '```python\n    print("hello " + nam.upper())\n```'
CLEARS_IT = '```python\n    print("hello " + name)\n```'


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text)
    if TOOLS.is_dir():
        (root / "node_modules").symlink_to(TOOLS)
    return root


def config_for(tmp_path: Path, fake, **sections) -> dict:
    models = {"fast": {"provider": "p"}, "strong": {"provider": "q"}}
    routes = {"fix": ["fast", "strong"], "explain": ["fast"], "review": ["strong"]}
    return config_dict(
        tmp_path, {"p": fake.base_url, "q": fake.base_url}, models, routes, **sections
    )


def needs(tool: str, root: Path | None = None) -> None:
    if find_executable(tool, root) is None:
        pytest.skip(f"{tool} is not installed (scripts/setup installs it)")


async def fix_with(tmp_path, fake, root: Path, name: str, target: Target, **sections):
    config = config_from_mapping(config_for(tmp_path, fake, **sections), environ={}, source="t")
    engine = Engine(config, Gateway.create(config, environ={}), root=root)
    path = root / name
    source = Source(path.read_text(), str(path))
    try:
        answer = await engine.ask(
            engine.fix_ask(source, target.line, target.end_line, target.message, target=target)
        )
        return answer, engine.stats().to_json()  # what `stats --json` prints
    finally:
        await engine.aclose()


def outcomes(answer) -> list[tuple[str, str]]:
    return [(a.model, a.outcome.value) for a in answer.attempts]


async def test_the_strong_model_lands_when_ruff_refuses_the_fast_ones_edit(fake, tmp_path):
    root = project(tmp_path, {"hello.py": HELLO})
    fake.default("fast", Reply(LEAVES_IT))
    fake.default("strong", Reply(CLEARS_IT))
    target = Target("Ruff", "F821", "Undefined name `nam`", 1, 1)
    answer, stats = await fix_with(tmp_path, fake, root, "hello.py", target)
    assert answer.value.replacement.new_text() == HELLO_FIXED
    assert outcomes(answer) == [("fast", "invalid"), ("strong", "ok")]
    assert answer.attempts[0].detail == "ruff still reports F821 on line 2"
    assert answer.value.to_json()["verified_by"] == "ruff"
    edits = {row["model"]: row["edits"] for row in stats["models"]}
    assert {model: edits[model] for model in ("fast", "strong")} == {
        "fast": {"verified": 0, "rejected": 1, "not_verified": 0},
        "strong": {"verified": 1, "rejected": 0, "not_verified": 0},
    }


async def test_an_edit_that_adds_an_error_on_its_lines_is_refused(fake, tmp_path):
    root = project(tmp_path, {"hello.py": HELLO})
    fake.default("fast", Reply('```python\n    print("hello " + name + missing)\n```'))
    fake.default("strong", Reply(CLEARS_IT))
    target = Target("ruff", "F821", "Undefined name `nam`", 1, 1)
    answer, _ = await fix_with(tmp_path, fake, root, "hello.py", target)
    assert answer.value.replacement.new_text() == HELLO_FIXED
    assert "ruff reports a new error on line 2: F821 Undefined name `missing`" in (
        answer.attempts[0].detail
    )


TYPED = "def double(value: int) -> int:\n    return str(value * 2)\n"
TYPED_FIXED = "def double(value: int) -> int:\n    return value * 2\n"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("tool", "source", "code", "message"),
    [
        ("mypy", "mypy", "return-value", "Incompatible return value type"),
        ("basedpyright", "basedpyright", "reportReturnType", "Type"),
    ],
)
async def test_python_type_checkers_verify_their_own_diagnostic(
    tool, source, code, message, fake, tmp_path
):
    needs(tool)
    root = project(tmp_path, {"typed.py": TYPED})
    fake.default("fast", Reply("```python\n    return str(value) * 2\n```"))
    fake.default("strong", Reply("```python\n    return value * 2\n```"))
    answer, _ = await fix_with(
        tmp_path, fake, root, "typed.py", Target(source, code, message, 1, 1)
    )
    assert answer.value.replacement.new_text() == TYPED_FIXED
    assert outcomes(answer) == [("fast", "invalid"), ("strong", "ok")]
    assert f"{tool} still reports {code}" in answer.attempts[0].detail
    assert answer.value.verification.checker == tool


GREET = (
    'function greet(name) {\n  const message = "Hello, " + nam;\n  return message;\n}\n\n'
    "module.exports = { greet };\n"
)
ESLINT_CONFIG = (
    'export default [{ files: ["**/*.js"], languageOptions: { sourceType: "commonjs", '
    'globals: { module: "writable" } }, rules: { "no-undef": "error" } }];\n'
)


async def test_eslint_verifies_a_javascript_fix(fake, tmp_path):
    root = project(tmp_path, {"greet.js": GREET, "eslint.config.mjs": ESLINT_CONFIG})
    needs("eslint", root)
    fake.default("fast", Reply('```js\n  const message = "Hello, " + nam + "!";\n```'))
    fake.default("strong", Reply('```js\n  const message = "Hello, " + name;\n```'))
    target = Target("eslint", "no-undef", "'nam' is not defined.", 1, 1)
    answer, _ = await fix_with(tmp_path, fake, root, "greet.js", target)
    assert answer.value.replacement.new_text() == GREET.replace("+ nam;", "+ name;")
    assert answer.attempts[0].detail == "eslint still reports no-undef on line 2"
    assert answer.value.verification.checker == "eslint"


ADD_TS = "export function add(a: number, b: number): number {\n  return `${a + b}`;\n}\n"
TSCONFIG = '{"compilerOptions": {"strict": true, "target": "es2020", "module": "commonjs"}}\n'


async def test_tsc_verifies_a_typescript_fix_under_the_projects_tsconfig(fake, tmp_path):
    root = project(tmp_path, {"add.ts": ADD_TS, "tsconfig.json": TSCONFIG})
    needs("tsc", root)
    fake.default("fast", Reply("```ts\n  return `${a}${b}`;\n```"))
    fake.default("strong", Reply("```ts\n  return a + b;\n```"))
    target = Target("ts", "TS2322", "Type 'string' is not assignable to type 'number'.", 1, 1)
    # tsc takes seconds a run (up to five on a loaded two-core machine): room for three runs.
    answer, _ = await fix_with(
        tmp_path, fake, root, "add.ts", target, tasks={"fix": {"deadline_s": 60}}
    )
    assert answer.value.replacement.new_text() == ADD_TS.replace("`${a + b}`", "a + b")
    assert answer.attempts[0].detail == "tsc still reports TS2322 on line 2"
    assert sorted(p.name for p in root.iterdir()) == sorted(
        ["add.ts", "tsconfig.json", "node_modules"]
    )  # no temporary file left behind


async def test_a_javascript_edit_that_breaks_the_syntax_is_refused(fake, tmp_path):
    root = project(tmp_path, {"greet.js": GREET})
    fake.default("fast", Reply('```js\n  const message = "Hello, " + name;\n  }\n```'))
    fake.default("strong", Reply('```js\n  const message = "Hello, " + name;\n```'))
    answer, _ = await fix_with(
        tmp_path, fake, root, "greet.js", Target(None, None, "'nam' is not defined.", 1, 1)
    )
    assert answer.value.replacement.new_text() == GREET.replace("+ nam;", "+ name;")
    assert outcomes(answer) == [("fast", "invalid"), ("strong", "ok")]
    assert answer.attempts[0].detail == "the edit adds javascript syntax errors"


async def test_a_missing_checker_is_skipped_and_the_fix_is_not_verified(fake, tmp_path):
    root = project(tmp_path, {"hello.py": HELLO})
    fake.default("fast", Reply(CLEARS_IT))
    checkers = {"flake9": {"command": ["no-such-checker-here", "{file}"], "format": "gcc"}}
    target = Target("flake9", "E1", "undefined name", 1, 1)
    answer, stats = await fix_with(tmp_path, fake, root, "hello.py", target, checkers=checkers)
    assert answer.value.replacement.new_text() == HELLO_FIXED
    assert answer.value.to_json()["verification"] == "not_verified"
    assert "no checker for flake9 is installed" in answer.value.to_json()["verification_detail"]
    [fast] = [row for row in stats["models"] if row["model"] == "fast"]
    assert fast["edits"]["not_verified"] == 1


@pytest.mark.slow
async def test_a_checker_that_hangs_is_cut_at_its_cap(fake, tmp_path):
    root = project(tmp_path, {"hello.py": HELLO})
    fake.default("fast", Reply(CLEARS_IT))
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    checkers = {"slowpoke": {"command": sleeper, "format": "gcc", "timeout_s": 1.0}}
    started = time.monotonic()
    answer, _ = await fix_with(
        tmp_path, fake, root, "hello.py", Target("slowpoke", None, "x", 1, 1), checkers=checkers
    )
    assert time.monotonic() - started < 10
    assert answer.value.replacement.new_text() == HELLO_FIXED
    assert answer.value.verification.status == "not_verified"
    assert answer.value.verification.reason.endswith("took longer than 1s")


async def test_a_user_checker_runs_in_the_workspace_without_the_users_keys(fake, tmp_path):
    root = project(tmp_path, {"hello.py": HELLO})
    fake.default("fast", Reply(CLEARS_IT))
    seen = tmp_path / "seen.json"
    script = (
        "import json, os, sys; "
        f"json.dump({{'cwd': os.getcwd(), 'env': dict(os.environ)}}, open({str(seen)!r}, 'w')); "
        "print(sys.argv[1] + ':2: error: undefined name nam [F821]')"
    )
    checkers = {"mine": {"command": [sys.executable, "-c", script, "{original}"], "format": "gcc"}}
    raw = config_for(tmp_path, fake, checkers=checkers)
    raw["providers"]["p"]["api_key_env"] = "SECRET_KEY_OF_P"
    os.environ["SECRET_KEY_OF_P"] = "sk-never-shown-to-checkers"
    try:
        config = config_from_mapping(raw, environ=dict(os.environ), source="t")
        engine = Engine(config, Gateway.create(config, environ=dict(os.environ)), root=root)
        source = Source(HELLO, str(root / "hello.py"))
        target = Target("mine", "F821", "undefined name nam", 1, 1)
        with pytest.raises(NoAnswer) as failed:
            await engine.ask(engine.fix_ask(source, 1, 1, target.message, target=target))
        await engine.aclose()
    finally:
        del os.environ["SECRET_KEY_OF_P"]
    record = json.loads(seen.read_text())
    assert record["cwd"] == str(root)
    assert "SECRET_KEY_OF_P" not in record["env"]
    # This checker reports the diagnostic whatever the text: every edit is refused, by name.
    assert [a.detail for a in failed.value.attempts] == ["mine still reports F821 on line 2"] * 2


# -- the command line ----------------------------------------------------------------------------


def run_fix(root: Path, tmp_path: Path, fake, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "config.toml").write_text(toml(config_for(tmp_path, fake)))
    return subprocess.run(
        [sys.executable, "-m", "switchboard", "fix", "hello.py", "--line", "2", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "SWITCHBOARD_CONFIG": str(tmp_path / "config.toml")},
        cwd=root,
        timeout=60,
    )


@pytest.mark.slow
def test_cli_fix_finds_the_diagnostic_and_verifies_with_ruff(fake, tmp_path):
    root = project(tmp_path, {"hello.py": HELLO})
    fake.default("fast", Reply(LEAVES_IT))
    fake.default("strong", Reply(CLEARS_IT))
    result = run_fix(root, tmp_path, fake, "--apply", "--json")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["verified_by"] == "ruff" and output["verification"] == "verified"
    assert [(a["model"], a["outcome"]) for a in output["attempts"]] == [
        ("fast", "invalid"),
        ("strong", "ok"),
    ]
    assert (root / "hello.py").read_text() == HELLO_FIXED
    assert "switchboard: verified by ruff" in result.stderr


def test_cli_no_verify_skips_the_checker(fake, tmp_path):
    root = project(tmp_path, {"hello.py": HELLO})
    fake.default("fast", Reply(LEAVES_IT))
    result = run_fix(root, tmp_path, fake, "--no-verify", "--json")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["verification"] == "not_verified"
    assert [a["model"] for a in output["attempts"]] == ["fast"]


@pytest.mark.slow
def test_cli_verified_only_writes_nothing_unverified(fake, tmp_path):
    correct = HELLO_FIXED.replace("def greet(name):", "def greet(name: str) -> None:")
    root = project(tmp_path, {"hello.py": correct})
    fake.default("fast", Reply('```python\n    print("hello, " + name)\n```'))
    # No checker reports an error on the line, so nothing can verify the change.
    result = run_fix(root, tmp_path, fake, "--apply", "--verified-only")
    assert result.returncode == 4, result.stderr
    assert "not verified" in result.stderr
    assert (root / "hello.py").read_text() == correct


# -- the language server ----------------------------------------------------------------------


@pytest.mark.slow
async def test_a_quick_fix_resolve_is_verified_by_ruff(fake, tmp_path):
    fake.default("fast", Reply(LEAVES_IT))
    fake.default("strong", Reply(CLEARS_IT))
    config = tmp_path / "user-config.toml"
    config.write_text(toml(config_for(tmp_path, fake)))
    session = await start_session(tmp_path, config)
    try:
        uri = session.open("hello.py", HELLO)
        diagnostic = types.Diagnostic(
            range=types.Range(
                start=types.Position(line=1, character=21), end=types.Position(line=1, character=24)
            ),
            message="Undefined name `nam`",
            source="Ruff",
            code="F821",
        )
        fix = await session.quick_fix(uri, diagnostic)
        resolved = await session.client.code_action_resolve_async(fix)
        stats = await session.command("switchboard.stats")
    finally:
        await stop_session(session)
    _, edits = edits_of(resolved.edit, uri)
    assert apply_text_edits(HELLO, edits) == HELLO_FIXED
    assert resolved.data["verified_by"] == "ruff"
    rejected = {row["model"]: row["edits"]["rejected"] for row in stats["models"]}
    assert {model: rejected[model] for model in ("fast", "strong")} == {
        "fast": 1,
        "strong": 0,
    }


@pytest.mark.slow
async def test_a_workspace_cannot_define_a_checker(fake, tmp_path):
    marker = tmp_path / "ran"
    evil = [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / ".switchboard.toml").write_text(
        toml({"checkers": {"evil": {"command": evil, "format": "gcc", "sources": ["ruff"]}}})
    )
    fake.default("fast", Reply(CLEARS_IT))
    config = tmp_path / "user-config.toml"
    config.write_text(toml(config_for(tmp_path, fake)))
    session = await start_session(tmp_path, config)
    try:
        uri = session.open("hello.py", HELLO)
        diagnostic = types.Diagnostic(
            range=types.Range(
                start=types.Position(line=1, character=0), end=types.Position(line=1, character=30)
            ),
            message="Undefined name `nam`",
            source="ruff",
            code="F821",
        )
        fix = await session.quick_fix(uri, diagnostic)
        resolved = await session.client.code_action_resolve_async(fix)
        warnings = [m.message for m in session.client.messages if "checkers" in m.message]
    finally:
        await stop_session(session)
    assert not marker.exists()
    assert resolved.data["verified_by"] == "ruff"  # the user's own ruff, not the workspace's
    assert len(warnings) == 1 and "ignored checkers" in warnings[0]


def test_the_checkers_the_tests_use_are_installed_by_setup():
    """scripts/setup installs every checker these tests run: none may be skipped in CI."""
    if not os.environ.get("CI"):
        pytest.skip("checked in CI, where scripts/setup has run")
    for tool in ("ruff", "basedpyright", "mypy"):
        assert find_executable(tool, None), tool
    for tool in ("eslint", "tsc"):
        assert (TOOLS / ".bin" / tool).exists(), tool
    assert shutil.which("node")


async def test_a_listing_with_no_diagnostics_offers_fixes_for_what_ruff_reports(fake, tmp_path):
    """Neovim's own code-action key and eglot send only the server's own diagnostics: the
    background checks (run on open, never on a listing) stand in for the user's linter."""
    fake.default("fast", Reply(CLEARS_IT))
    config = tmp_path / "user-config.toml"
    config.write_text(toml(config_for(tmp_path, fake)))
    session = await start_session(tmp_path, config)
    try:
        uri = session.open("hello.py", HELLO)
        kept: dict = {}

        async def checked() -> bool:
            kept.update(await session.command("switchboard.checkedDiagnostics", uri))
            return bool(kept["diagnostics"])

        async with asyncio.timeout(30):
            while not await checked():  # noqa: ASYNC110 - the server holds the state
                await asyncio.sleep(0.1)
        assert kept["version"] == 1
        assert uri not in session.client.diagnostics  # kept, not published (checks.publish)
        found = {(d["source"], d["code"], d["line"]) for d in kept["diagnostics"]}
        assert ("ruff", "F821", 1) in found  # basedpyright and mypy, installed too, may add theirs
        line = types.Range(
            start=types.Position(line=1, character=0), end=types.Position(line=1, character=0)
        )
        actions = await session.code_actions(uri, line, [])
        assert fake.requests == []  # listing asks no model
        fixes = {a.title: a for a in actions if a.title.startswith("Fix with AI")}
        fix = fixes["Fix with AI: Undefined name `nam`"]  # ruff's; only errors are listed
        assert fix.diagnostics[0].source == "ruff" and fix.diagnostics[0].code == "F821"
        resolved = await session.client.code_action_resolve_async(fix)
        # An edit makes the kept diagnostics stale: nothing is listed for the old lines.
        session.change(
            uri,
            2,
            types.TextDocumentContentChangeWholeDocument(text=HELLO_FIXED),
        )
        stale = await session.code_actions(uri, line, [])
    finally:
        await stop_session(session)
    _, edits = edits_of(resolved.edit, uri)
    assert apply_text_edits(HELLO, edits) == HELLO_FIXED
    assert resolved.data["verified_by"] == "ruff"
    assert not [a for a in stale if a.title.startswith("Fix with AI")]


async def test_type_checkers_wait_for_a_save_and_the_settings_choose_the_checkers(fake, tmp_path):
    """basedpyright takes seconds of CPU: a pause in typing runs only the linters."""
    needs("basedpyright")
    config = tmp_path / "user-config.toml"
    config.write_text(toml(config_for(tmp_path, fake)))

    async def kept(session, uri: str, version: int) -> set[str]:
        found: dict = {}
        async with asyncio.timeout(60):
            while found.get("version") != version:
                found = await session.command("switchboard.checkedDiagnostics", uri)
                await asyncio.sleep(0.1)
        return {d["source"] for d in found["diagnostics"]}

    settings = {"checks": {"checkers": ["ruff", "basedpyright"]}}
    session = await start_session(tmp_path, config, initialization_options=settings)
    try:
        uri = session.open("hello.py", HELLO)
        assert await kept(session, uri, 1) == {"ruff", "basedpyright"}  # not mypy: not chosen
        edited = HELLO.replace('greet("you")', "greet(yuo)")
        session.change(uri, 2, types.TextDocumentContentChangeWholeDocument(text=edited))
        assert await kept(session, uri, 2) == {"ruff"}  # typing: the linter only
        (session.root / "hello.py").write_text(edited)
        session.client.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        async with asyncio.timeout(60):
            while await kept(session, uri, 2) != {"ruff", "basedpyright"}:  # noqa: ASYNC110 - the server holds the state
                await asyncio.sleep(0.1)
    finally:
        await stop_session(session)


async def test_the_background_checks_publish_only_when_asked(fake, tmp_path):
    config = tmp_path / "user-config.toml"
    config.write_text(toml(config_for(tmp_path, fake)))
    session = await start_session(
        tmp_path, config, initialization_options={"checks": {"publish": True}}
    )
    try:
        uri = session.open("hello.py", HELLO)
        await session.wait_for(lambda: uri in session.client.diagnostics, within=30)
        published = session.client.diagnostics[uri]
    finally:
        await stop_session(session)
    assert ("ruff", "F821") in {(d.source, d.code) for d in published}


# -- what checks leave in the workspace ----------------------------------------------------------


def recording_checker(record: Path, *, sleep_s: float = 0.0) -> list[str]:
    """A checker's command that appends what it was given and what its folder held, then
    (after `sleep_s`) reports nothing."""
    script = (
        "import json, os, sys, time; "
        f"open({str(record)!r}, 'a').write(json.dumps("
        "{'file': sys.argv[1], 'folder': sorted(os.listdir(os.path.dirname(sys.argv[1])))}"
        ") + '\\n'); "
        f"time.sleep({sleep_s})"
    )
    return [sys.executable, "-c", script, "{file}"]


async def test_a_saved_file_is_checked_in_place_and_unsaved_text_beside_it_for_the_run(tmp_path):
    from switchboard.checks import run_checker
    from switchboard.checks.registry import Checker

    root = project(tmp_path, {"hello.py": HELLO})
    record = tmp_path / "record.jsonl"
    checker = Checker("mine", tuple(recording_checker(record)), "file", "gcc", ("mine",), ())
    path = root / "hello.py"
    await run_checker(checker, path, HELLO, root=root, timeout_s=30)
    await run_checker(checker, path, HELLO_FIXED, root=root, timeout_s=30)
    saved, unsaved = (json.loads(line) for line in record.read_text().splitlines())
    assert saved["file"] == str(path)
    assert not [name for name in saved["folder"] if "switchboard-" in name]
    beside = Path(unsaved["file"])
    assert beside.parent == root and beside.name.startswith("hello.switchboard-")
    assert beside.name in unsaved["folder"]
    assert sorted(p.name for p in root.iterdir() if p.name != "node_modules") == ["hello.py"]
    assert path.read_text() == HELLO


async def test_a_server_stopped_mid_check_leaves_nothing_beside_the_users_file(fake, tmp_path):
    """Editors stop their server with SIGTERM when they close; the temporary file of a check
    of unsaved text goes with it."""
    record = tmp_path / "record.jsonl"
    checkers = {
        "slow": {"command": recording_checker(record, sleep_s=60), "format": "gcc",
                 "input": "file", "languages": ["python"]},
    }  # fmt: skip
    config = tmp_path / "user-config.toml"
    config.write_text(toml(config_for(tmp_path, fake, checkers=checkers)))
    session = await start_session(tmp_path, config)
    try:
        uri = session.open("hello.py", HELLO)
        session.change(uri, 2, types.TextDocumentContentChangeWholeDocument(text=HELLO_FIXED))
        await session.wait_for(
            lambda: record.exists() and "switchboard-" in record.read_text(), within=30
        )
        staged = [Path(json.loads(line)["file"]) for line in record.read_text().splitlines()]
        assert any(p.exists() and p.name.startswith("hello.switchboard-") for p in staged)
        process = session.client._server
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 10)
    finally:
        with contextlib.suppress(Exception):
            await stop_session(session)
    assert process.returncode == -signal.SIGTERM  # still ended by the signal, as before
    assert not [p.name for p in session.root.iterdir() if "switchboard-" in p.name]
    assert (session.root / "hello.py").read_text() == HELLO


def flagging_checker(record: Path, *, sleep_s: float = 0.0) -> list[str]:
    """A gcc-format checker that reports F821 on line 2 while the file says `+ nam)`, and
    appends each run (the text it was given; "done" once it finishes) to `record`."""
    script = (
        "import sys, time; text = open(sys.argv[1]).read(); "
        f"log = open({str(record)!r}, 'a'); log.write(repr(text) + '\\n'); log.flush(); "
        f"time.sleep({sleep_s}); log.write('done\\n'); "
        "'+ nam)' in text and print(sys.argv[1] + ':2:5: error: undefined name nam [F821]')"
    )
    return [sys.executable, "-c", script, "{file}"]


def runs_of(record: Path) -> list[str]:
    return [line for line in record.read_text().splitlines() if line != "done"]


def test_cli_fix_checks_the_original_once(fake, tmp_path):
    """Finding the diagnostic and verifying the fix against the original share one run."""
    root = project(tmp_path, {"hello.py": HELLO})
    record = tmp_path / "record.txt"
    checkers = {"mine": {"command": flagging_checker(record), "format": "gcc", "input": "file"}}
    (tmp_path / "config.toml").write_text(toml(config_for(tmp_path, fake, checkers=checkers)))
    fake.default("fast", Reply(CLEARS_IT))
    done = subprocess.run(
        [sys.executable, "-m", "switchboard", "fix", "hello.py", "--line", "2", "--source", "mine",
         "--apply"],
        capture_output=True, text=True, cwd=root, timeout=60,
        env={**os.environ, "SWITCHBOARD_CONFIG": str(tmp_path / "config.toml")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "verified by mine" in done.stderr
    assert (root / "hello.py").read_text() == HELLO_FIXED
    assert runs_of(record) == [repr(HELLO), repr(HELLO_FIXED)]


async def test_checks_of_one_text_share_a_run_which_stops_when_nobody_waits(tmp_path):
    from switchboard.checks import run_checker
    from switchboard.checks.registry import Checker

    root = project(tmp_path, {"hello.py": HELLO})
    path = root / "hello.py"
    record = tmp_path / "record.txt"
    slow = Checker(
        "slow", tuple(flagging_checker(record, sleep_s=1.0)), "file", "gcc", ("slow",), ()
    )

    def check(text: str):
        return run_checker(slow, path, text, root=root, timeout_s=30)

    first, second = await asyncio.gather(check(HELLO), check(HELLO))
    assert first == second and [d.code for d in first] == ["F821"]
    assert runs_of(record) == [repr(HELLO)]  # one process for both
    assert await check(HELLO) == first  # just checked: the verdict is reused
    assert runs_of(record) == [repr(HELLO)]

    record.write_text("")
    waiting = [asyncio.ensure_future(check(HELLO_FIXED)) for _ in range(2)]
    while not record.read_text():  # noqa: ASYNC110 - the checker writes it
        await asyncio.sleep(0.02)
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    await asyncio.sleep(1.5)  # past the checker's sleep: it would have finished by now
    assert record.read_text().splitlines() == [repr(HELLO_FIXED)]  # stopped, never "done"
    assert not [p.name for p in root.iterdir() if "switchboard-" in p.name]
