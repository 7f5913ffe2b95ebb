"""Every answer shape of tests/completion_shapes.py through the engine, the language server
(`textDocument/inlineCompletion`, the item applied as an editor does) and the command line
(`switchboard complete --apply`), each with the exact text that must result. A refused shape
is the first model's `invalid`, and the second model's suggestion lands instead.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import client_capabilities

from switchboard.config import config_from_mapping
from switchboard.tasks import Source
from tests.completion_shapes import FALLBACK, SHAPES, Shape, expected_text
from tests.fake_provider import Reply
from tests.lsp_support import apply_text_edits, write_config
from tests.support import config_dict, toml

IDS = [shape.name for shape in SHAPES]
MODELS = {"fast": {"provider": "p"}, "backup": {"provider": "q"}}


def _models(fim: bool) -> dict[str, dict[str, object]]:
    return {**MODELS, "fast": {"provider": "p", "fim": fim}}


ROUTES = {"fix": ["fast"], "explain": ["fast"], "review": ["fast"], "complete": ["fast", "backup"]}
TASKS = {"complete": {"hedge": False}, "explain": {"hedge": False}}


def _raw_config(tmp_path, fake, fim: bool) -> dict[str, object]:
    """`fast` (FIM or chat, as the shape needs) then `backup` on the `complete` route."""
    providers = {"p": fake.base_url, "q": fake.base_url}
    return config_dict(tmp_path, providers, _models(fim), ROUTES, tasks=TASKS)


def _outcomes(shape: Shape) -> list[tuple[str, str]]:
    if shape.expected is None:
        return [("fast", "invalid"), ("backup", "ok")]
    return [("fast", "ok")]


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
async def test_every_shape_through_the_engine(shape, tmp_path, fake, engines):
    fake.script("fast", shape.replies())
    fake.default("backup", Reply(FALLBACK))
    engine = engines(
        config_from_mapping(_raw_config(tmp_path, fake, shape.fim), environ={}, source="t")
    )
    at = shape.at
    source = Source(at.doc, str(tmp_path / "mean.py"))
    answer = await engine.ask(engine.complete_ask(source, at.line, at.column))
    assert answer.value.text == shape.inserted
    assert [(a.model, a.outcome.value) for a in answer.attempts] == _outcomes(shape)
    [first] = fake.requests_for("fast")
    assert first.path.endswith("/v1/completions" if shape.fim else "/v1/chat/completions")


def _inline_capabilities() -> types.ClientCapabilities:
    capabilities = copy.deepcopy(client_capabilities("visual-studio-code"))
    assert capabilities.text_document is not None
    capabilities.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    return capabilities


@pytest.mark.parametrize("fim", [False, True], ids=["chat", "fim"])
async def test_every_shape_through_the_language_server(fim, tmp_path, fake, lsp):
    """One server per kind of model; each shape in a document of its own (its own window, so
    no answer comes from the cache), the item applied where the editor would put it."""
    config = write_config(tmp_path, fake.base_url, models=_models(fim), routes=ROUTES, tasks=TASKS)
    settings = {"completion": {"debounceMs": 0}}
    session = await lsp(
        config,
        capabilities=_inline_capabilities(),
        configuration=settings,
        initialization_options=settings,
    )
    fake.default("backup", Reply(FALLBACK))
    wrong = []
    for number, shape in enumerate(s for s in SHAPES if s.fim == fim):
        header = f"# shape {number}: {shape.name}\n"
        at = shape.at
        uri = session.open(f"shape_{number}.py", header + at.doc)
        fake.script("fast", shape.replies())
        result = await session.client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=at.line + 1, character=at.column),
                context=types.InlineCompletionContext(
                    trigger_kind=types.InlineCompletionTriggerKind.Automatic
                ),
            )
        )
        items = result.items if isinstance(result, types.InlineCompletionList) else result or []
        if len(items) != 1:
            wrong.append(f"{shape.name}: {len(items)} items")
            continue
        [item] = items
        assert item.range is not None and isinstance(item.insert_text, str)
        text = apply_text_edits(header + at.doc, [types.TextEdit(item.range, item.insert_text)])
        if text != header + expected_text(shape):
            wrong.append(f"{shape.name} ({shape.family}): inserted {item.insert_text!r}")
    assert wrong == []


@pytest.mark.slow  # a process per shape
@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_every_shape_through_the_command_line(shape, tmp_path, fake):
    fake.script("fast", shape.replies())
    fake.default("backup", Reply(FALLBACK))
    (tmp_path / "config.toml").write_text(toml(_raw_config(tmp_path, fake, shape.fim)))
    path = tmp_path / "mean.py"
    at = shape.at
    path.write_text(at.doc)
    done = subprocess.run(
        [sys.executable, "-m", "switchboard", "complete", "mean.py", "--line", str(at.line + 1),
         "--column", str(at.column + 1), "--apply"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
        env={**os.environ, "SWITCHBOARD_CONFIG": str(tmp_path / "config.toml")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == shape.inserted + "\n"
    assert path.read_text() == expected_text(shape)
    assert f"answered by {'backup (q)' if shape.expected is None else 'fast (p)'}" in done.stderr


def test_the_readme_counts_the_corpus():
    readme = " ".join((Path(__file__).parent.parent / "README.md").read_text().split())
    refused = sum(shape.expected is None for shape in SHAPES)
    counts = f"holds {len(SHAPES)} such answers"
    assert counts in readme and f"({len(SHAPES) - refused} understood, {refused} refused" in readme


def test_the_corpus_covers_each_kind_of_answer():
    families = {shape.family.split("-")[0] for shape in SHAPES}
    assert {"gpt", "claude", "llama", "deepseek", "qwen3", "qwen2.5", "mistral"} <= families
    assert sum(shape.expected is None for shape in SHAPES) >= 6
    assert sum(shape.fim for shape in SHAPES) >= 6
