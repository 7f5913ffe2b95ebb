"""Every answer shape of the corpus (tests/answer_shapes.py), end to end, streamed and not.

Through the engine, the command line and the language server (code action resolve, review
diagnostics and their quick fixes, hover), each shape must give exactly the expected file text,
findings or explanation, answered by the first model when the shape is usable and by the next
one, cleanly, when it is not. No shape may corrupt a file, show reasoning, or publish a finding
the model retracted.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from switchboard.config import config_from_mapping
from switchboard.engine import Engine
from switchboard.gateway import Gateway
from switchboard.tasks import Source
from tests.answer_shapes import (
    EXPLAIN_FALLBACK,
    EXPLAIN_SHAPES,
    FILES,
    FIX_SHAPES,
    REVIEW_FALLBACK,
    REVIEW_SHAPES,
    TARGETS,
    ExplainShape,
    FixShape,
    ReviewShape,
    tally,
)
from tests.fake_provider import FakeProvider, Reply
from tests.lsp_support import apply_text_edits, edits_of, start_session, stop_session
from tests.support import config_dict, switchboard, toml

# Not in the inner loop (`pytest -m "not slow"`): every answer shape, through the engine, the
# CLI and the language server, streamed and not.
pytestmark = pytest.mark.slow

MODES = ("plain", "streamed")
ROOT = Path(__file__).resolve().parent.parent
LANGUAGE = {"py": "python", "js": "javascript", "go": "go"}


def shape_config(tmp_path: Path, fake: FakeProvider, mode: str) -> dict[str, Any]:
    """fast and strong answer first; backup is the next model on every route. No cache: each
    shape must reach the models."""
    stream = mode == "streamed"
    models = {
        alias: {"provider": provider, "stream": stream}
        for alias, provider in (("fast", "p"), ("strong", "p"), ("backup", "q"))
    }
    routes = {
        "fix": ["fast", "backup"],
        "explain": ["fast", "backup"],
        "review": ["strong", "backup"],
    }
    raw = config_dict(
        tmp_path,
        {"p": fake.base_url, "q": fake.base_url},
        models,
        routes,
        tasks={"explain": {"hedge": False}},
    )
    raw["cache"] = {"enabled": False}
    return raw


def reply(shape: FixShape | ReviewShape | ExplainShape, mode: str) -> Reply:
    streamed = mode == "streamed"
    return Reply(
        shape.content,
        reasoning=shape.reasoning,
        reasoning_field=getattr(shape, "reasoning_field", "reasoning_content"),
        piece_chars=(getattr(shape, "piece_chars", None) or 3) if streamed else None,
        write_bytes=getattr(shape, "write_bytes", None) if streamed else None,
    )


def first_model(task: str) -> str:
    return "strong" if task == "review" else "fast"


def expected_attempts(shape: Any, task: str) -> list[tuple[str, str]]:
    first = first_model(task)
    if shape.used:
        return [(first, "ok")]
    return [(first, "invalid"), ("backup", "ok")]


def script(fake: FakeProvider, shape: Any, mode: str, task: str, fallback: str) -> None:
    fake.script(first_model(task), reply(shape, mode))
    fake.default("backup", Reply(fallback))


def attempts_of(answer: Any) -> list[tuple[str, str]]:
    """(model, outcome) of each attempt, from an Answer or from `--json`'s `attempts`."""
    if isinstance(answer, list):
        return [(a["model"], a["outcome"]) for a in answer]
    return [(a.model, a.outcome.value) for a in answer.attempts]


@pytest.fixture(autouse=True)
def every_body_follows_the_openai_schema(fake):
    yield
    bad = [(r.model, r.schema_errors) for r in fake.requests if r.schema_errors]
    assert not bad, f"request bodies outside CreateChatCompletionRequest: {bad}"


# -- the engine (the path both the CLI and the server take) ------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", FIX_SHAPES, ids=lambda shape: shape.name)
async def test_fix_shape_through_the_engine(shape, mode, fake, tmp_path):
    target = TARGETS[shape.target]
    script(fake, shape, mode, "fix", target.fallback)
    config = config_from_mapping(shape_config(tmp_path, fake, mode), environ={}, source="t")
    engine = Engine(config, Gateway.create(config, environ={}))
    try:
        source = Source(FILES[target.file], str(tmp_path / target.file))
        answer = await engine.fix(source, target.line - 1, target.end_line - 1, target.message)
    finally:
        await engine.aclose()
    assert answer.value.replacement.new_text() == target.fixed
    assert attempts_of(answer) == expected_attempts(shape, "fix")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", REVIEW_SHAPES, ids=lambda shape: shape.name)
