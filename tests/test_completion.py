"""Inline completion: the `complete` task through the gateway (FIM and chat) and the editor.

Every provider here is the fake one on loopback; nothing of ours is mocked.
"""

from __future__ import annotations

import asyncio
import copy
import time
from pathlib import Path

import attrs
import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from pytest_lsp import client_capabilities

from switchboard.gateway import CacheState
from switchboard.tasks import Source
from switchboard.tasks.complete import clean_suggestion, completion_context
from switchboard.tasks.privacy import Redactor
from tests.completion_shapes import COLUMN, DOC, LINE
from tests.fake_provider import (
    FakeProvider,
    Hang,
    RateLimited,
    Reply,
    validate_completions_request,
)
from tests.lsp_support import write_config
from tests.support import assert_stats_report, make_config

# A cursor in the middle of a function: after `total = ` on line 3 (0-based), as in the corpus.
FUNC = DOC
CURSOR = (LINE, COLUMN)


def _config(tmp_path: Path, fake: FakeProvider, *, fim: bool = True, route=("fast", "backup")):
    models = {
        "fast": {"provider": "p", "fim": fim},
        "backup": {"provider": "q"},
    }
    return make_config(
        tmp_path,
        {"p": fake.base_url, "q": fake.base_url},
        models,
        {"complete": list(route)},
        tasks={"complete": {"hedge": False}},
    )


def _context(text: str, line: int, character: int):
    return completion_context(Source(text), line, character, 40, 15, Redactor(enabled=False))


async def test_fim_body_validates_and_suggests_mid_function(tmp_path, fake, engines) -> None:
    fake.script("fast", Reply("sum(values)"))
    engine = engines(_config(tmp_path, fake))
    answer = await engine.ask(engine.complete_ask(Source(FUNC, "m.py"), *CURSOR))
    assert answer.value.text == "sum(values)"
    [request] = fake.requests
    assert request.path.endswith("/v1/completions")
    assert request.schema_errors == ()
    assert validate_completions_request(request.json) == ()
    assert request.json["prompt"].endswith("    total = ")
    assert request.json["suffix"].startswith("\n    return total / len(values)")
    assert request.json["max_tokens"] == 64


async def test_fim_stream_is_read(tmp_path, fake, engines) -> None:
    fake.script("fast", Reply("sum(values)"))
    config = _config(tmp_path, fake)
    models = dict(config.models)
    models["fast"] = attrs.evolve(models["fast"], stream=True)
    engine = engines(attrs.evolve(config, models=models))
    answer = await engine.ask(engine.complete_ask(Source(FUNC, "m.py"), *CURSOR))
    assert answer.value.text == "sum(values)"
    [request] = fake.requests
    assert request.stream and request.schema_errors == ()


async def test_fallback_to_chat_model_on_429(tmp_path, fake, engines) -> None:
    fake.script("fast", RateLimited(retry_after=5))
    fake.script("backup", Reply("```python\nsum(values)\n```"))
    engine = engines(_config(tmp_path, fake))
    answer = await engine.ask(engine.complete_ask(Source(FUNC, "m.py"), *CURSOR))
    assert answer.model == "backup"
    assert answer.value.text == "sum(values)"
    fim, chat = fake.requests
    assert fim.path.endswith("/v1/completions") and chat.path.endswith("/chat/completions")
    assert chat.schema_errors == ()
    assert "<CURSOR>" in chat.prompt_text


