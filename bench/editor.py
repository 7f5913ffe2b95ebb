"""4. Editor responsiveness over the real stdio server (`switchboard lsp` in its own process,
spoken to with pygls' JSON-RPC client): code-action listing on files of 100 to 10,000 lines,
hover answered from the cache, time to `initialize`, and the server's memory once 10,000
answers are cached."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.io_ import run_async
from pygls.lsp.client import LanguageClient

from bench.cost import python_file
from bench.harness import ANSWER, Samples, rotations
from bench.stats import summary
from bench.upstream import REPO_ROOT, FakeUpstream, reply
from tests.support import toml

LISTING_SIZES = (100, 1_000, 10_000)
SETTINGS = {"hover": {"delayMs": 0, "maxPerMinute": 1_000_000}}
CAPABILITIES = types.ClientCapabilities(
    general=types.GeneralClientCapabilities(position_encodings=["utf-16"]),
    text_document=types.TextDocumentClientCapabilities(
        code_action=types.CodeActionClientCapabilities(
            code_action_literal_support=types.ClientCodeActionLiteralOptions(
                code_action_kind=types.ClientCodeActionKindOptions(
                    value_set=["quickfix", "refactor", "refactor.rewrite", "source"]
                )
            ),
            resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]),
            data_support=True,
        ),
        hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown]),
    ),
    workspace=types.WorkspaceClientCapabilities(
        apply_edit=True,
        workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True),
    ),
)


def write_config(
    state: Path, base_url: str, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> Path:
    """The server's config file; `overrides` adds to (or replaces entries of) its tables."""
    raw: dict[str, Any] = {
        "providers": {"fake": {"base_url": base_url}},
        "models": {"fast": {"provider": "fake", "model": "fast", "context_window": 32768}},
        "routes": {"fix": ["fast"], "explain": ["fast"], "review": ["fast"]},
        "tasks": {"explain": {"hedge": False}},
        "cache": {"path": str(state / "cache.sqlite")},
        "usage": {"path": str(state / "usage.sqlite")},
    }
    for table, entries in (overrides or {}).items():
        raw[table] = {**raw.get(table, {}), **entries}
    path = state / "config.toml"
    path.write_text(toml(raw))
    return path


def server_env() -> dict[str, str]:
    """The server's environment: no provider keys from this shell (nothing leaves loopback),
    and Python's bytecode cache allowed, as on a user's machine (some sandboxes and CI images
    set PYTHONDONTWRITEBYTECODE, and then every start compiles every module again)."""
    drop = (
        "SHAREAI_API_KEY",
        "OPENROUTER_API_KEY",
        "OPENAI_API_KEY",
        "SWITCHBOARD_CONFIG",
        "PYTHONDONTWRITEBYTECODE",
    )
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTHONPATH"] = str(REPO_ROOT / "server")
    return env


class Client(LanguageClient):
    """pygls' client, with the server's stderr going to a file (a pipe nobody reads fills up)
    and the server's own notifications accepted silently."""

    def __init__(self) -> None:
        super().__init__("switchboard-bench", "1")
        for method in ("switchboard/status", "window/logMessage", "window/showMessage"):
            self.feature(method)(lambda *args: None)

    async def spawn(self, command: list[str], stderr_path: Path) -> None:
        with stderr_path.open("ab") as stderr:
            server = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env=server_env(),
                cwd=REPO_ROOT,
            )
        assert server.stdin is not None and server.stdout is not None
        self.protocol.set_writer(server.stdin)
        self._server = server
        self._async_tasks.append(
            asyncio.create_task(
                run_async(stop_event=self._stop_event, reader=server.stdout, protocol=self.protocol)
            )
        )
        self._async_tasks.append(asyncio.create_task(self._server_exit()))

    @property
    def pid(self) -> int:
        assert self._server is not None
        return self._server.pid


# The floor any pygls server pays: Python, lsprotocol's types and pygls itself, no features.
BARE_PYGLS = "from pygls.lsp.server import LanguageServer\nLanguageServer('bare', '0').start_io()"


async def start(
    config: Path | None,
    state: Path,
    *,
    bare: bool = False,
    capabilities: types.ClientCapabilities = CAPABILITIES,
    settings: Mapping[str, Any] = SETTINGS,
) -> tuple[Client, float, float]:
    """A server (Switchboard, or with `bare` a pygls server with no features), initialized;
    returns it with (spawn to initialize answer, initialize round trip) in ms."""
    client = Client()
    spawned = time.perf_counter()
    if bare:
        command = [sys.executable, "-c", BARE_PYGLS]
    else:
        command = [sys.executable, "-m", "switchboard", "--config", str(config), "lsp"]
    await client.spawn(command, state / "server-stderr.log")
    workspace = state / "workspace"
    workspace.mkdir(exist_ok=True)
    sent = time.perf_counter()
    await client.initialize_async(
        types.InitializeParams(
            capabilities=capabilities,
            root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="workspace")],
            initialization_options=settings,
        )
    )
    answered = time.perf_counter()
    client.initialized(types.InitializedParams())
    return client, (answered - spawned) * 1000.0, (answered - sent) * 1000.0


async def stop(client: Client) -> None:
    try:
        await asyncio.wait_for(client.shutdown_async(None), 10)
        client.exit(None)
        await asyncio.wait_for(client.stop(), 10)
    finally:
        if client._server is not None and client._server.returncode is None:
            client._server.kill()
            await client._server.wait()


def open_document(client: Client, state: Path, name: str, text: str) -> str:
    path = state / "workspace" / name
    path.write_text(text)
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=text
            )
        )
    )
    return uri