async def test_review_shape_through_the_engine(shape, mode, fake, tmp_path):
    script(fake, shape, mode, "review", REVIEW_FALLBACK)
    config = config_from_mapping(shape_config(tmp_path, fake, mode), environ={}, source="t")
    engine = Engine(config, Gateway.create(config, environ={}))
    try:
        answer = await engine.review(Source(FILES[shape.file], str(tmp_path / shape.file)))
    finally:
        await engine.aclose()
    got = [
        (f.line + 1, f.end_line + 1, f.severity, f.message, f.fix.new_text() if f.fix else None)
        for f in answer.value.findings
    ]
    assert got == [(f.line, f.end_line, f.severity, f.message, f.fixed) for f in shape.expected]
    assert attempts_of(answer) == expected_attempts(shape, "review")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", EXPLAIN_SHAPES, ids=lambda shape: shape.name)
async def test_explain_shape_through_the_engine(shape, mode, fake, tmp_path):
    script(fake, shape, mode, "explain", EXPLAIN_FALLBACK)
    config = config_from_mapping(shape_config(tmp_path, fake, mode), environ={}, source="t")
    engine = Engine(config, Gateway.create(config, environ={}))
    try:
        answer = await engine.explain(Source(FILES["calc.py"], str(tmp_path / "calc.py")), 0, 5)
    finally:
        await engine.aclose()
    assert answer.value.markdown == shape.expected
    assert attempts_of(answer) == expected_attempts(shape, "explain")


# -- the command line --------------------------------------------------------------------------


