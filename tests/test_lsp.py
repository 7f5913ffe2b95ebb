"""`switchboard lsp` end to end over stdio, against the loopback fake provider."""

from __future__ import annotations

import asyncio
import copy
import re

import pytest
from lsprotocol import types
from pytest_lsp import client_capabilities

from tests.fake_provider import Hang, RateLimited, Reply, ServerError
from tests.lsp_support import (
    apply_text_edits,
    edits_of,
    start_session,
    stop_session,
    write_config,
)
from tests.support import CODE, FIXED, assert_stats_report


def rng(sl: int, sc: int, el: int, ec: int) -> types.Range:
    return types.Range(
        start=types.Position(line=sl, character=sc), end=types.Position(line=el, character=ec)
    )


def diagnostic(
    line: int, message: str = "wrong operator", source: str = "ruff"
) -> types.Diagnostic:
    return types.Diagnostic(range=rng(line, 4, line, 16), message=message, source=source)


@pytest.fixture
def start(tmp_path, fake, lsp):
    """start(**options) -> a Session with a server whose user config points at the fake."""

    async def launch(config_sections=None, **options):
        return await lsp(
            write_config(tmp_path, fake.base_url, **(config_sections or {})), **options
        )

    return launch


async def test_capabilities(start):
    session = await start()
    caps = session.result.capabilities
    assert caps.hover_provider
    assert caps.code_action_provider.resolve_provider is True
    assert set(caps.code_action_provider.code_action_kinds) == {
        "quickfix",
        "refactor.rewrite",
        "source",
    }
    assert {"switchboard.review", "switchboard.stats", "switchboard.clearCache"} <= set(
        caps.execute_command_provider.commands
    )
    assert caps.position_encoding == "utf-16"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        (["utf-8", "utf-16"], "utf-8"),
        (["utf-32", "utf-16"], "utf-16"),
        (["utf-16", "utf-8"], "utf-8"),
    ],
)
async def test_position_encoding_is_utf16_unless_utf8_is_offered(start, offered, chosen):
    caps = copy.deepcopy(client_capabilities("neovim"))
    caps.general = types.GeneralClientCapabilities(position_encodings=offered)
    session = await start(capabilities=caps)
    assert session.result.capabilities.position_encoding == chosen


@pytest.mark.slow
async def test_listing_is_instant_and_never_asks_a_model(start, fake):
    session = await start()
    text = "".join(f"value_{i} = {i} - 1\n" for i in range(10_000))
    uri = session.open("big.py", text)
    actions = await session.code_actions(
        uri, rng(5000, 0, 5000, 0), [diagnostic(5000, "E225 missing whitespace")]
    )
    titles = [a.title for a in actions]
    assert "Fix with AI: E225 missing whitespace" in titles
    assert "AI: Review file" in titles
    quickfix = next(a for a in actions if a.title.startswith("Fix with AI"))
    assert quickfix.kind == "quickfix" and quickfix.edit is None
    assert fake.requests == []


async def test_resolving_a_quick_fix_yields_a_versioned_minimal_edit(start, fake):
    fake.default("fast", Reply(FIXED))
    session = await start()
    uri = session.open("calc.py", CODE)
    fix = await session.quick_fix(uri, diagnostic(1))
    resolved = await session.client.code_action_resolve_async(fix)
    version, edits = edits_of(resolved.edit, uri)
    assert version == 1
    assert len(edits) == 1 and edits[0].range.start.line == 1
    assert apply_text_edits(CODE, edits) == CODE.replace("a - b", "a + b")
    assert "wrong operator" in fake.requests[0].prompt_text


async def test_a_fix_still_arrives_when_the_fast_model_is_rate_limited(start, fake):
    fake.default("fast", RateLimited(retry_after=30))
    fake.default("backup", Reply(FIXED))
    session = await start()
    uri = session.open("calc.py", CODE)
    fix = await session.quick_fix(uri, diagnostic(1))
    resolved = await session.client.code_action_resolve_async(fix)
    _, edits = edits_of(resolved.edit, uri)
    assert apply_text_edits(CODE, edits) == CODE.replace("a - b", "a + b")
    assert session.client.messages == []  # a fallback is not an outage
    await session.wait_for(lambda: any(s.get("state") == "fellBack" for s in session.status))


