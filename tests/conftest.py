# --- fake provider (tests/fake_provider): keep this block self-contained ---------------------
import sys
from collections.abc import Iterator
from pathlib import Path

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