def run_cli(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return switchboard(*args, cwd=workdir, env={"SWITCHBOARD_CONFIG": str(workdir / "config.toml")})


def cli_workdir(tmp_path: Path, fake: FakeProvider, mode: str, name: str, text: str) -> Path:
    (tmp_path / "config.toml").write_text(toml(shape_config(tmp_path, fake, mode)))
    (tmp_path / name).write_bytes(text.encode())
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", FIX_SHAPES, ids=lambda shape: shape.name)
def test_fix_shape_through_the_cli(shape, mode, fake, tmp_path):
    target = TARGETS[shape.target]
    script(fake, shape, mode, "fix", target.fallback)
    workdir = cli_workdir(tmp_path, fake, mode, target.file, FILES[target.file])
    result = run_cli(
        workdir,
        "fix", target.file,
        "--line", str(target.line), "--end-line", str(target.end_line),
        "--message", target.message, "--apply", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (workdir / target.file).read_bytes().decode() == target.fixed
    output = json.loads(result.stdout)
    assert attempts_of(output["attempts"]) == expected_attempts(shape, "fix")
    assert output["applied"] is True


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", REVIEW_SHAPES, ids=lambda shape: shape.name)
def test_review_shape_through_the_cli(shape, mode, fake, tmp_path):
    script(fake, shape, mode, "review", REVIEW_FALLBACK)
    workdir = cli_workdir(tmp_path, fake, mode, shape.file, FILES[shape.file])
    result = run_cli(workdir, "review", shape.file, "--json")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    got = [
        (f["line"], f["end_line"], f["severity"], f["message"], f["diff"] is not None)
        for f in output["findings"]
    ]
    assert got == [
        (f.line, f.end_line, f.severity, f.message, f.fixed is not None) for f in shape.expected
    ]
    assert attempts_of(output["attempts"]) == expected_attempts(shape, "review")


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", EXPLAIN_SHAPES, ids=lambda shape: shape.name)
def test_explain_shape_through_the_cli(shape, mode, fake, tmp_path):
    script(fake, shape, mode, "explain", EXPLAIN_FALLBACK)
    workdir = cli_workdir(tmp_path, fake, mode, "calc.py", FILES["calc.py"])
    result = run_cli(workdir, "explain", "calc.py", "--line", "1", "--json")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["text"] == shape.expected
    assert attempts_of(output["attempts"]) == expected_attempts(shape, "explain")


# -- the language server -----------------------------------------------------------------------


async def shape_session(tmp_path: Path, fake: FakeProvider, mode: str):
    config = tmp_path / "user-config.toml"
    config.write_text(toml(shape_config(tmp_path, fake, mode)))
    return await start_session(tmp_path, config, configuration={"hover": {"delayMs": 0}})


def diagnostic_for(line: int, end_line: int, message: str) -> types.Diagnostic:
    return types.Diagnostic(
        range=types.Range(
            start=types.Position(line=line - 1, character=0),
            end=types.Position(line=end_line - 1, character=200),
        ),
        message=message,
        source="linter",
    )


@pytest.mark.parametrize("mode", MODES)
async def test_every_fix_shape_through_the_language_server(mode, fake, tmp_path):
    session = await shape_session(tmp_path, fake, mode)
    wrong = []
    try:
        for shape in FIX_SHAPES:
            target = TARGETS[shape.target]
            script(fake, shape, mode, "fix", target.fallback)
            text = FILES[target.file]
            language = LANGUAGE[target.file.rsplit(".")[-1]]
            uri = session.open(f"{shape.name}/{target.file}", text, language)
            diagnostic = diagnostic_for(target.line, target.end_line, target.message)
            fix = await session.quick_fix(uri, diagnostic)
            resolved = await session.client.code_action_resolve_async(fix)
            _, edits = edits_of(resolved.edit, uri) if resolved.edit else (None, [])
            result = apply_text_edits(text, edits)
            served = session.status[-1].get("model")
            fell_back = session.status[-1].get("state") == "fellBack"
            expected = ("fast", False) if shape.used else ("backup", True)
            if result != target.fixed or (served, fell_back) != expected:
                wrong.append((shape.name, result, served, fell_back))
    finally:
        await stop_session(session)
    assert wrong == []


@pytest.mark.parametrize("mode", MODES)
async def test_every_review_shape_through_the_language_server(mode, fake, tmp_path):
    session = await shape_session(tmp_path, fake, mode)
    wrong = []
    try:
        for shape in REVIEW_SHAPES:
            script(fake, shape, mode, "review", REVIEW_FALLBACK)
            text = FILES[shape.file]
            uri = session.open(f"{shape.name}/{shape.file}", text)
            result = await session.command("switchboard.review", uri)
            await session.wait_for(lambda uri=uri: uri in session.client.diagnostics)
            got = []
            for diagnostic in session.client.diagnostics[uri]:
                actions = await session.code_actions(uri, diagnostic.range, [diagnostic])
                suggestion = [a for a in actions if a.title.startswith("Apply AI suggestion")]
                fixed = None
                if suggestion:
                    _, edits = edits_of(suggestion[0].edit, uri)
                    fixed = apply_text_edits(text, edits)
                got.append(
                    (
                        diagnostic.range.start.line + 1,
                        diagnostic.range.end.line + 1,
                        SEVERITY[diagnostic.severity],
                        diagnostic.message,
                        fixed,
                    )
                )
            expected = [
                (f.line, f.end_line, f.severity, f.message, f.fixed) for f in shape.expected
            ]
            attempts = [(a["model"], a["outcome"]) for a in result["attempts"]]
            if got != expected or attempts != expected_attempts(shape, "review"):
                wrong.append((shape.name, got, attempts))
    finally:
        await stop_session(session)
    assert wrong == []


SEVERITY = {
    types.DiagnosticSeverity.Error: "error",
    types.DiagnosticSeverity.Warning: "warning",
    types.DiagnosticSeverity.Information: "info",
    types.DiagnosticSeverity.Hint: "hint",
}


@pytest.mark.parametrize("mode", MODES)
async def test_every_explain_shape_through_hover(mode, fake, tmp_path):
    session = await shape_session(tmp_path, fake, mode)
    wrong = []
    try:
        for shape in EXPLAIN_SHAPES:
            script(fake, shape, mode, "explain", EXPLAIN_FALLBACK)
            uri = session.open(f"{shape.name}/calc.py", FILES["calc.py"])
            hover = await session.hover(uri, 0, 5)
            text, _, footer = hover.contents.value.partition("\n\n---\n")
            who = "fast (p)" if shape.used else "backup (q)"
            if text != shape.expected or f"switchboard · {who}" not in footer:
                wrong.append((shape.name, hover.contents.value))
    finally:
        await stop_session(session)
    assert wrong == []


# -- the README's table ------------------------------------------------------------------------


def test_the_readme_counts_the_corpus():
    """README's table of answer shapes is this corpus's tally: corrupted is 0 by these tests."""
    readme = (ROOT / "README.md").read_text()
    for category, (understood, refused) in tally().items():
        row = re.compile(
            rf"^\| {re.escape(category)}( \([^)]*\))? \| {understood} \| {refused} \| 0 \|$", re.M
        )
        assert row.search(readme), f"README lacks the row for {category}: {understood}, {refused}"