@pytest.mark.parametrize("hedge", [True, False], ids=["hedged (default)", "not hedged"])
async def test_a_hanging_fast_model_falls_back_within_the_default_deadline(
    hedge, tmp_path, fake, engines
) -> None:
    """No timeout configured: the `complete` task's own deadline (1.5 s) and attempt share (half
    the time left while another model remains) bound the hang, or the hedge outruns it."""
    fake.script("fast", Hang())
    fake.default("backup", Reply("sum(values)"))
    config = make_config(
        tmp_path,
        {"p": fake.base_url, "q": fake.base_url},
        {"fast": {"provider": "p", "fim": True}, "backup": {"provider": "q"}},
        {"complete": ["fast", "backup"]},
        **({} if hedge else {"tasks": {"complete": {"hedge": False}}}),
    )
    assert config.task("complete").deadline_s == 1.5 and config.task("complete").hedge is hedge
    engine = engines(config)
    started = time.monotonic()
    answer = await engine.ask(engine.complete_ask(Source(FUNC, "m.py"), *CURSOR))
    elapsed = time.monotonic() - started
    assert (answer.model, answer.value.text) == ("backup", "sum(values)")
    assert elapsed < 1.5
    hung = fake.requests_for("fast")[0]
    assert await asyncio.to_thread(hung.wait_client_disconnected, 5.0)


async def test_cache_is_keyed_on_the_window(tmp_path, fake, engines) -> None:
    fake.default("fast", Reply("sum(values)"))
    engine = engines(_config(tmp_path, fake))
    first = await engine.ask(engine.complete_ask(Source(FUNC, "m.py"), *CURSOR))
    again = await engine.ask(engine.complete_ask(Source(FUNC, "m.py"), *CURSOR))
    assert (first.cache, again.cache) == (CacheState.MISS, CacheState.FRESH)
    # A change far outside the window (lines 40+ away) does not change the question.
    far = FUNC + "\n" * 60 + "x = 1\n"
    third = await engine.ask(engine.complete_ask(Source(far, "m.py"), *CURSOR))
    assert third.cache is CacheState.FRESH
    assert len(fake.requests) == 1


async def test_reasoning_and_fences_stripped(tmp_path, fake, engines) -> None:
    fake.script("fast", Reply("sum(values)", reasoning="the total is a sum"))
    fake.script(
        "backup", Reply("<think>hmm</think>Here is the completion:\n```python\nsum(values)\n```")
    )
    engine = engines(_config(tmp_path, fake))
    source = Source(FUNC, "m.py")
    answer = await engine.ask(engine.complete_ask(source, *CURSOR))
    assert answer.value.text == "sum(values)"
    engine2 = engines(_config(tmp_path / "b", fake, route=("backup",)))
    answer = await engine2.ask(engine2.complete_ask(source, *CURSOR))
    assert answer.value.text == "sum(values)"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # The model wrote the rest of the function again: only the new part stays.
        ("sum(values)\n    return total / len(values)", "sum(values)"),
        # The current line repeated in front.
        ("    total = sum(values)", "sum(values)"),
        # Past the end of the block: the next top-level statement is cut.
        ("sum(values)\n\nprint('done')", "sum(values)"),
    ],
)
def test_cleaning(answer: str, expected: str) -> None:
    assert clean_suggestion(answer, _context(FUNC, *CURSOR)) == expected


def test_indentation_fits_the_line() -> None:
    text = "def f(xs):\n    \n    return 1\n"
    context = _context(text, 1, 4)  # the cursor in the body's indentation
    # The model repeated the indentation: only what follows it is inserted.
    assert clean_suggestion("    for x in xs:\n        print(x)", context) == (
        "for x in xs:\n        print(x)"
    )
    # The model wrote the block at column 0: its later lines move to the body's indentation.
    assert clean_suggestion("for x in xs:\n    print(x)", context) == (
        "for x in xs:\n        print(x)"
    )


def test_the_space_already_typed_is_not_doubled() -> None:
    assert clean_suggestion("total = sum(values)", _context(FUNC, *CURSOR)) == "sum(values)"
    assert clean_suggestion(" sum(values)", _context(FUNC, *CURSOR)) == "sum(values)"


def test_suffix_overlap_within_the_line() -> None:
    context = _context("print(mean())\n", 0, len("print(mean("))
    assert clean_suggestion("[1, 2]))", context) == "[1, 2]"


# --- the editor: textDocument/inlineCompletion and completion items over stdio ---------------


def _inline_capabilities() -> types.ClientCapabilities:
    capabilities = copy.deepcopy(client_capabilities("visual-studio-code"))
    assert capabilities.text_document is not None
    capabilities.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    return capabilities