async def test_selection_and_custom_actions_resolve_to_edits(start, fake):
    fake.default(
        "fast",
        Reply('```python\ndef add(a, b):\n    """Add two numbers."""\n    return a - b\n```'),
    )
    session = await start(
        config_sections={
            "actions": {"types": {"title": "Add type hints", "prompt": "Add type hints."}}
        }
    )
    uri = session.open("calc.py", CODE)
    actions = await session.code_actions(uri, rng(0, 0, 2, 0))
    titles = {a.title: a for a in actions if a.kind == "refactor.rewrite"}
    assert set(titles) == {
        "Rewrite with AI: improve selection",
        "Add docstring with AI",
        "Add type hints",
    }
    resolved = await session.client.code_action_resolve_async(titles["Add docstring with AI"])
    _, edits = edits_of(resolved.edit, uri)
    assert '    """Add two numbers."""\n' in apply_text_edits(CODE, edits)
    fake.default("fast", Reply("```python\ndef add(a: int, b: int) -> int:\n    return a - b\n```"))
    custom = await session.client.code_action_resolve_async(titles["Add type hints"])
    _, edits = edits_of(custom.edit, uri)
    assert apply_text_edits(CODE, edits).startswith("def add(a: int, b: int) -> int:\n")
    assert "Add type hints." in fake.requests[-1].prompt_text


async def test_a_client_without_resolve_gets_a_command_that_applies_the_edit(start, fake):
    fake.default("fast", Reply(FIXED))
    caps = copy.deepcopy(client_capabilities("visual-studio-code"))
    caps.text_document.code_action.resolve_support = None
    session = await start(capabilities=caps)
    uri = session.open("calc.py", CODE)
    fix = await session.quick_fix(uri, diagnostic(1))
    assert fix.command is not None and fix.command.command == "switchboard.applyAction"
    assert fake.requests == []
    applied = await session.command(fix.command.command, *fix.command.arguments)
    assert applied is True
    [edit] = session.applied_edits
    _, edits = edits_of(edit, uri)
    assert apply_text_edits(CODE, edits) == CODE.replace("a - b", "a + b")


async def test_resolving_an_action_without_data_is_harmless(start, fake):
    session = await start()
    action = types.CodeAction(title="Someone else's action", kind="quickfix")
    resolved = await session.client.code_action_resolve_async(action)
    assert resolved.title == "Someone else's action" and resolved.edit is None
    assert fake.requests == []


async def test_hover_explains_with_a_footer_naming_the_model_and_cache(start, fake):
    fake.default("fast", Reply("`add` **subtracts** its arguments, despite its name."))
    session = await start(configuration={"hover": {"delayMs": 0}})
    uri = session.open("calc.py", CODE)
    hover = await session.hover(uri, 0, 5)
    assert hover is not None
    assert hover.contents.kind == "markdown"
    assert hover.contents.value.startswith("`add` **subtracts** its arguments")
    assert hover.contents.value.endswith("*switchboard · fast (p)*")
    assert hover.range == rng(0, 4, 0, 7)
    again = await session.hover(uri, 0, 6)
    assert again.contents.value.endswith("*switchboard · fast (p) · cached*")
    assert len(fake.requests) == 1


@pytest.mark.slow
async def test_hover_can_be_switched_off_or_kept_to_the_cache(start, fake):
    fake.default("fast", Reply("explained"))
    off = await start(initialization_options={"hover": {"enabled": False}})
    uri = off.open("calc.py", CODE)
    assert await off.hover(uri, 0, 5) is None
    cache_only = await start(configuration={"hover": {"cacheOnly": True}})
    uri = cache_only.open("calc.py", CODE)
    assert await cache_only.hover(uri, 0, 5) is None
    assert fake.requests == []


async def test_cancelling_a_slow_hover_closes_the_provider_request(start, fake):
    fake.default("fast", Hang())
    session = await start(configuration={"hover": {"delayMs": 0}})
    uri = session.open("calc.py", CODE)
    await asyncio.sleep(0.3)  # let the server pull its settings
    protocol = session.client.protocol
    pending = protocol.send_request(
        types.TEXT_DOCUMENT_HOVER,
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=0, character=5),
        ),
        msg_id="slow-hover",
    )
    [request] = await asyncio.to_thread(fake.wait_for_requests, 1)
    session.client.cancel_request(types.CancelParams(id="slow-hover"))
    assert await asyncio.to_thread(request.wait_client_disconnected, 5.0)
    with pytest.raises(Exception):  # noqa: B017 - the reply is a RequestCancelled error
        await asyncio.wait_for(asyncio.wrap_future(pending), 5)
    assert fake.requests_for("backup") == []
    # The status that said "working" does not keep spinning for a request that is gone.
    await session.wait_for(lambda: session.status and session.status[-1]["state"] == "idle")


