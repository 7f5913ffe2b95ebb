"""Running a checker on a text that is not on disk (yet), bounded and without secrets.

The same text checked twice within a few seconds (the editor's background check, then the
verification of a fix against the original; the command line's lookup of the diagnostic, then
its verification) runs the checker once: runs in flight are shared, and results are kept for
`_RECENT_S`.

The project's configuration must apply, so the text is checked under the file's own name:
on stdin with that name where the tool allows it, else the file itself when the text is what it
holds on disk, else a temporary file beside the original (removed at once, and at exit), or as
mypy's shadow of it. The checker runs in the workspace, with a time cap, and without the user's
provider keys in its environment.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import json
import os
import signal
import tempfile
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path

from .diagnostics import READERS, CheckDiagnostic
from .registry import Checker

_REAP_S = 2.0
_RECENT_S = 10.0  # how long a checker's verdict on a text is reused
_RECENT_MAX = 32

# Temporary files in the user's workspace that exist while a checker runs: an exit that does not
# unwind the check (the editor stopping the server, SIGTERM) must not leave them behind.
_STAGED: set[Path] = set()


def remove_staged() -> None:
    """Remove whatever temporary files running checks have in place (at exit)."""
    for item in list(_STAGED):
        _STAGED.discard(item)
        with contextlib.suppress(OSError):
            item.rmdir() if item.is_dir() else item.unlink()


atexit.register(remove_staged)


class CheckerUnavailable(Exception):
    """The checker could not give a verdict (missing, crashed, too slow, unreadable output)."""


async def run_checker(
    checker: Checker,
    path: Path,
    text: str,
    *,
    root: Path | None,
    timeout_s: float,
    withheld: Iterable[str] = (),
) -> list[CheckDiagnostic]:
    """The diagnostics `checker` reports for `text` as the content of `path`."""
    executable = checker.executable(root)
    if executable is None:
        raise CheckerUnavailable(f"{checker.command[0]} is not installed")
    withheld = tuple(sorted(withheld))
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    key = (checker, executable, path, root, digest, withheld)

    async def run() -> list[CheckDiagnostic]:
        with _staged(checker, path, text, root) as (command_args, stdin, reported):
            command = [executable, *command_args[1:]]
            cwd = root or path.parent
            output = await _run(command, stdin, cwd, timeout_s, _environment(withheld))
        try:
            return READERS[checker.format](output, checker.name, reported)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CheckerUnavailable(f"{checker.name}'s output could not be read ({exc})") from None

    return list(await _RUNS.get(key, run))


class _SharedRuns:
    """Runs of one key share a single checker process while it runs, and its result for
    `_RECENT_S` after. The run stops (and its process with it) when nobody awaits it any more."""

    def __init__(self) -> None:
        self._running: dict[object, tuple[asyncio.Task[list[CheckDiagnostic]], list[int]]] = {}
        self._recent: OrderedDict[object, tuple[float, list[CheckDiagnostic]]] = OrderedDict()

    async def get(
        self, key: object, run: Callable[[], Awaitable[list[CheckDiagnostic]]]
    ) -> list[CheckDiagnostic]:
        recent = self._recent.get(key)
        if recent is not None and time.monotonic() - recent[0] < _RECENT_S:
            return recent[1]
        entry = self._running.get(key)
        if entry is None or entry[0].get_loop() is not asyncio.get_running_loop():
            task = asyncio.ensure_future(run())
            entry = self._running[key] = (task, [0])
            task.add_done_callback(lambda done: self._finished(key, done))
        task, waiting = entry
        waiting[0] += 1
        try:
            return await asyncio.shield(task)
        finally:
            waiting[0] -= 1
            if not waiting[0] and not task.done():
                task.cancel()

    def _finished(self, key: object, task: asyncio.Task[list[CheckDiagnostic]]) -> None:
        if self._running.get(key, (None,))[0] is task:
            del self._running[key]
        if task.cancelled() or task.exception() is not None:
            return
        self._recent[key] = (time.monotonic(), task.result())
        self._recent.move_to_end(key)
        while len(self._recent) > _RECENT_MAX:
            self._recent.popitem(last=False)


_RUNS = _SharedRuns()


@contextlib.contextmanager
def _staged(checker: Checker, path: Path, text: str, root: Path | None):  # type: ignore[no-untyped-def]
    """The command line, the stdin and the path the diagnostics will name, with any temporary
    file in place for as long as the checker runs."""
    created: list[Path] = []
    try:
        if checker.input == "stdin":
            args, stdin, reported = _fill(checker.command, path, path), text, path
        elif checker.input == "shadow":
            shadow = Path(tempfile.mkdtemp(prefix="switchboard-")) / path.name
            shadow.write_text(text, encoding="utf-8")
            created += [shadow, shadow.parent]
            args, stdin, reported = _fill(checker.command, shadow, path), None, path
        elif checker.input == "file" and _on_disk(path, text):
            # A saved file (on open, on save) is checked as it is: nothing appears beside it.
            args, stdin, reported = _fill(checker.command, path, path), None, path
        else:  # "file", "tsconfig": beside the original, so that the project's config applies
            # Not a dotfile: pyright, for one, skips hidden files.
            beside = path.with_name(f"{path.stem}.switchboard-{uuid.uuid4().hex[:8]}{path.suffix}")
            _stage(beside, created)
            beside.write_text(text, encoding="utf-8")
            args, stdin, reported = _fill(checker.command, beside, path), None, beside
            if checker.input == "tsconfig":
                args = [*args, *_tsconfig_args(beside, root, created)]
        yield args, stdin, reported
    finally:
        for item in created:
            _STAGED.discard(item)
            with contextlib.suppress(OSError):
                item.rmdir() if item.is_dir() else item.unlink()


def _stage(path: Path, created: list[Path]) -> None:
    """`path` is about to be written in the workspace: remove it when done, or at exit."""
    created.append(path)
    _STAGED.add(path)


def _on_disk(path: Path, text: str) -> bool:
    """Whether `path` holds exactly `text` (as UTF-8)."""
    try:
        return path.read_bytes() == text.encode("utf-8")
    except (OSError, UnicodeEncodeError):
        return False


def _fill(command: tuple[str, ...], file: Path, original: Path) -> list[str]:
    return [
        part.replace("{file}", str(file)).replace("{original}", str(original)) for part in command
    ]


def _tsconfig_args(file: Path, root: Path | None, created: list[Path]) -> list[str]:
    """tsc checks a file given on its command line without the project's tsconfig: a temporary
    one that extends it and names only this file brings the project's options back."""
    project = root / "tsconfig.json" if root is not None else None
    if project is None or not project.is_file():
        return ["--skipLibCheck", str(file)]
    config = project.with_name(f"tsconfig.switchboard-{uuid.uuid4().hex[:8]}.json")
    _stage(config, created)
    config.write_text(
        json.dumps(
            {
                "extends": "./tsconfig.json",
                "files": [str(file)],
                "include": [],
                "compilerOptions": {"noEmit": True},
            }
        ),
        encoding="utf-8",
    )
    return ["-p", str(config)]