@pytest.fixture
def start(tmp_path, fake, lsp):
    """start(**options) -> a session whose `complete` route is fast (FIM) then backup (chat)."""

    async def launch(settings=None, **options):
        config = write_config(
            tmp_path,
            fake.base_url,
            models={"fast": {"provider": "p", "fim": True}, "backup": {"provider": "q"}},
            routes={
                "fix": ["fast", "backup"],
                "explain": ["fast"],
                "review": ["fast"],
                "complete": ["fast", "backup"],
            },
            tasks={"complete": {"hedge": False}, "explain": {"hedge": False}},
        )
        options.setdefault("capabilities", _inline_capabilities())
        settings = {"completion": {"debounceMs": 0, **(settings or {})}}
        return await lsp(config, configuration=settings, initialization_options=settings)

    return launch


def _inline_params(uri: str, line: int, character: int) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Automatic
        ),
    )


async def _inline(session, uri: str, line: int, character: int) -> list[str]:
    result = await session.client.text_document_inline_completion_async(
        _inline_params(uri, line, character)
    )
    items = result.items if isinstance(result, types.InlineCompletionList) else result or []
    return [item.insert_text for item in items]


@pytest.mark.slow  # two servers
async def test_capabilities_follow_the_client(tmp_path, fake, lsp) -> None:
    config = write_config(tmp_path, fake.base_url)
    inline = await lsp(config, capabilities=_inline_capabilities())
    assert inline.result.capabilities.inline_completion_provider is not None
    assert inline.result.capabilities.completion_provider is None
    plain = await lsp(config, client="neovim")
    assert plain.result.capabilities.inline_completion_provider is None
    assert plain.result.capabilities.completion_provider is not None


async def test_inline_suggestion_mid_function_and_acceptance_in_stats(start, fake) -> None:
    fake.script("fast", Reply("sum(values)"))
    session = await start()
    uri = session.open("m.py", FUNC)
    result = await session.client.text_document_inline_completion_async(
        _inline_params(uri, *CURSOR)
    )
    [item] = result.items
    assert item.insert_text == "sum(values)"
    assert item.range == types.Range(start=types.Position(*CURSOR), end=types.Position(*CURSOR))
    [request] = fake.requests
    assert request.path.endswith("/v1/completions") and request.schema_errors == ()
    assert item.command is not None and item.command.command == "switchboard.acceptCompletion"
    await session.command(item.command.command, *(item.command.arguments or []))
    stats = await session.command("switchboard.stats")
    assert_stats_report(stats)
    [row] = [row for row in stats["models"] if row["model"] == "fast"]
    suggestions = row["suggestions"]
    assert (suggestions["shown"], suggestions["accepted"]) == (1, 1)
    assert suggestions["acceptance_rate"] == 1.0
    assert suggestions["p50_ms"] is not None and suggestions["p95_ms"] is not None


async def test_typed_ahead_reuse_needs_no_model(start, fake) -> None:
    fake.script("fast", Reply("sum(values)"))
    session = await start()
    uri = session.open("m.py", FUNC)
    assert await _inline(session, uri, *CURSOR) == ["sum(values)"]
    line, character = CURSOR
    typed = FUNC.replace("    total = \n", "    total = sum(\n")
    session.change(uri, 2, types.TextDocumentContentChangeWholeDocument(text=typed))
    assert await _inline(session, uri, line, character + len("sum(")) == ["values)"]
    # Back over what was typed: the first suggestion is still known, with no model call.
    session.change(uri, 3, types.TextDocumentContentChangeWholeDocument(text=FUNC))
    session.change(
        uri, 4, types.TextDocumentContentChangeWholeDocument(text=typed.replace("sum(", "s"))
    )
    assert await _inline(session, uri, line, character + 1) == ["um(values)"]
    assert len(fake.requests) == 1


