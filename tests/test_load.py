"""Load and soak through the real language server: many requests at once, many in a row, and
a kill in the middle of writing the cache."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from lsprotocol import types

from tests.fake_provider import Echo, FakeProvider, RecordedRequest
from tests.lsp_support import Session, start_session, stop_session, write_config

# Not in the inner loop (`pytest -m "not slow"`): load and soak: 10,000 requests, a killed server.
pytestmark = pytest.mark.slow

DOC = "".join(f"def f{i}(x):\n    return x * {i}\n\n" for i in range(4000))


def answer(request: RecordedRequest) -> str:
    text = request.prompt_text
    if "Lines to change" in text:
        return "```python\ndef f(x):\n    return x * 2  # fixed\n```"
    if '"findings"' in text:
        return '{"findings": [{"line": 1, "severity": "info", "message": "fine"}]}'
    return "Multiplies `x`."


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def report(request, line: str) -> None:
    """Show a figure in the test run's output (pytest captures a passing test's output)."""
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is None:
        return
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        reporter.write_line(line)


class ConnectionWatch:
    """Samples the fake provider's open connections in the background, keeping the peak."""

    def __init__(self, fake: FakeProvider) -> None:
        self.fake, self.peak = fake, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.fake.open_connections)
            time.sleep(0.005)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


@pytest.fixture
async def loaded(tmp_path, fake, lsp):
    fake.default(None, Echo(answer, delay=0.05))
    config = write_config(tmp_path, fake.base_url)
    # The load is the subject: no background checker runs (or tasks) beside it.
    return await lsp(
        config,
        configuration={"hover": {"delayMs": 0, "maxPerMinute": 100000}},
        initialization_options={"checks": {"background": False}},
    )


def range_at(line: int) -> types.Range:
    return types.Range(
        start=types.Position(line=line, character=4), end=types.Position(line=line, character=12)
    )


async def test_500_concurrent_mixed_requests_are_all_answered_or_cleanly_cancelled(
    loaded: Session, fake, request
):
    session = loaded
    uris = [session.open(f"m{i}.py", DOC[: 3000 + 37 * i]) for i in range(10)]
    fixes = []
    for n in range(150):
        uri = uris[n % 10]
        line = 3 * n % 60
        diagnostic = types.Diagnostic(range=range_at(line), message=f"problem {n}")
        actions = await session.code_actions(uri, range_at(line), [diagnostic])
        fixes.append(next(a for a in actions if a.kind == "quickfix"))
    protocol = session.client.protocol
    watch = ConnectionWatch(fake)
    started = time.monotonic()
    futures = []
    for n in range(500):
        kind = ("hover", "resolve", "hover", "review")[n % 4] if n % 10 else "resolve"
        if kind == "hover":
            params = types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uris[n % 10]),
                position=types.Position(line=n % 80, character=5),
            )
            futures.append(protocol.send_request(types.TEXT_DOCUMENT_HOVER, params, msg_id=f"r{n}"))
        elif kind == "resolve":
            futures.append(
                protocol.send_request(types.CODE_ACTION_RESOLVE, fixes[n % 150], msg_id=f"r{n}")
            )
        else:
            params = types.ExecuteCommandParams(
                command="switchboard.review", arguments=[uris[n % 10]]
            )
            futures.append(
                protocol.send_request(types.WORKSPACE_EXECUTE_COMMAND, params, msg_id=f"r{n}")
            )
    cancelled = {f"r{n}" for n in range(7, 500, 17)}
    for msg_id in cancelled:
        session.client.cancel_request(types.CancelParams(id=msg_id))
    results = await asyncio.gather(
        *(asyncio.wait_for(asyncio.wrap_future(f), 60) for f in futures), return_exceptions=True
    )
    elapsed = time.monotonic() - started
    peak = watch.stop()
    errors = [
        (n, r)
        for n, r in enumerate(results)
        if isinstance(r, BaseException) and f"r{n}" not in cancelled
    ]
    assert errors == []
    for n in range(500):
        if f"r{n}" in cancelled and isinstance(results[n], BaseException):
            assert "cancel" in str(results[n]).lower(), results[n]
    answered = sum(1 for r in results if not isinstance(r, BaseException))
    assert peak <= 64  # the gateway's pool bound
    stats = await session.command("switchboard.stats")
    assert stats["runtime"]["tasks"] < 20
    report(
        request,
        f"\nload: 500 mixed requests in {elapsed:.1f} s, {answered} answered, "
        f"{500 - answered} cancelled, {len(fake.requests)} provider requests, "
        f"peak {peak} open provider connections",
    )


