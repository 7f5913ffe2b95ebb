"""Every provider fault, for fix, explain and review, through the CLI and the language server.

Each must end in the next model's answer, a stale cached answer labelled stale, or one clear
error: within the deadline, with no crash, no hang, no wrong edit, no leaked task. The table
of fault x task x path x outcome x time is printed at the end of the run (and written to
artifacts/fault-table.txt).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.fake_provider import (
    AuthError,
    Behaviour,
    CloseConnection,
    ContextTooLong,
    CutStream,
    Drip,
    Echo,
    EmptyContent,
    FakeProvider,
    HangAfterHeaders,
    Malformed,
    ModelNotFound,
    NoChoices,
    RateLimited,
    RecordedRequest,
    ServerError,
    blackhole,
    unused_tcp_port,
)
from tests.lsp_support import apply_text_edits, edits_of, start_session, stop_session
from tests.support import CODE, FIXED_CODE, config_dict, switchboard, toml

# Not in the inner loop (`pytest -m "not slow"`): the fault matrix waits out timeouts and
# deadlines, through the CLI and the server.
pytestmark = pytest.mark.slow

DEADLINE_S = 8.0
PRIMARY_TIMEOUT_S = 1.0


def good_answer(request: RecordedRequest) -> str:
    """What a healthy model says, by task (read from the prompt)."""
    text = request.prompt_text
    if "Lines to change" in text:
        return "```python\ndef add(a, b):\n    return a + b\n```"
    if '"findings"' in text:
        return '{"findings": [{"line": 2, "severity": "error", "message": "add subtracts"}]}'
    return "`add` subtracts its arguments."


# name -> (behaviour or a special address, whether the model streams)
FAULTS: dict[str, Behaviour | str] = {
    "429 retry-after": RateLimited(retry_after=2),
    "429 retry-after-ms": RateLimited(retry_after_ms=1500),
    "408": ServerError(408),
    "500": ServerError(500),
    "502": ServerError(502),
    "503": ServerError(503),
    "connection refused": "refused",
    "accepts, never answers": "blackhole",
    "drips a byte a second": Drip("x" * 200, interval=1.0),
    "hangs after headers": HangAfterHeaders(),
    "closes the connection": CloseConnection(),
    "malformed JSON": Malformed(),
    "JSON without choices": NoChoices(),
    "empty content": EmptyContent(),
    "stream cut mid-way": CutStream("```python\ndef add(a, b):\n    return a +", after_chunks=2),
    "401": AuthError(401),
    "403": AuthError(403),
    "404 model not found": ModelNotFound(),
    "400 context length": ContextTooLong(),
}
TASKS = ("fix", "explain", "review")


@dataclass
class Row:
    fault: str
    task: str
    path: str
    outcome: str
    seconds: float


ROWS: list[Row] = []


@pytest.fixture(scope="module", autouse=True)
def fault_table(request):
    yield
    if not ROWS:
        return
    width = max(len(r.fault) for r in ROWS)
    lines = [f"{'fault':<{width}}  {'task':<7}  {'path':<4}  {'outcome':<34}  seconds"]
    for row in sorted(
        ROWS,
        key=lambda r: (list(FAULTS).index(r.fault) if r.fault in FAULTS else 99, r.task, r.path),
    ):
        cells = f"{row.fault:<{width}}  {row.task:<7}  {row.path:<4}  {row.outcome:<34}"
        lines.append(f"{cells}  {row.seconds:6.2f}")
    table = "\n".join(lines)
    artifacts = Path(__file__).resolve().parent.parent / "artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "fault-table.txt").write_text(table + "\n")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("\nFault table (primary faulty, backup healthy unless noted):")
        for line in lines:
            reporter.write_line(line)


@contextlib.contextmanager
def primary_at(fake, fault: str) -> Iterator[str]:
    """The base URL of the faulty primary provider."""
    behaviour = FAULTS[fault]
    if behaviour == "refused":
        yield f"http://127.0.0.1:{unused_tcp_port()}/v1"
    elif behaviour == "blackhole":
        with blackhole() as hole:
            yield hole.base_url
    else:
        fake.default("fast", behaviour)
        yield fake.base_url


def write_config(
    root: Path,
    primary_url: str,
    backup_url: str,
    fault: str,
    *,
    backup_timeout: bool = False,
    **sections: Any,
) -> Path:
    """Primary `fast` on provider p, `backup` on q. With `backup_timeout` the backup gives up
    as fast as the primary (when both hang, the test need not wait for the whole deadline)."""
    streams = fault == "stream cut mid-way"
    raw = config_dict(
        root,
        {"p": primary_url, "q": backup_url},
        {
            "fast": {
                "provider": "p",
                "timeout_s": PRIMARY_TIMEOUT_S,
                "stream": streams,
                "context_window": 16384,
            },
            "backup": {
                "provider": "q",
                "context_window": 65536,
                "stream": streams,
                **({"timeout_s": PRIMARY_TIMEOUT_S} if backup_timeout else {}),
            },
        },
        {"fix": ["fast", "backup"], "explain": ["fast", "backup"], "review": ["fast", "backup"]},
        tasks={
            task: {"deadline_s": DEADLINE_S, **({"hedge": False} if task == "explain" else {})}
            for task in TASKS
        },
        **sections,
    )
    path = root / "config.toml"
    path.write_text(toml(raw))
    return path


# -- the CLI path ---------------------------------------------------------------------------------


def run_cli(root: Path, config: Path, task: str) -> tuple[subprocess.CompletedProcess[str], float]:
    args = {
        "fix": ["fix", "calc.py", "--line", "1", "--end-line", "2"],
        "explain": ["explain", "calc.py", "--line", "1"],
        "review": ["review", "calc.py"],
    }[task]
    started = time.monotonic()
    result = switchboard("--config", str(config), *args, "--json", cwd=root)
    return result, time.monotonic() - started


def check_answer(task: str, data: dict[str, Any]) -> None:
    if task == "fix":
        assert "+    return a + b" in data["diff"] and "-    return a - b" in data["diff"]
    elif task == "explain":
        assert data["text"] == "`add` subtracts its arguments."
    else:
        assert [f["line"] for f in data["findings"]] == [2]


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("fault", FAULTS)
def test_cli_falls_back_from_each_fault(tmp_path, fake, fault, task):
    fake.default("backup", Echo(good_answer))
    (tmp_path / "calc.py").write_text(CODE)
    with primary_at(fake, fault) as primary:
        config = write_config(tmp_path, primary, fake.base_url, fault)
        result, elapsed = run_cli(tmp_path, config, task)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["served_by"]["model"] == "backup"
    check_answer(task, data)
    first = data["attempts"][0]
    assert first["model"] == "fast" and first["outcome"] != "ok"
    assert elapsed < DEADLINE_S + 3
    assert (tmp_path / "calc.py").read_text() == CODE
    ROWS.append(Row(fault, task, "cli", f"backup answered ({first['outcome']})", elapsed))


class Outage:
    """Both models' provider, at one address, either healthy or failing with `fault`: the
    same config sees it go down, come back and go down again, as a user's would."""

    def __init__(self, fake, fault: str) -> None:
        self.fake = fake
        self.fault = FAULTS[fault]
        self.port = unused_tcp_port()
        special = isinstance(self.fault, str)
        self.url = f"http://127.0.0.1:{self.port}/v1" if special else fake.base_url

    @contextlib.contextmanager
    def up(self) -> Iterator[None]:
        if isinstance(self.fault, str):
            with FakeProvider(port=self.port) as healthy:
                healthy.default(None, Echo(good_answer))
                yield
        else:
            self.fake.default("fast", Echo(good_answer))
            self.fake.default("backup", Echo(good_answer))
            yield

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        if self.fault == "blackhole":
            with blackhole(port=self.port):
                yield
        elif self.fault == "refused":
            yield  # nothing listens there
        else:
            self.fake.default("fast", self.fault)
            self.fake.default("backup", self.fault)
            yield


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("fault", FAULTS)
def test_cli_everything_down_serves_stale_or_says_why(tmp_path, fake, fault, task):
    (tmp_path / "calc.py").write_text(CODE)
    outage = Outage(fake, fault)
    config = write_config(
        tmp_path, outage.url, outage.url, fault, cache={"ttl_s": 0}, backup_timeout=True
    )
    with outage.down():  # nothing cached yet
        result, elapsed = run_cli(tmp_path, config, task)
    assert result.returncode == 3
    # One sentence; a rejected key is also announced, once per provider.
    *notices, error = result.stderr.strip().splitlines()
    assert "could answer" in error
    assert all("rejected the API key" in notice for notice in notices)
    assert json.loads(result.stdout)["served_by"] is None
    ROWS.append(Row(fault, task, "cli", "all down, nothing cached: exit 3", elapsed))

    with outage.up():
        assert run_cli(tmp_path, config, task)[0].returncode == 0
    with outage.down():  # down again: the entry (already stale, ttl 0) is served
        result, elapsed = run_cli(tmp_path, config, task)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["cache"] == "stale"
    assert [a["outcome"] for a in data["attempts"]] != ["ok"]
    check_answer(task, data)
    assert (tmp_path / "calc.py").read_text() == CODE
    ROWS.append(Row(fault, task, "cli", "all down: stale cache served", elapsed))