async def test_typed_ahead_leaves_out_the_bracket_the_editor_closed(start, fake) -> None:
    # VS Code closes a bracket as it is typed: `sum(` leaves `)` after the cursor, and the
    # rest of `sum(values)` is `values`, not `values)`.
    fake.script("fast", Reply("sum(values)"))
    session = await start()
    uri = session.open("m.py", FUNC)
    assert await _inline(session, uri, *CURSOR) == ["sum(values)"]
    line, character = CURSOR
    closed = FUNC.replace("    total = \n", "    total = sum()\n")
    session.change(uri, 2, types.TextDocumentContentChangeWholeDocument(text=closed))
    assert await _inline(session, uri, line, character + len("sum(")) == ["values"]
    typed = closed.replace("sum()", "sum(val)")
    session.change(uri, 3, types.TextDocumentContentChangeWholeDocument(text=typed))
    assert await _inline(session, uri, line, character + len("sum(val")) == ["ues"]
    assert len(fake.requests) == 1


async def test_typed_ahead_follows_a_suggestion_onto_the_next_line(start, fake) -> None:
    # Enter along a two-line suggestion: the editor indents the new line, and the rest of the
    # suggestion is the second line, with no model call.
    text = "def mean(values):\n    total = sum(values)\n\n\nprint(mean([1, 2]))\n"
    fake.script("fast", Reply("\n    return total / len(values)"))
    session = await start()
    uri = session.open("m.py", text)
    end = len("    total = sum(values)")
    assert await _inline(session, uri, 1, end) == ["\n    return total / len(values)"]
    entered = text.replace("sum(values)\n", "sum(values)\n    \n", 1)
    session.change(uri, 2, types.TextDocumentContentChangeWholeDocument(text=entered))
    assert await _inline(session, uri, 2, 4) == ["return total / len(values)"]
    typed = entered.replace("\n    \n", "\n    return \n", 1)
    session.change(uri, 3, types.TextDocumentContentChangeWholeDocument(text=typed))
    assert await _inline(session, uri, 2, len("    return ")) == ["total / len(values)"]
    assert len(fake.requests) == 1


async def test_a_newer_request_cancels_the_older_and_its_provider_call(start, fake) -> None:
    fake.script("fast", Hang(), Reply("len(values)"))
    session = await start()
    uri = session.open("m.py", FUNC)
    protocol = session.client.protocol
    older = protocol.send_request(
        types.TEXT_DOCUMENT_INLINE_COMPLETION, _inline_params(uri, *CURSOR), msg_id="older"
    )
    [hung] = await asyncio.to_thread(fake.wait_for_requests, 1)
    # The user rewrote what was before the cursor: the older suggestion can be of no use.
    newer = FUNC.replace("    total = \n", "    count = \n")
    session.change(uri, 2, types.TextDocumentContentChangeWholeDocument(text=newer))
    texts = await _inline(session, uri, *CURSOR)
    assert await asyncio.to_thread(hung.wait_client_disconnected, 5.0)
    assert texts == ["len(values)"]
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wait_for(asyncio.wrap_future(older), 5)
    assert [r.model for r in fake.requests] == ["fast", "fast"]


async def test_typing_on_while_the_model_answers_waits_for_that_answer(start, fake) -> None:
    """Each key cancels the editor's older request; asking the model anew each time would
    leave nothing to show while typing faster than it answers."""
    fake.script("fast", Reply("sum(values)", delay=0.5))
    session = await start()
    uri = session.open("m.py", FUNC)
    older = session.client.protocol.send_request(
        types.TEXT_DOCUMENT_INLINE_COMPLETION, _inline_params(uri, *CURSOR), msg_id="older"
    )
    await asyncio.to_thread(fake.wait_for_requests, 1)
    typed = FUNC.replace("    total = \n", "    total = s\n")
    session.change(uri, 2, types.TextDocumentContentChangeWholeDocument(text=typed))
    assert await _inline(session, uri, CURSOR[0], CURSOR[1] + 1) == ["um(values)"]
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wait_for(asyncio.wrap_future(older), 5)
    assert len(fake.requests) == 1
    stats = await session.command("switchboard.stats")
    [row] = [row for row in stats["models"] if row["model"] == "fast"]
    assert row["suggestions"]["shown"] == 1  # the one the editor got
    assert row["suggestions"]["p50_ms"] >= 400  # the model's time, from when it was asked


