"""Bad input gets a proper answer and loses nothing: odd text, odd positions, broken frames,
hostile model output. The server must answer (an LSP error or an empty result) and keep going."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types

from switchboard.gateway import InvalidAnswer
from switchboard.lsp.positions import from_client, to_client
from switchboard.tasks import Source
from switchboard.tasks.replacement import Region, fit_code
from tests.fake_provider import Echo, FakeProvider, RecordedRequest, Reply
from tests.lsp_support import Session, start_session, stop_session, write_config

# Text built from the characters that break position arithmetic.
CHARS = st.sampled_from(
    ["a", "b", " ", "\t", "é", "😀", "\u2028", "\x00", "\r\n", "\n", "\r", "#", "(", ")"]
)
TEXT = st.lists(CHARS, max_size=60).map("".join)


# -- reference implementations, independent of the server's ----------------------------------


def reference_lines(text: str) -> list[str]:
    """LSP lines: split at \\r\\n, \\n and \\r only."""
    return re.split(r"\r\n|\r|\n", text)


def reference_offset(text: str, line: int, character: int) -> int:
    """Offset of a UTF-16 position, clamped as the LSP asks (to the line's end)."""
    lines = re.split(r"(\r\n|\r|\n)", text)
    offset = 0
    for index in range(0, len(lines), 2):
        content = lines[index]
        if index // 2 == line:
            units = content.encode("utf-16-le")
            prefix = units[: 2 * character].decode("utf-16-le", errors="ignore")
            return offset + len(prefix)
        offset += len(content) + (len(lines[index + 1]) if index + 1 < len(lines) else 0)
    return len(text)


# -- properties of the position and edit arithmetic ------------------------------------------


@given(TEXT, st.integers(0, 12), st.integers(0, 80))
def test_positions_clamp_into_the_text_and_round_trip(text, line, character):
    source = Source(text)
    position = from_client(source, types.Position(line=line, character=character), "utf-16")
    offset = source.offset(position)
    assert 0 <= offset <= len(text)
    if line < len(reference_lines(text)):
        assert offset == reference_offset(text, line, character)
    back = to_client(source, position, "utf-16")
    assert from_client(source, back, "utf-16") == position


@given(TEXT, st.integers(0, 6), st.integers(0, 6), TEXT)
def test_an_edit_never_leaves_the_requested_lines(text, first, last, answer):
    source = Source(text)
    if not source.line_count:
        return
    start = min(first, last, source.line_count - 1)
    end = min(max(first, last), source.line_count - 1)
    try:
        edit = fit_code(Region(source, start, end), answer).edit()
    except InvalidAnswer:
        return  # refused: nothing reaches the file
    assert (start, 0) <= (edit.start.line, edit.start.character)
    # The furthest an edit may reach: past the last line's ending, i.e. (end + 1, 0), or the
    # end of that line's text when it has no ending.
    last = source.lines[end]
    limit = (end + 1, 0) if last.endswith(("\n", "\r")) else (end, len(last))
    assert (edit.end.line, edit.end.character) <= limit
    assert (edit.start.line, edit.start.character) <= (edit.end.line, edit.end.character)


# -- the running server ------------------------------------------------------------------------


class BackgroundSession:
    """A server session on its own event loop thread, so hypothesis can drive it synchronously."""

    def __init__(self, make: Callable[[], Coroutine[Any, Any, Session]]) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.session: Session = self.run(make())

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run a plain client call (a notification) on the session's loop: pygls is not
        thread-safe, so nothing may write to its transport from the test's thread."""

        async def call() -> Any:
            return function(*args)

        return self.run(call())

    def close(self) -> None:
        self.run(stop_session(self.session))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def prompt_file_lines(request: RecordedRequest) -> list[str]:
    """The file as the server saw it, read back from a review prompt's numbered lines."""
    match = re.search(r"lines:\n(`{3,})\w*\n(.*)\n\1\Z", request.prompt_text, re.S)
    assert match, request.prompt_text[-300:]
    return [re.sub(r"^\s*\d+\| ?", "", line, count=1) for line in match.group(2).split("\n")]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-input")
    fake = FakeProvider().start()
    fake.default("strong", Echo(lambda r: '{"findings": []}'))
    config = write_config(
        root, fake.base_url, cache={"enabled": False}, privacy={"redact_secrets": False}
    )
    background = BackgroundSession(
        lambda: start_session(root, config, configuration={"hover": {"cacheOnly": True}})
    )
    yield background, fake
    background.close()
    fake.stop()


def utf16_position(text: str, offset: int) -> types.Position:
    before = text[:offset]
    line = len(reference_lines(before)) - 1
    line_start = max(before.rfind("\n"), before.rfind("\r")) + 1
    return types.Position(line=line, character=len(before[line_start:].encode("utf-16-le")) // 2)


EDITS = st.lists(st.tuples(st.integers(0, 400), st.integers(0, 40), TEXT), min_size=1, max_size=6)


@pytest.mark.slow
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(TEXT, EDITS)
def test_incremental_changes_keep_the_servers_text_identical_to_the_editors(server, text, edits):
    background, fake = server
    session = background.session
    uri = background.call(session.open, f"sync_{abs(hash((text, tuple(edits))))}.py", text)
    version = 1
    for start, length, new in edits:
        start = min(start, len(text))
        end = min(start + length, len(text))
        if text[start - 1 : start + 1] == "\r\n" or text[end - 1 : end + 1] == "\r\n":
            continue  # an editor never splits a CRLF pair
        change = types.TextDocumentContentChangePartial(
            range=types.Range(start=utf16_position(text, start), end=utf16_position(text, end)),
            text=new,
        )
        text = text[:start] + new + text[end:]
        version += 1
        background.call(session.change, uri, version, change)
    before = len(fake.requests)
    result = background.run(session.command("switchboard.review", uri))
    assert "error" not in result, result
    request = fake.requests[before]
    expected = [line.replace("\r", "") for line in reference_lines(text)]
    if expected and expected[-1] == "" and len(expected) > 1:
        expected.pop()  # a final line ending does not start a line of its own
    assert [line.replace("\r", "") for line in prompt_file_lines(request)] == expected or (
        not text.strip("\r\n") and len(fake.requests) > before
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(TEXT, st.integers(0, 20), st.integers(0, 100), st.integers(0, 20), st.integers(0, 100))
def test_any_position_or_range_gets_an_answer(server, text, l1, c1, l2, c2):
    background, _ = server
    session = background.session
    uri = background.call(session.open, f"pos_{abs(hash((text, l1, c1, l2, c2)))}.py", text)
    start, end = types.Position(line=l1, character=c1), types.Position(line=l2, character=c2)
    assert background.run(session.hover(uri, l1, c1)) is None  # cache-only: no model, no error
    diagnostic = types.Diagnostic(range=types.Range(start=start, end=end), message="odd range")
    actions = background.run(
        session.code_actions(uri, types.Range(start=start, end=end), [diagnostic])
    )
    assert any(a.title == "Fix with AI: odd range" for a in actions)


# -- protocol abuse, over raw stdio ------------------------------------------------------------


class RawServer:
    """`switchboard lsp` driven frame by frame, so frames can be broken on purpose."""

    def __init__(self, config: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "switchboard", "--config", config, "lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def send_bytes(self, body: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.send_bytes(json.dumps({"jsonrpc": "2.0", **message}).encode())

    def receive(self, want_id: Any) -> dict[str, Any]:
        assert self.process.stdout is not None
        while True:
            length = 0
            while line := self.process.stdout.readline().strip():
                if line.lower().startswith(b"content-length"):
                    length = int(line.split(b":")[1])
            if not length:
                raise EOFError("the server closed its output")
            message = json.loads(self.process.stdout.read(length))
            if message.get("id") == want_id and "method" not in message:
                return message

    def request(self, id_: int, method: str, params: Any) -> dict[str, Any]:
        self.send({"id": id_, "method": method, "params": params})
        return self.receive(id_)

    def close(self) -> None:
        self.process.kill()
        self.process.wait(5)


@pytest.fixture
def raw(tmp_path, fake):
    server = RawServer(str(write_config(tmp_path, fake.base_url)))
    reply = server.request(
        1, "initialize", {"processId": None, "rootUri": None, "capabilities": {}}
    )
    assert "result" in reply
    server.send({"method": "initialized", "params": {}})
    yield server
    server.close()


OPEN = {
    "textDocument": {
        "uri": "file:///tmp/x.py",
        "languageId": "python",
        "version": 1,
        "text": "x = 1\n",
    }
}
HOVER = {"textDocument": {"uri": "file:///tmp/x.py"}, "position": {"line": 0, "character": 0}}


def test_broken_frames_and_unknown_methods_do_not_stop_the_server(raw):
    raw.send_bytes(b"{this is not json")
    raw.send_bytes(b'{"jsonrpc": "2.0", "id": 7}')
    raw.send_bytes(b'["not", "an", "object"]')
    reply = raw.request(2, "switchboard/noSuchMethod", {})
    assert reply["error"]["code"] == -32601  # MethodNotFound
    raw.send(
        {
            "method": "textDocument/didChange",
            "params": {
                "textDocument": {"uri": "file:///never/opened.py", "version": 2},
                "contentChanges": [{"text": "y = 2\n"}],
            },
        }
    )
    raw.send(
        {
            "method": "textDocument/didClose",
            "params": {"textDocument": {"uri": "file:///never/opened.py"}},
        }
    )
    raw.send({"method": "$/unknownNotification", "params": {}})
    assert (
        raw.request(
            3, "textDocument/hover", {**HOVER, "textDocument": {"uri": "file:///never/opened.py"}}
        )["result"]
        is None
    )
    bad_params = raw.request(4, "textDocument/codeAction", {"textDocument": "nope"})
    assert "error" in bad_params
    raw.send({"method": "textDocument/didOpen", "params": OPEN})
    stats = raw.request(
        5, "workspace/executeCommand", {"command": "switchboard.stats", "arguments": []}
    )
    assert "models" in stats["result"]


def test_requests_after_shutdown_get_an_error(raw):
    assert raw.request(2, "shutdown", None)["result"] is None
    after = raw.request(3, "textDocument/hover", HOVER)
    assert "error" in after


@pytest.mark.slow
def test_a_20_mb_document_with_nul_bytes_is_served(raw, fake):
    fake.default("fast", Reply("```python\nvalue = 2\n```"))
    line = "value = 1  # \x00 é 😀\r\n"
    text = line * (20 * 1024 * 1024 // len(line.encode()))
    raw.send(
        {
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {
                    "uri": "file:///tmp/huge.py",
                    "languageId": "python",
                    "version": 1,
                    "text": text,
                }
            },
        }
    )
    middle = text.count("\n") // 2
    listed = raw.request(
        2,
        "textDocument/codeAction",
        {
            "textDocument": {"uri": "file:///tmp/huge.py"},
            "range": {
                "start": {"line": middle, "character": 0},
                "end": {"line": middle, "character": 0},
            },
            "context": {
                "diagnostics": [
                    {
                        "range": {
                            "start": {"line": middle, "character": 0},
                            "end": {"line": middle, "character": 5},
                        },
                        "message": "bad value",
                    }
                ]
            },
        },
    )
    fix = next(a for a in listed["result"] if a["title"] == "Fix with AI: bad value")
    resolved = raw.request(3, "codeAction/resolve", fix)["result"]
    [change] = resolved["edit"].get("documentChanges", [None])
    edits = change["edits"] if change else resolved["edit"]["changes"]["file:///tmp/huge.py"]
    assert [e["range"]["start"]["line"] for e in edits] == [middle]
    # The whole file goes to no model: it is far beyond every window.
    review = raw.request(
        4,
        "workspace/executeCommand",
        {"command": "switchboard.review", "arguments": ["file:///tmp/huge.py"]},
    )
    assert review["result"]["findings"] == 0
    assert "context window" in review["result"]["error"]
    assert [r.model for r in fake.requests] == ["fast"]


# -- hostile or broken model output ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "answer",
    [
        "I would change the minus to a plus.",  # no code block
        "```python\n" + "x = 1\n" * 40_000 + "```",  # huge
        "```python\ndef add(a, b:\n```",  # does not parse
        "```python\ndef add(a, b):\n    return a - b\n```",  # changes nothing
        "```python\nunterminated",  # cut before the closing fence
    ],
    ids=["no-block", "huge", "syntax-error", "unchanged", "unterminated"],
)
async def test_a_broken_fix_never_reaches_the_buffer(tmp_path, fake, answer):
    fake.default("fast", Reply(answer))
    fake.default("backup", Reply(answer))
    session = await start_session(tmp_path, write_config(tmp_path, fake.base_url))
    try:
        uri = session.open("calc.py", "def add(a, b):\n    return a - b\n")
        whole = types.Range(
            start=types.Position(line=0, character=0), end=types.Position(line=1, character=0)
        )
        fix = next(
            a
            for a in await session.code_actions(
                uri, whole, [types.Diagnostic(range=whole, message="m")]
            )
            if a.kind == "quickfix"
        )
        resolved = await session.client.code_action_resolve_async(fix)
    finally:
        await stop_session(session)
    assert resolved.edit is None
    # The providers answered, so this is no outage: the user is told the answers were unusable.
    [message] = session.client.messages
    assert message.type == types.MessageType.Info
    assert "no model gave a usable answer" in message.message


@pytest.mark.slow
async def test_review_findings_with_wrong_types_or_lines_past_the_end_are_dropped(tmp_path, fake):
    fake.default(
        "strong",
        Reply(
            json.dumps(
                {
                    "findings": [
                        {"line": 99, "message": "past the end"},
                        {"line": "two", "message": "not a number"},
                        {"line": 1, "message": None},
                        {
                            "line": 1,
                            "end_line": 500,
                            "severity": 7,
                            "message": "kept, clamped",
                            "suggestion": ["x"],
                        },
                        42,
                    ]
                }
            )
        ),
    )
    session = await start_session(tmp_path, write_config(tmp_path, fake.base_url))
    try:
        uri = session.open("calc.py", "x = 1\ny = 2\n")
        result = await session.command("switchboard.review", uri)
        await session.wait_for(lambda: uri in session.client.diagnostics)
    finally:
        await stop_session(session)
    assert result["findings"] == 1
    [diagnostic] = session.client.diagnostics[uri]
    assert diagnostic.message == "kept, clamped"
    assert (diagnostic.range.start.line, diagnostic.range.end.line) == (0, 1)
