"""A scripted typing session against the real `switchboard lsp` over stdio, as VS Code drives
it: each keystroke is a `didChange` (incremental, brackets auto-closed and typed over) and a
`textDocument/inlineCompletion` request at the new cursor.

The user writes PROGRAM line by line. The model (the fake provider, told before each keystroke
what to answer) suggests the rest of the line from what is typed, or after a finished line the
next one; on some lines its first guess parts from what the user then types, and on some the
user mistypes a character and deletes it.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import attrs
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled

from bench import editor
from bench.upstream import FakeUpstream, reply

# (what the user types, what the model first suggests for that line)
PROGRAM: tuple[tuple[str, str], ...] = (
    ("def moving_average(values, window):", "def moving_average(values, window):"),
    (
        '    """The mean of each run of `window` values."""',
        '    """Return the moving average of values."""',
    ),
    ("    if window <= 0:", "    if window <= 0:"),
    (
        '        raise ValueError("window must be positive")',
        '        raise ValueError("window must be positive")',
    ),
    ("    averages = []", "    result = []"),
    ("    total = sum(values[:window])", "    total = sum(values[:window])"),
    ("    averages.append(total / window)", "    averages.append(total / window)"),
    ("    for i in range(window, len(values)):", "    for i in range(window, len(values)):"),
    (
        "        total += values[i] - values[i - window]",
        "        total += values[i] - values[i] * window",
    ),
    ("        averages.append(total / window)", "        averages.append(total / window)"),
    ("    return averages", "    return averages"),
)
# Where the user mistypes: line -> column of a wrong letter, deleted at once.
TYPOS = {3: 14, 5: 12, 7: 20, 9: 10}
BEFORE = "import math\n\n\n"
AFTER = "\n\n\nprint(moving_average([1, 2, 3, 4], 2))\n"
FIRST_LINE = BEFORE.count("\n")
PAIRS = {"(": ")", "[": "]", "{": "}"}
MODEL = "fast"
TYPING_MODEL_MS = 0  # the typed-ahead session awaits every answer: only the counts matter
# The model's answer time in the paced sessions: a local or very fast model, and a hosted one
# whose answers (plus the debounce) outlast the gap between two keys.
PACED_MODEL_MS = (20, 100)
GAP_MS = (30, 180)
LINE_PAUSE_S = (0.5, 1.5)  # before starting each line: reading, thinking
MID_PAUSE = (0.05, (0.3, 0.8))  # the share of keystrokes followed by a pause, and its length
FAST_SETTINGS = {"maxPerMinute": 1_000_000}  # the cap is not what is measured here


@dataclass(frozen=True, slots=True)
class Key:
    kind: str  # "char", "enter" (text: the indentation the editor adds), "backspace"
    text: str = ""


def keys(lines: int | None = None) -> list[Key]:
    """The keystrokes that write PROGRAM (its first `lines` lines)."""
    out: list[Key] = []
    for i, (typed, _) in enumerate(PROGRAM[:lines]):
        start = 0
        if i > 0:
            start = len(typed) - len(typed.lstrip(" "))
            out.append(Key("enter", typed[:start]))
        for column in range(start, len(typed)):
            if TYPOS.get(i) == column:
                out += [Key("char", "q"), Key("backspace")]
            out.append(Key("char", typed[column]))
    return out


@dataclass
class Buffer:
    """The editor's text and cursor, changed as VS Code changes them."""

    lines: list[str]
    line: int
    column: int
    version: int = 1

    @classmethod
    def new(cls) -> Buffer:
        return cls((BEFORE + AFTER).split("\n"), FIRST_LINE, 0)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def before(self) -> str:
        return self.lines[self.line][: self.column]

    @property
    def after(self) -> str:
        return self.lines[self.line][self.column :]

    def press(self, key: Key) -> types.TextDocumentContentChangePartial | None:
        """Apply `key`; the change sent to the server, or None when only the cursor moved."""
        line, column, before, after = self.line, self.column, self.before, self.after
        if key.kind == "char" and key.text in PAIRS.values() and after.startswith(key.text):
            self.column += 1  # typing over an auto-closed bracket
            return None
        if key.kind == "char":
            closes = key.text in PAIRS and (not after or after[0] in " )]}:,")
            insert = key.text + (PAIRS[key.text] if closes else "")
            self.lines[line] = before + insert + after
            self.column += 1
            return self._change(line, column, line, column, insert)
        if key.kind == "backspace":
            pair = before[-1:] in PAIRS and after[:1] == PAIRS[before[-1]]
            self.lines[line] = before[:-1] + after[1 if pair else 0 :]
            self.column -= 1
            return self._change(line, column - 1, line, column + (1 if pair else 0), "")
        self.lines[line : line + 1] = [before, key.text + after]
        self.line, self.column = line + 1, len(key.text)
        return self._change(line, column, line, column, "\n" + key.text)

    def _change(
        self, line: int, start: int, end_line: int, end: int, text: str
    ) -> types.TextDocumentContentChangePartial:
        self.version += 1
        where = types.Range(types.Position(line, start), types.Position(end_line, end))
        return types.TextDocumentContentChangePartial(range=where, text=text)