# -- the language server path -------------------------------------------------------------------


@pytest.fixture
def session_for(lsp):
    async def launch(config: Path):
        # Provider faults are the subject: no background checker runs (or tasks) beside them.
        return await lsp(
            config,
            configuration={"hover": {"delayMs": 0}},
            initialization_options={"checks": {"background": False}},
        )

    return launch


def whole() -> types.Range:
    return types.Range(
        start=types.Position(line=0, character=0), end=types.Position(line=1, character=16)
    )


async def run_lsp_task(session, uri: str, task: str) -> tuple[Any, float]:
    started = time.monotonic()
    if task == "fix":
        [fix] = [
            a
            for a in await session.code_actions(
                uri, whole(), [types.Diagnostic(range=whole(), message="wrong operator")]
            )
            if a.kind == "quickfix"
        ]
        result = await session.client.code_action_resolve_async(fix)
    elif task == "explain":
        result = await session.hover(uri, 0, 5)
    else:
        result = await session.command("switchboard.review", uri)
        if result.get("served_by"):
            await session.wait_for(lambda: uri in session.client.diagnostics)
    return result, time.monotonic() - started


async def each_task(session, uri: str, fault: str, outcome: str) -> AsyncIterator[tuple[str, Any]]:
    """Run each task on `uri` within the deadline, yield its result for the caller to check,
    then add it to the fault table as `outcome`."""
    for task in TASKS:
        result, elapsed = await run_lsp_task(session, uri, task)
        assert elapsed < DEADLINE_S + 2
        yield task, result
        ROWS.append(Row(fault, task, "lsp", outcome, elapsed))


