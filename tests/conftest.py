from __future__ import annotations

# --- fake provider (tests/fake_provider): keep this block self-contained ---------------------
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# `tests` has no __init__.py, so pytest puts tests/ (not the repo root) on sys.path; the root
# is needed for `from tests.fake_provider import ...` in test modules.
_REPO_ROOT = str(Path(__file__).resolve().parent.parent)
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from tests.fake_provider import FakeProvider  # noqa: E402


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    """A fake OpenAI-compatible provider on loopback, fresh for each test."""
    with FakeProvider() as provider:
        yield provider


# --- end of fake provider block -------------------------------------------------------------


# --- language server sessions and engines, each closed at teardown ---------------------------

if TYPE_CHECKING:
    from switchboard.config import Config
    from switchboard.engine import Engine
    from tests.lsp_support import Session


@pytest.fixture
async def lsp(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Session]]]:
    """lsp(config_path, **options) -> a `switchboard lsp` session in tmp_path (options as for
    tests.lsp_support.start_session); every session is shut down at teardown."""
    from tests.lsp_support import start_session, stop_session

    sessions: list[Session] = []

    async def launch(config: Path, **options: Any) -> Session:
        session = await start_session(tmp_path, config, **options)
        sessions.append(session)
        return session

    yield launch
    for session in sessions:
        await stop_session(session)


@pytest.fixture
async def engines() -> AsyncIterator[Callable[..., Engine]]:
    """engines(config, environ=None) -> an Engine with its own gateway, closed at teardown."""
    from switchboard.engine import Engine
    from switchboard.gateway import Gateway

    built: list[Engine] = []

    def build(config: Config, environ: dict[str, str] | None = None) -> Engine:
        engine = Engine(config, Gateway.create(config, environ=environ or {}))
        built.append(engine)
        return engine

    yield build
    for engine in built:
        await engine.aclose()