def model_answer(buffer: Buffer) -> str:
    """What the model suggests at the cursor (see the module docstring)."""
    i = buffer.line - FIRST_LINE
    typed, guess = PROGRAM[i]
    before = buffer.before
    if before == typed:
        return "\n" + PROGRAM[i + 1][1] if i + 1 < len(PROGRAM) else "  # done"
    for line in (guess, typed):
        if line.startswith(before):
            return line[len(before) :]
    return typed[len(before) - 1 :] or "pass"  # after a typo (one letter): what was meant


def inline_capabilities() -> types.ClientCapabilities:
    caps = editor.CAPABILITIES
    assert caps.text_document is not None
    text_document = attrs.evolve(
        caps.text_document, inline_completion=types.InlineCompletionClientCapabilities()
    )
    return attrs.evolve(caps, text_document=text_document)


def write_config(upstream: FakeUpstream, state: Path) -> Path:
    """The editor bench's config, its `complete` route one FIM model; a state of its own."""
    state.mkdir(parents=True, exist_ok=True)
    return editor.write_config(
        state,
        upstream.base_url,
        {
            "models": {MODEL: {"provider": "fake", "model": MODEL, "fim": True}},
            "routes": {"complete": [MODEL]},
        },
    )


async def server(upstream: FakeUpstream, state: Path, debounce_ms: int) -> editor.Client:
    config = write_config(upstream, state)
    settings = {"completion": {"debounceMs": debounce_ms, **FAST_SETTINGS}}
    client, _, _ = await editor.start(
        config, state, capabilities=inline_capabilities(), settings=settings
    )
    return client


def change(client: editor.Client, uri: str, buffer: Buffer, edit: Any) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=buffer.version),
            content_changes=[edit],
        )
    )


def inline_params(uri: str, buffer: Buffer) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(buffer.line, buffer.column),
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Automatic
        ),
    )


def suggestion(result: Any) -> str | None:
    items = result.items if isinstance(result, types.InlineCompletionList) else result or []
    return items[0].insert_text if items else None


def repeats_what_follows(text: str, buffer: Buffer) -> bool:
    """A suggestion that, inserted, would double code already after the cursor on its line
    (an auto-closed bracket: `sum(` + `values)` before `)`)."""
    after = buffer.after.strip()
    return bool(after) and text.split("\n", 1)[0].rstrip().endswith(after)


@dataclass
class Served:
    """How the keystrokes of a session were answered."""

    keystrokes: int = 0
    model: int = 0  # a model was called
    cache: int = 0  # no model call, at a document and cursor a model had answered before
    typed_ahead: int = 0  # no model call, a suggestion all the same
    nothing: int = 0  # no model call and no suggestion
    repeats: int = 0  # suggestions that would double the text after the cursor
    _answered: set[tuple[str, int, int]] = field(default_factory=set)

    def count(self, buffer: Buffer, calls: int, text: str | None) -> None:
        self.keystrokes += 1
        where = (buffer.text, buffer.line, buffer.column)
        if text is not None and repeats_what_follows(text, buffer):
            self.repeats += 1
        if calls:
            self.model += 1
            self._answered.add(where)
        elif text is None:
            self.nothing += 1
        elif where in self._answered:
            self.cache += 1
        else:
            self.typed_ahead += 1

    def to_json(self) -> dict[str, Any]:
        served = self.typed_ahead + self.cache
        return {
            "keystrokes": self.keystrokes,
            "model": self.model,
            "typed_ahead": self.typed_ahead,
            "cache": self.cache,
            "no_suggestion": self.nothing,
            "hit_rate": round(served / self.keystrokes, 3) if self.keystrokes else None,
            "repeats_text_after_cursor": self.repeats,
        }


