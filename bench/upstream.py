"""The fake provider in a process of its own, so that the contender's process measures only
its own client side (the fake's parsing, schema checks and event loop run on the other core).

Scripted through the fake's control API (`/_control/*`); see tests/fake_provider.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent


def reply(content: str = "ok", delay_s: float = 0.0, **extra: Any) -> dict[str, Any]:
    return {"kind": "reply", "content": content, "delay": delay_s, **extra}


def server_error(code: int = 503) -> dict[str, Any]:
    return {"kind": "server_error", "code": code}


def rate_limited(retry_after_s: float) -> dict[str, Any]:
    return {"kind": "rate_limited", "retry_after": retry_after_s}


def hang() -> dict[str, Any]:
    return {"kind": "hang"}


class FakeUpstream:
    """`python -m tests.fake_provider` as a child process, scripted over HTTP.

    Bodies are checked against OpenAI's schema but answered anyway (`--lax-schema`): a
    contender that sends an extra field is measured, not failed; `schema_errors()` tells.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self.base_url = ""
        self._control: httpx.Client | None = None

    def start(self) -> Self:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fake_provider", "--port", "0", "--lax-schema"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the fake provider exited before it listened")
        self.base_url = json.loads(line)["base_url"]
        self._control = httpx.Client(base_url=self.base_url.removesuffix("/v1"), timeout=30)
        return self

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def _post(self, path: str, payload: dict[str, Any]) -> None:
        assert self._control is not None
        self._control.post(path, json=payload).raise_for_status()

    def default(self, model: str, step: dict[str, Any]) -> None:
        """What `model` answers once its script is used up."""
        self._post("/_control/default", {"model": model, "step": step})

    def script(self, model: str, steps: list[dict[str, Any]]) -> None:
        """Answers for the next requests to `model`, in order."""
        self._post("/_control/script", {"model": model, "steps": steps})

    def reset(self) -> None:
        """Forget scripts, defaults and recorded requests."""
        self._post("/_control/reset", {})

    def requests(self) -> list[dict[str, Any]]:
        """The requests received since the last reset (bodies parsed)."""
        assert self._control is not None
        response = self._control.get("/_control/requests")
        response.raise_for_status()
        return response.json()

    def count(self, model: str) -> int:
        return sum(1 for r in self.requests() if r["model"] == model)

    def schema_errors(self) -> list[str]:
        return sorted({e for r in self.requests() for e in r["schema_errors"]})

    def stop(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