@pytest.mark.slow
async def test_a_cancelled_hover_does_not_stop_the_status_of_a_running_review(start, fake):
    fake.default("fast", Hang())
    fake.default("strong", Reply('{"findings": [{"line": 2, "message": "subtracts"}]}', delay=1.0))
    session = await start(configuration={"hover": {"delayMs": 0}})
    uri = session.open("calc.py", CODE)
    await asyncio.sleep(0.3)  # let the server pull its settings
    review = asyncio.ensure_future(session.command("switchboard.review", uri))
    await asyncio.to_thread(fake.wait_for_requests, 1)
    pending = session.client.protocol.send_request(
        types.TEXT_DOCUMENT_HOVER,
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=0, character=5),
        ),
        msg_id="passing-hover",
    )
    await asyncio.to_thread(fake.wait_for_requests, 2)
    session.client.cancel_request(types.CancelParams(id="passing-hover"))
    with pytest.raises(Exception):  # noqa: B017 - the reply is a RequestCancelled error
        await asyncio.wait_for(asyncio.wrap_future(pending), 5)
    await asyncio.sleep(0.2)
    assert session.status[-1]["state"] == "working"  # the review is still on its way
    assert (await review)["findings"] == 1
    await session.wait_for(lambda: session.status[-1]["state"] == "idle")


@pytest.mark.slow
async def test_hovers_cancelled_while_waiting_cost_no_budget(start, fake):
    fake.default("fast", Reply("explained"))
    session = await start(configuration={"hover": {"delayMs": 300, "maxPerMinute": 2}})
    uri = session.open("calc.py", CODE)
    await asyncio.sleep(0.3)  # let the server pull its settings
    protocol = session.client.protocol
    for n in range(3):  # a mouse passing over the code
        pending = protocol.send_request(
            types.TEXT_DOCUMENT_HOVER,
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=n % 2, character=5),
            ),
            msg_id=f"passing-{n}",
        )
        await asyncio.sleep(0.05)
        session.client.cancel_request(types.CancelParams(id=f"passing-{n}"))
        with pytest.raises(Exception):  # noqa: B017 - the reply is a RequestCancelled error
            await asyncio.wait_for(asyncio.wrap_future(pending), 5)
    assert fake.requests == []
    # The two hovers the user meant still reach a model; the third is over the limit.
    assert "explained" in (await session.hover(uri, 0, 5)).contents.value
    assert "explained" in (await session.hover(uri, 1, 5)).contents.value
    assert await session.hover(uri, 4, 0) is None
    assert len(fake.requests) == 2


async def test_a_failure_with_providers_up_does_not_hide_the_next_outage(start, fake):
    unchanged = Reply("```python\n    return a - b\n```")
    fake.default("fast", unchanged)
    fake.default("backup", unchanged)
    session = await start()
    uri = session.open("calc.py", CODE)
    first = await session.client.code_action_resolve_async(
        await session.quick_fix(uri, diagnostic(1))
    )
    assert first.edit is None
    await session.wait_for(lambda: len(session.client.messages) == 1)
    assert "no model gave a usable answer" in session.client.messages[0].message
    fake.default("fast", ServerError(503))
    fake.default("backup", ServerError(503))
    second = await session.client.code_action_resolve_async(
        await session.quick_fix(uri, diagnostic(1, "again"))
    )
    assert second.edit is None
    await session.wait_for(lambda: len(session.client.messages) == 2)
    assert "fast: server error; backup: server error" in session.client.messages[1].message