async def typed_ahead(
    upstream: FakeUpstream, state: Path, *, sessions: int, lines: int | None
) -> dict[str, Any]:
    """PROGRAM typed `sessions` times (a new file each time), every answer awaited before
    the next keystroke; which keystrokes reached a model."""
    upstream.reset()
    client = await server(upstream, state, debounce_ms=0)
    served = Served()
    try:
        for n in range(sessions):
            buffer = Buffer.new()
            uri = editor.open_document(client, state, f"session_{n}.py", buffer.text)
            for key in keys(lines):
                edit = buffer.press(key)
                upstream.reset()
                upstream.default(MODEL, reply(model_answer(buffer), TYPING_MODEL_MS / 1000))
                if edit is not None:
                    change(client, uri, buffer, edit)
                result = await client.text_document_inline_completion_async(
                    inline_params(uri, buffer)
                )
                served.count(buffer, len(upstream.requests()), suggestion(result))
    finally:
        await editor.stop(client)
    return {"sessions": sessions, "lines_per_session": len(PROGRAM[:lines]), **served.to_json()}


def gaps(pressed: list[Key], seed: int, scale: float) -> list[float]:
    """Seconds after each keystroke: 30-180 ms, a pause now and then, a longer one before each
    new line (reading, thinking)."""
    rng = random.Random(seed)
    share, (low, high) = MID_PAUSE
    out = []
    for following in [*pressed[1:], None]:
        gap = rng.uniform(*GAP_MS) / 1000
        if following is not None and following.kind == "enter":
            gap += rng.uniform(*LINE_PAUSE_S)
        elif rng.random() < share:
            gap += rng.uniform(low, high)
        out.append(gap * scale)
    return out


async def debounce(
    upstream: FakeUpstream, state: Path, *, lines: int | None, gap_scale: float
) -> dict[str, Any]:
    """The same session typed at a human pace, requests not awaited (a newer one cancels the
    older), with the debounce off and at its default, for a fast and a slower model; what
    reached the model."""
    by_model: dict[str, Any] = {}
    for model_ms in PACED_MODEL_MS:
        rows = {}
        for debounce_ms in (0, 75):
            here = state / f"model-{model_ms}-debounce-{debounce_ms}"
            rows[str(debounce_ms)] = await _paced(
                upstream, here, debounce_ms, model_ms, lines, gap_scale
            )
        off, on = rows["0"]["model_requests"], rows["75"]["model_requests"]
        by_model[str(model_ms)] = {
            "by_debounce_ms": rows,
            "requests_saved": round(1 - on / off, 3) if off else None,
        }
    return {"gap_ms": list(GAP_MS), "gap_scale": gap_scale, "by_model_ms": by_model}


async def _paced(
    upstream: FakeUpstream,
    state: Path,
    debounce_ms: int,
    model_ms: int,
    lines: int | None,
    scale: float,
) -> dict[str, Any]:
    upstream.reset()
    client = await server(upstream, state, debounce_ms)
    buffer = Buffer.new()
    pressed = keys(lines)
    pauses = gaps(pressed, seed=13, scale=scale)
    pending: list[asyncio.Future[Any]] = []
    started = time.perf_counter()
    try:
        uri = editor.open_document(client, state, "paced.py", buffer.text)
        for key, pause in zip(pressed, pauses, strict=True):
            edit = buffer.press(key)
            answer = model_answer(buffer)
            upstream.default(MODEL, reply(answer, model_ms / 1000))
            if edit is not None:
                change(client, uri, buffer, edit)
            pending.append(
                asyncio.wrap_future(
                    client.protocol.send_request(
                        types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(uri, buffer)
                    )
                )
            )
            await asyncio.sleep(pause)
        outcomes = await asyncio.gather(*pending, return_exceptions=True)
        seconds = time.perf_counter() - started
        await asyncio.sleep(0.2)  # the last provider call's disconnect is recorded
        received = upstream.requests()
    finally:
        await editor.stop(client)
    cancelled = sum(isinstance(o, JsonRpcRequestCancelled) for o in outcomes)
    failed = sum(isinstance(o, BaseException) for o in outcomes) - cancelled
    shown = sum(1 for o in outcomes if not isinstance(o, BaseException) and suggestion(o))
    model = len(received)
    return {
        "keystrokes": len(pressed),
        "requests_cancelled": cancelled,
        "requests_failed": failed,
        "suggestions_shown": shown,
        "model_requests": model,
        "model_requests_per_100_keystrokes": round(100 * model / len(pressed), 1),
        "model_calls_cut_off": sum(1 for r in received if r["client_disconnected"]),
        "session_s": round(seconds, 1),
    }