async def test_a_request_typed_over_during_the_debounce_costs_nothing(start, fake) -> None:
    fake.default("fast", Reply("len(values)"))
    session = await start({"debounceMs": 400})
    uri = session.open("m.py", FUNC)
    older = session.client.protocol.send_request(
        types.TEXT_DOCUMENT_INLINE_COMPLETION, _inline_params(uri, *CURSOR), msg_id="older"
    )
    await asyncio.sleep(0.1)  # inside the older request's debounce
    newer = FUNC.replace("    total = \n", "    total = s\n")
    session.change(uri, 2, types.TextDocumentContentChangeWholeDocument(text=newer))
    assert await _inline(session, uri, CURSOR[0], CURSOR[1] + 1) == ["len(values)"]
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wait_for(asyncio.wrap_future(older), 5)
    assert len(fake.requests) == 1  # only the newer one reached a model


async def test_past_the_per_minute_cap_only_the_cache_answers(start, fake) -> None:
    fake.default("fast", Reply("sum(values)"))
    session = await start({"maxPerMinute": 1})
    uri = session.open("m.py", FUNC)
    assert await _inline(session, uri, *CURSOR) == ["sum(values)"]
    other = FUNC.replace("    total = \n", "    total = 0\n    count = \n")
    session.change(uri, 2, types.TextDocumentContentChangeWholeDocument(text=other))
    assert await _inline(session, uri, 4, len("    count = ")) == []
    assert len(fake.requests) == 1


async def test_fallback_when_the_fast_model_is_rate_limited(start, fake) -> None:
    fake.script("fast", RateLimited(retry_after=5))
    fake.script("backup", Reply("```python\nsum(values)\n    return total / len(values)\n```"))
    session = await start()
    uri = session.open("m.py", FUNC)
    assert await _inline(session, uri, *CURSOR) == ["sum(values)"]
    fim, chat = fake.requests
    assert fim.path == "/v1/completions" and chat.path == "/v1/chat/completions"


async def test_completion_items_for_a_client_without_inline_completion(tmp_path, fake, lsp):
    fake.script("fast", Reply("<think>a sum</think>sum(values)"))
    config = write_config(
        tmp_path,
        fake.base_url,
        routes={"fix": ["fast"], "explain": ["fast"], "review": ["fast"], "complete": ["fast"]},
        tasks={"complete": {"hedge": False}},
    )
    settings = {"completion": {"debounceMs": 0}}
    session = await lsp(config, client="neovim", configuration=settings)
    uri = session.open("m.py", FUNC)
    result = await session.client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(*CURSOR)
        )
    )
    assert isinstance(result, types.CompletionList)
    [item] = result.items
    assert item.text_edit is not None and item.text_edit.new_text == "sum(values)"
    assert item.command is not None and list(item.command.arguments or []) == ["fast"]


async def test_completion_can_be_switched_off(start, fake) -> None:
    session = await start({"enabled": False})
    uri = session.open("m.py", FUNC)
    assert await _inline(session, uri, *CURSOR) == []
    assert fake.requests == []


def test_a_workspace_may_turn_completion_down_never_up(tmp_path, fake) -> None:
    from switchboard.config.workspace import apply_overlay

    config = _config(tmp_path, fake)
    lower = {"max_output_tokens": 16, "deadline_s": 0.5}
    updated, warnings = apply_overlay(config, {"tasks": {"complete": lower}}, "ws")
    assert (updated.tasks.complete.max_output_tokens, updated.tasks.complete.deadline_s) == (
        16,
        0.5,
    )
    assert warnings == []
    higher = {"max_output_tokens": 4096, "context_lines": 400, "deadline_s": 30}
    updated, warnings = apply_overlay(config, {"tasks": {"complete": higher}}, "ws")
    assert updated.tasks.complete == config.tasks.complete
    assert len(warnings) == 1 and "may lower, not raise" in warnings[0]