@pytest.mark.slow
async def test_a_client_that_never_sends_its_settings_is_waited_for_once(tmp_path, fake):
    fake.default("fast", Reply("explained"))
    never = asyncio.Event()

    async def silent(params: types.ConfigurationParams) -> None:
        await never.wait()

    config = write_config(tmp_path, fake.base_url, tasks={"explain": {"hedge": False}})
    session = await start_session(
        tmp_path, config, client_handlers={types.WORKSPACE_CONFIGURATION: silent}
    )
    try:
        uri = session.open("calc.py", CODE)
        await session.hover(uri, 0, 5)  # waits for the settings, at most once
        baseline = (await session.command("switchboard.stats"))["runtime"]["tasks"]
        started = asyncio.get_running_loop().time()
        for _ in range(5):
            await session.hover(uri, 0, 5)  # from the cache
        assert asyncio.get_running_loop().time() - started < 1.5  # not 2 s each
        stats = await session.command("switchboard.stats")
        assert stats["runtime"]["tasks"] <= baseline + 1, stats["runtime"]
        never.set()
    finally:
        await stop_session(session)


@pytest.mark.slow
async def test_review_reports_progress_and_publishes_diagnostics_with_fixes(start, fake):
    fake.default(
        "strong",
        Reply(
            '{"findings": [{"line": 2, "end_line": 2, "severity": "error", '
            '"message": "add() subtracts", "suggestion": "    return a + b"}, '
            '{"line": 5, "severity": "info", "message": "prints at import"}]}'
        ),
    )
    session = await start()
    uri = session.open("calc.py", CODE)
    actions = await session.code_actions(uri, rng(0, 0, 0, 0), only=["source"])
    [review] = [a for a in actions if a.title == "AI: Review file"]
    result = await session.command(review.command.command, *review.command.arguments)
    assert result["findings"] == 2
    await session.wait_for(lambda: uri in session.client.diagnostics)
    diagnostics = session.client.diagnostics[uri]
    assert [(d.range.start.line, d.severity, d.source) for d in diagnostics] == [
        (1, types.DiagnosticSeverity.Error, "switchboard"),
        (4, types.DiagnosticSeverity.Information, "switchboard"),
    ]
    [reports] = session.client.progress_reports.values()
    assert isinstance(reports[0], types.WorkDoneProgressBegin)
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)
    requests_before = len(fake.requests)
    actions = await session.code_actions(uri, diagnostics[0].range, [diagnostics[0]])
    [apply] = [a for a in actions if a.title.startswith("Apply AI suggestion")]
    _, edits = edits_of(apply.edit, uri)
    assert apply_text_edits(CODE, edits) == CODE.replace("a - b", "a + b")
    assert len(fake.requests) == requests_before  # the suggestion needs no model


async def test_review_findings_follow_edits_and_vanish_when_their_lines_change(start, fake):
    fake.default(
        "strong",
        Reply(
            '{"findings": [{"line": 2, "severity": "error", "message": "subtracts"}, '
            '{"line": 5, "severity": "warning", "message": "side effect"}]}'
        ),
    )
    session = await start()
    uri = session.open("calc.py", CODE)
    await session.command("switchboard.review", uri)
    await session.wait_for(lambda: len(session.client.diagnostics.get(uri, [])) == 2)
    # A new line at the top moves both findings down one line.
    session.change(
        uri, 2, types.TextDocumentContentChangePartial(range=rng(0, 0, 0, 0), text="import os\n")
    )
    await session.wait_for(lambda: session.client.diagnostics[uri][0].range.start.line == 2)
    assert [d.range.start.line for d in session.client.diagnostics[uri]] == [2, 5]
    # Editing the line a finding is about removes that finding.
    session.change(
        uri, 3, types.TextDocumentContentChangePartial(range=rng(2, 15, 2, 16), text="+")
    )
    await session.wait_for(lambda: len(session.client.diagnostics[uri]) == 1)
    assert session.client.diagnostics[uri][0].message == "side effect"


async def test_everything_down_serves_stale_with_one_message(start, fake):
    fake.default("fast", Reply("It adds. Or rather, subtracts."))
    session = await start(
        config_sections={"cache": {"ttl_s": 0}}, configuration={"hover": {"delayMs": 0}}
    )
    uri = session.open("calc.py", CODE)
    assert (await session.hover(uri, 0, 5)) is not None
    fake.default("fast", ServerError(503))
    fake.default("backup", ServerError(500))
    first = await session.hover(uri, 0, 5)
    assert first.contents.value.endswith("· stale cache: no model could answer*")
    uri2 = session.open("other.py", "x = 1\n")
    assert await session.hover(uri2, 0, 0) is None  # nothing cached for this one
    await session.hover(uri, 0, 5)
    await asyncio.sleep(0.2)
    [message] = session.client.messages
    assert message.type == types.MessageType.Warning
    assert "fast: server error; backup: server error" in message.message
    assert "stale" in message.message