def _environment(withheld: Iterable[str]) -> dict[str, str]:
    env = dict(os.environ)
    for name in withheld:
        env.pop(name, None)
    return env


async def _run(
    command: list[str], stdin: str | None, cwd: Path, timeout_s: float, env: Mapping[str, str]
) -> str:
    name = Path(command[0]).name
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,  # its children too can be stopped at the time cap
        )
    except OSError as exc:
        raise CheckerUnavailable(f"{name} could not start ({exc.strerror})") from None
    try:
        async with asyncio.timeout(timeout_s):
            out, err = await process.communicate(
                stdin.encode("utf-8") if stdin is not None else None
            )
    except TimeoutError:
        await _stop(process)
        raise CheckerUnavailable(f"{name} took longer than {timeout_s:g}s") from None
    except asyncio.CancelledError:
        await _stop(process)
        raise
    if not out.strip() and process.returncode not in (0, None):
        reason = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [
            f"exit {process.returncode}"
        ]
        raise CheckerUnavailable(f"{name} failed ({reason[0][:200]})")
    return out.decode("utf-8", "replace")


async def _stop(process: asyncio.subprocess.Process) -> None:
    """Kill the checker and everything it started; reap it, but never wait for that long (a
    grandchild holding its pipes, or a loop shutting down, must not hang the caller)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, TimeoutError):
        await asyncio.wait_for(process.wait(), _REAP_S)