async def test_10000_sequential_requests_keep_memory_flat_and_the_cache_bounded(
    tmp_path, fake, request
):
    fake.default(None, Echo(lambda r: "Explained: " + r.prompt_text[-40:]))
    max_entries, max_bytes = 3000, 2 * 1024 * 1024
    config = write_config(
        tmp_path,
        fake.base_url,
        cache={"max_entries": max_entries, "max_bytes": max_bytes, "memory_max_bytes": 512 * 1024},
    )
    session = await start_session(
        tmp_path, config, configuration={"hover": {"delayMs": 0, "maxPerMinute": 1000000}}
    )
    try:
        text = "".join(f"value_{i} = compute({i}, 'x' * {i % 7})\n" for i in range(10000))
        uri = session.open("soak.py", text)
        pid = session.client._server.pid  # the server process
        samples = {}
        for n in range(10000):
            hover = await session.hover(uri, n, 3)
            assert hover is not None
            if n in (999, 4999, 9999):
                samples[n + 1] = rss_kb(pid)
        stats = await session.command("switchboard.stats")
    finally:
        await stop_session(session)
    cache_files = sum(p.stat().st_size for p in tmp_path.glob("cache.sqlite*"))
    db = sqlite3.connect(tmp_path / "cache.sqlite")
    entries, stored = db.execute("SELECT COUNT(*), SUM(size) FROM entries").fetchone()
    db.close()
    report(
        request,
        "\nsoak: RSS after 1,000 / 5,000 / 10,000 hovers: "
        + " / ".join(f"{kb / 1024:.1f} MB" for kb in samples.values())
        + f"; cache {entries} entries, {stored / 1024:.0f} KiB of answers,"
        + f" files {cache_files / 1024:.0f} KiB",
    )
    assert samples[10000] - samples[1000] < 25 * 1024  # flat, give or take allocator noise
    assert entries <= max_entries and stored <= max_bytes
    assert cache_files <= 2 * max_bytes + 4 * 1024 * 1024  # pages, indexes and a bounded WAL
    assert stats["cache"]["memory_bytes"] <= 512 * 1024


async def test_a_server_killed_while_writing_the_cache_restarts_and_serves_what_was_committed(
    tmp_path, fake
):
    fake.default(
        None, Echo(lambda r: "Explained line " + r.prompt_text.rsplit("line ", 1)[-1][:12])
    )
    config = write_config(tmp_path, fake.base_url)
    settings = {"hover": {"delayMs": 0, "maxPerMinute": 1000000}}
    text = "".join(f"item_{i} = {i}\n" for i in range(3000))
    session = await start_session(tmp_path, config, configuration=settings)
    uri = session.open("kill.py", text)
    for line in range(200):
        assert await session.hover(uri, line, 2) is not None
    # Keep it writing, then kill it mid-stream.
    flood = [
        asyncio.wrap_future(
            session.client.protocol.send_request(
                types.TEXT_DOCUMENT_HOVER,
                types.HoverParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    position=types.Position(line=line, character=2),
                ),
            )
        )
        for line in range(200, 2000)
    ]
    await asyncio.sleep(0.5)
    os.kill(session.client._server.pid, signal.SIGKILL)
    await asyncio.gather(*flood, return_exceptions=True)
    await session.client.stop()

    before = len(fake.requests)
    again = await start_session(tmp_path, config, configuration=settings)
    try:
        uri = again.open("kill.py", text)
        for line in range(0, 200, 7):
            hover = await again.hover(uri, line, 2)
            assert hover is not None and hover.contents.value.endswith("· cached*")
        assert len(fake.requests) == before  # all from the cache committed before the kill
    finally:
        await stop_session(again)
    check = sqlite3.connect(tmp_path / "cache.sqlite").execute("PRAGMA integrity_check").fetchone()
    assert check == ("ok",)