async def resolve_while_editing(
    session, fake, uri: str, diag: types.Diagnostic, version: int, where: types.Range, text: str
) -> types.CodeAction:
    """Resolve the fix for `diag`, replacing `where` with `text` (as `version`) while the
    model is answering."""
    fix = await session.quick_fix(uri, diag)
    asked = len(fake.requests)
    pending = asyncio.ensure_future(session.client.code_action_resolve_async(fix))
    await asyncio.to_thread(fake.wait_for_requests, asked + 1)
    session.change(uri, version, types.TextDocumentContentChangePartial(range=where, text=text))
    return await pending


@pytest.mark.slow
async def test_a_document_edited_during_resolve_never_gets_a_misplaced_edit(start, fake):
    fake.default("fast", Reply(FIXED, delay=0.5))
    session = await start()
    uri = session.open("calc.py", CODE)
    # Two lines are added above while the model works: the edit must move with the code.
    resolved = await resolve_while_editing(
        session, fake, uri, diagnostic(1), 2, rng(0, 0, 0, 0), "import os\n\n"
    )
    version, edits = edits_of(resolved.edit, uri)
    assert version == 2
    expected = "import os\n\n" + CODE.replace("a - b", "a + b")
    assert apply_text_edits("import os\n\n" + CODE, edits) == expected

    # Now the target line itself changes during the resolve: no edit, and the user is told.
    fake.default("fast", Reply("```python\ndef add(a, b):\n    return b + a\n```", delay=0.5))
    resolved = await resolve_while_editing(
        session, fake, uri, diagnostic(3, "other"), 3, rng(3, 11, 3, 16), "a * b"
    )
    assert resolved.edit is None
    await session.wait_for(lambda: any("changed" in m.message for m in session.client.messages))


TWINS = "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n"


@pytest.mark.slow
async def test_an_answer_never_lands_on_a_look_alike_line(start, fake):
    # add() and sub() share the line `    return a - b`. The user rewrites add()'s copy while
    # the model answers: the fix must not move to sub()'s copy.
    fake.default("fast", Reply("```python\n    return a + b\n```", delay=0.5))
    session = await start()
    uri = session.open("twins.py", TWINS)
    resolved = await resolve_while_editing(
        session, fake, uri, diagnostic(1), 2, rng(1, 13, 1, 14), "*"
    )
    assert resolved.edit is None
    await session.wait_for(lambda: any("changed" in m.message for m in session.client.messages))


@pytest.mark.slow
async def test_an_action_listed_before_an_edit_follows_its_own_lines(start, fake):
    fake.default("fast", Reply("```python\n    return a + b\n```"))
    session = await start()
    uri = session.open("twins.py", TWINS)
    stale = await session.quick_fix(uri, diagnostic(1))
    moved = await session.quick_fix(uri, diagnostic(5))
    # Listed, then: add()'s line is rewritten, and a line is inserted above everything.
    session.change(
        uri,
        2,
        types.TextDocumentContentChangePartial(range=rng(1, 13, 1, 14), text="*"),
        types.TextDocumentContentChangePartial(range=rng(0, 0, 0, 0), text="import os\n"),
    )
    assert (await session.client.code_action_resolve_async(stale)).edit is None
    resolved = await session.client.code_action_resolve_async(moved)
    version, edits = edits_of(resolved.edit, uri)
    edited = "import os\n" + TWINS.replace("a - b", "a * b", 1)
    assert version == 2
    assert apply_text_edits(edited, edits) == (
        "import os\ndef add(a, b):\n    return a * b\n\n\ndef sub(a, b):\n    return a + b\n"
    )


@pytest.mark.slow
async def test_a_finding_whose_lines_changed_during_the_review_is_dropped(start, fake):
    fake.default(
        "strong",
        Reply(
            '{"findings": [{"line": 2, "severity": "error", "message": "subtracts"}]}',
            delay=0.5,
        ),
    )
    session = await start()
    uri = session.open("twins.py", TWINS)
    pending = asyncio.ensure_future(session.command("switchboard.review", uri))
    await asyncio.to_thread(fake.wait_for_requests, 1)
    session.change(
        uri, 2, types.TextDocumentContentChangePartial(range=rng(1, 13, 1, 14), text="*")
    )
    result = await pending
    assert result["findings"] == 0  # not re-pinned to sub()'s identical line
    await session.wait_for(lambda: uri in session.client.diagnostics)
    assert list(session.client.diagnostics[uri]) == []