def check_lsp_answer(session, uri: str, task: str, result: Any) -> None:
    """The task's answer reached the editor whole: the edit, the explanation, the finding."""
    if task == "fix":
        _, edits = edits_of(result.edit, uri)
        assert apply_text_edits(CODE, edits) == FIXED_CODE
    elif task == "explain":
        assert result.contents.value.startswith("`add` subtracts its arguments.")
    else:
        assert [d.range.start.line for d in session.client.diagnostics[uri]] == [1]


@pytest.mark.parametrize("fault", FAULTS)
async def test_language_server_falls_back_from_each_fault(tmp_path, fake, session_for, fault):
    fake.default("backup", Echo(good_answer))
    with primary_at(fake, fault) as primary:
        session = await session_for(write_config(tmp_path, primary, fake.base_url, fault))
        baseline = (await session.command("switchboard.stats"))["runtime"]["tasks"]
        uri = session.open("calc.py", CODE)
        async for task, result in each_task(session, uri, fault, "backup answered"):
            check_lsp_answer(session, uri, task, result)
            if task == "explain":
                assert "backup (q)" in result.contents.value
            elif task == "review":
                assert result["served_by"]["model"] == "backup"
        stats = await session.command("switchboard.stats")
    assert stats["runtime"]["tasks"] <= baseline + 1, stats["runtime"]
    # A failover is not an outage: no message, except the one about a rejected key.
    messages = [m.message for m in session.client.messages]
    if fault in ("401", "403"):
        assert len(messages) == 1 and "rejected the API key" in messages[0]
    else:
        assert messages == []


@pytest.mark.parametrize("fault", FAULTS)
async def test_language_server_everything_down_serves_stale_or_says_why(
    tmp_path, fake, session_for, fault
):
    # First a healthy session answers each task once, so the cache holds an (immediately
    # stale) entry for calc.py and nothing for other.py. Then the provider goes down.
    outage = Outage(fake, fault)
    config = write_config(
        tmp_path, outage.url, outage.url, fault, cache={"ttl_s": 0}, backup_timeout=True
    )
    with outage.up():
        healthy = await start_session(tmp_path, config)
        try:
            uri = healthy.open("calc.py", CODE)
            for task in TASKS:
                await run_lsp_task(healthy, uri, task)
        finally:
            await stop_session(healthy)

    with outage.down():
        session = await session_for(config)
        baseline = (await session.command("switchboard.stats"))["runtime"]["tasks"]
        uri = session.open("calc.py", CODE)
        async for task, result in each_task(session, uri, fault, "all down: stale cache served"):
            check_lsp_answer(session, uri, task, result)
            if task == "explain":
                assert result.contents.value.endswith("stale cache: no model could answer*")
            elif task == "review":
                assert result["cache"] == "stale"

        other = session.open("other.py", CODE.replace("add", "plus"))
        nothing = "all down, nothing cached: no edit"
        async for task, result in each_task(session, other, fault, nothing):
            if task == "fix":
                assert result.edit is None
            elif task == "explain":
                assert result is None
            else:
                assert result["served_by"] is None and "could answer" in result["error"]
                assert session.client.diagnostics.get(other, []) == []
        stats = await session.command("switchboard.stats")
    assert stats["runtime"]["tasks"] <= baseline + 1, stats["runtime"]
    # One outage, one message (plus, for a rejected key, one per provider saying so).
    messages = [m.message for m in session.client.messages]
    outage = [m for m in messages if "no model could answer" in m]
    assert len(outage) == 1 and "stale" in outage[0], messages
    keys = [m for m in messages if m.startswith("Switchboard: Provider")]
    assert len(keys) == (2 if fault in ("401", "403") else 0), messages
    # Prompts too long for every model are no outage: a fix or review asked for says so.
    unusable = [m for m in messages if "no model gave a usable answer" in m]
    assert len(unusable) == (2 if fault == "400 context length" else 0), messages
    assert len(messages) == len(outage) + len(keys) + len(unusable), messages