async def timed_ms(awaitable: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = await awaitable
    return (time.perf_counter() - start) * 1000.0, result


def code_action_params(uri: str, line: int) -> types.CodeActionParams:
    where = types.Range(types.Position(line, 8), types.Position(line, 13))
    diagnostic = types.Diagnostic(
        range=where, message="F821 undefined name 'factr'", source="ruff", code="F821"
    )
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=where,
        context=types.CodeActionContext(diagnostics=[diagnostic]),
    )


def hover_params(uri: str, line: int, character: int) -> types.HoverParams:
    return types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line, character),
    )


def rss_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in kB, from /proc (Linux)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


async def run(
    upstream: FakeUpstream,
    state: Path,
    *,
    init_reps: int,
    listings: int,
    hovers: int,
    cached_entries: int,
    sizes: tuple[int, ...] = LISTING_SIZES,
) -> dict[str, Any]:
    upstream.reset()
    upstream.default("fast", reply(ANSWER))
    config = write_config(state, upstream.base_url)
    out: dict[str, Any] = {}

    # The first start may write Python's bytecode cache: `initialize` is timed on later ones
    # (on this first one only when no others are asked for).
    client, to_answer, round_trip = await start(config, state)
    spawn_ms, init_ms = [to_answer], [round_trip]
    try:
        out["rss_kb_idle"] = rss_kb(client.pid)
        uris = {n: open_document(client, state, f"module_{n}.py", python_file(n)) for n in sizes}
        out["listing_ms"] = await _listings(client, uris, listings)
        out["hover_ms"] = await _hovers(client, uris[max(sizes)], hovers)
        out["cache_fill"] = await _fill(client, state, cached_entries)
    finally:
        await stop(client)
    if init_reps:
        spawn_ms, init_ms = [], []
    bare_ms = []
    if init_reps:
        client, _, _ = await start(None, state, bare=True)  # its bytecode, too
        await stop(client)
    for rep in range(init_reps):
        for bare in (False, True) if rep % 2 == 0 else (True, False):
            client, to_answer, round_trip = await start(config, state, bare=bare)
            await stop(client)
            if bare:
                bare_ms.append(to_answer)
            else:
                spawn_ms.append(to_answer)
                init_ms.append(round_trip)
    out["initialize_ms"] = {
        "spawn_to_result": summary(spawn_ms),
        "request": summary(init_ms),
        "bare_pygls_spawn_to_result": summary(bare_ms),
    }
    return out


async def _listings(client: Client, uris: dict[int, str], count: int) -> dict[str, Any]:
    """Code actions for a diagnostic in the middle of each file, sizes interleaved."""
    got = {n: Samples() for n in uris}
    rounds = rotations(list(uris), count + 10)
    for i, order in enumerate(rounds):
        for n in order:
            line = n // 2 - (n // 2) % 7 + 4
            ms, actions = await timed_ms(
                client.text_document_code_action_async(code_action_params(uris[n], line))
            )
            if not any(a.title.startswith("Fix with AI") for a in actions or []):
                raise RuntimeError(f"no 'Fix with AI' action listed on a {n}-line file")
            if i >= 10:  # the first rounds warm up
                got[n].ms.append(ms)
    return {str(n): summary(s.ms) for n, s in got.items()}


async def _hovers(client: Client, uri: str, count: int) -> dict[str, Any]:
    """Hovers on function names: each asked once (a model answers, the cache keeps it), then
    again and again (answered from the cache). An empty line is the protocol's floor."""
    lines = [7 * k for k in range(20)]  # `def scale_k(...)` lines
    for line in lines:
        await client.text_document_hover_async(hover_params(uri, line, 5))
    cached, floor = Samples(), Samples()
    for i in range(count):
        ms, result = await timed_ms(
            client.text_document_hover_async(hover_params(uri, lines[i % len(lines)], 5))
        )
        if result is None or "cached" not in result.contents.value:
            raise RuntimeError(f"hover was not answered from the cache: {result!r}")
        cached.ms.append(ms)
        ms, result = await timed_ms(client.text_document_hover_async(hover_params(uri, 6, 0)))
        floor.ms.append(ms)
    return {"cached": summary(cached.ms), "empty_line": summary(floor.ms)}


async def _fill(client: Client, state: Path, entries: int) -> dict[str, Any]:
    """`entries` distinct hovers (each a cache miss answered by the fake at once, then cached),
    32 in flight at a time; then the server's memory."""
    text = "".join(f"value_{i} = compute({i})\n" for i in range(entries))
    uri = open_document(client, state, "fill.py", text)
    before = rss_kb(client.pid)
    start = time.perf_counter()
    for first in range(0, entries, 32):
        batch = range(first, min(entries, first + 32))
        await asyncio.gather(
            *(client.text_document_hover_async(hover_params(uri, i, 2)) for i in batch)
        )
    seconds = time.perf_counter() - start
    stats = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="switchboard.stats", arguments=[])
    )
    cache = stats.get("cache") if isinstance(stats, dict) else getattr(stats, "cache", None)
    return {
        "entries_asked": entries,
        "cache": cache if isinstance(cache, dict) else vars(cache) if cache else None,
        "seconds": round(seconds, 2),
        "rss_kb_before": before,
        "rss_kb_after": rss_kb(client.pid),
    }


if __name__ == "__main__":  # a quick look: python -m bench.editor
    import json
    import tempfile

    async def _main() -> None:
        with FakeUpstream() as upstream:
            out = await run(
                upstream,
                Path(tempfile.mkdtemp()),
                init_reps=3,
                listings=50,
                hovers=100,
                cached_entries=1000,
            )
        print(json.dumps(out, indent=1))

    asyncio.run(_main())