async def test_inserting_whole_lines_next_to_a_finding_keeps_it(start, fake):
    fake.default(
        "strong", Reply('{"findings": [{"line": 2, "severity": "error", "message": "subtracts"}]}')
    )
    session = await start()
    uri = session.open("calc.py", CODE)
    await session.command("switchboard.review", uri)
    await session.wait_for(lambda: len(session.client.diagnostics.get(uri, [])) == 1)
    # A line pasted at the start of the finding's line, then one after it: its text is intact.
    session.change(
        uri, 2, types.TextDocumentContentChangePartial(range=rng(1, 0, 1, 0), text="    # why\n")
    )
    session.change(
        uri, 3, types.TextDocumentContentChangePartial(range=rng(3, 0, 3, 0), text="    pass\n")
    )
    await session.wait_for(lambda: session.client.diagnostics[uri][0].range.start.line == 2)
    assert len(session.client.diagnostics[uri]) == 1
    # Deleting the line above it (a whole-line range) moves it back up.
    session.change(uri, 4, types.TextDocumentContentChangePartial(range=rng(1, 0, 2, 0), text=""))
    await session.wait_for(lambda: session.client.diagnostics[uri][0].range.start.line == 1)
    assert len(session.client.diagnostics[uri]) == 1


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
async def test_offsets_are_right_for_non_ascii_text_in_either_encoding(start, fake, encoding):
    text = "s = '😀 é\t'  # émoji\r\ndef f():\r\n    return s  +  1\r\n"
    fake.default("fast", Reply("```python\n    return s + 1\n```"))
    caps = copy.deepcopy(client_capabilities("visual-studio-code"))
    caps.general = types.GeneralClientCapabilities(position_encodings=[encoding])
    session = await start(capabilities=caps)
    assert session.result.capabilities.position_encoding == encoding
    uri = session.open("u.py", text)
    fix = await session.quick_fix(uri, diagnostic(2, "spacing"))
    resolved = await session.client.code_action_resolve_async(fix)
    _, edits = edits_of(resolved.edit, uri)
    assert apply_text_edits(text, edits, encoding) == text.replace("s  +  1", "s + 1")
    # An edit on the emoji line: columns after the emoji differ between encodings.
    fake.default("fast", Reply("```python\ns = '😀 é\t'  # emoji\n```"))
    fix = await session.quick_fix(uri, diagnostic(0, "typo"))
    resolved = await session.client.code_action_resolve_async(fix)
    _, edits = edits_of(resolved.edit, uri)
    assert apply_text_edits(text, edits, encoding) == text.replace("# émoji", "# emoji")
    # Before the "é" of "émoji": 18 UTF-8 bytes (😀 is 4, é is 2), 15 UTF-16 units (😀 is 2).
    expected_column = {"utf-8": 18, "utf-16": 15}[encoding]
    assert edits[0].range.start.character == expected_column


@pytest.mark.slow
async def test_a_client_that_never_answers_progress_creation_still_gets_its_review(start, fake):
    fake.default("strong", Reply('{"findings": [{"line": 1, "message": "hmm"}]}'))
    session = await start()

    async def never_answer(params):
        await asyncio.sleep(3600)

    # Replace pytest-lsp's own handler: this client accepts the request and never replies.
    session.client.protocol.fm.features[types.WINDOW_WORK_DONE_PROGRESS_CREATE] = never_answer

    uri = session.open("calc.py", CODE)
    result = await asyncio.wait_for(session.command("switchboard.review", uri), 10)
    assert result["findings"] == 1
    # Stop the never-answering handler so the client can shut down cleanly.
    for pending in list(session.client.protocol._request_futures.values()):
        if isinstance(pending, asyncio.Task):
            pending.cancel()


@pytest.mark.slow
async def test_stats_and_clear_cache_commands(start, fake):
    fake.default("fast", Reply(FIXED, prompt_tokens=50, completion_tokens=5))
    session = await start()
    uri = session.open("calc.py", CODE)
    fix = await session.quick_fix(uri, diagnostic(1))
    await session.client.code_action_resolve_async(fix)
    stats = await session.command("switchboard.stats")
    assert_stats_report(stats)
    [fast] = [m for m in stats["models"] if m["model"] == "fast"]
    assert fast["requests"] == 1 and fast["prompt_tokens"] == 50
    assert stats["cache"]["entries"] == 1
    assert (await session.command("switchboard.clearCache"))["cleared"] is True
    assert (await session.command("switchboard.stats"))["cache"]["entries"] == 0


async def test_workspace_settings_may_pick_routes_but_not_add_providers(start, fake):
    fake.default("backup", Reply(FIXED))
    session = await start(
        configuration={
            "routes": {"fix": ["backup"]},
            "providers": {"evil": {"baseUrl": "https://evil.example/v1"}},
        }
    )
    uri = session.open("calc.py", CODE)
    await session.wait_for(lambda: session.client.messages)
    assert any("ignored providers" in m.message for m in session.client.messages)
    fix = await session.quick_fix(uri, diagnostic(1))
    await session.client.code_action_resolve_async(fix)
    assert [r.model for r in fake.requests] == ["backup"]


async def test_excluded_files_get_no_actions_and_no_hover(start, fake):
    fake.default("fast", Reply("explained"))
    session = await start(configuration={"hover": {"delayMs": 0}})
    uri = session.open(".env", "API_TOKEN=abc123\n", language="dotenv")
    assert await session.code_actions(uri, rng(0, 0, 0, 5), [diagnostic(0)]) == []
    assert await session.hover(uri, 0, 2) is None
    assert fake.requests == []


@pytest.mark.slow
async def test_an_editor_that_refuses_the_edit_gets_false_not_an_error(start, fake):
    fake.default("fast", Reply(FIXED))
    caps = copy.deepcopy(client_capabilities("visual-studio-code"))
    caps.text_document.code_action.resolve_support = None
    session = await start(capabilities=caps)

    def refuse(params):
        raise RuntimeError("User cancelled server edit")

    session.client.protocol.fm.features[types.WORKSPACE_APPLY_EDIT] = refuse
    uri = session.open("calc.py", CODE)
    fix = await session.quick_fix(uri, diagnostic(1))
    assert await session.command(fix.command.command, *fix.command.arguments) is False


@pytest.mark.slow
async def test_a_hover_from_the_cache_says_so_in_the_status(start, fake):
    fake.default("fast", Reply("explained"))
    session = await start(configuration={"hover": {"delayMs": 0}})
    uri = session.open("calc.py", CODE)
    await session.hover(uri, 0, 5)
    await session.hover(uri, 0, 5)
    await session.wait_for(lambda: any(s.get("state") == "cached" for s in session.status))


@pytest.mark.slow
async def test_reviews_of_the_same_text_share_one_run_and_older_ones_are_superseded(start, fake):
    fake.default("strong", Reply('{"findings": []}', delay=0.5))
    session = await start()
    uri = session.open("calc.py", CODE)
    both = await asyncio.gather(
        session.command("switchboard.review", uri), session.command("switchboard.review", uri)
    )
    assert [r["findings"] for r in both] == [0, 0]
    assert len(fake.requests_for("strong")) == 1
    edit = types.TextDocumentContentChangePartial(range=rng(4, 0, 4, 0), text="#\n")
    session.change(uri, 2, edit)  # new text: not in the cache
    older = asyncio.ensure_future(session.command("switchboard.review", uri))
    await asyncio.to_thread(fake.wait_for_requests, 2)
    session.change(uri, 3, edit)
    newer = await session.command("switchboard.review", uri)
    assert newer["findings"] == 0
    with pytest.raises(Exception, match="newer review"):
        await older


async def test_a_priced_review_says_what_it_will_likely_cost_before_it_runs(start, fake):
    fake.default("strong", Reply('{"findings": []}'))
    models = {
        "fast": {"provider": "p"},
        "backup": {"provider": "q"},
        "strong": {"provider": "q", "input_cost_per_mtok": 3.0, "output_cost_per_mtok": 15.0},
    }
    session = await start(config_sections={"models": models})
    uri = session.open("calc.py", CODE)
    await session.command("switchboard.review", uri)
    [reports] = session.client.progress_reports.values()
    begin = reports[0]
    assert isinstance(begin, types.WorkDoneProgressBegin)
    # The estimate comes from the prompt and the output budget; no model is asked for it.
    expected = "Reviewing calc\\.py \\(≈ \\$[0-9.]+\u2013[0-9.]+ on strong\\)"  # an en dash
    assert re.fullmatch(expected, begin.title)
