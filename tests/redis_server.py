"""A real redis-server on loopback for the team-mode tests: a free port, no persistence, its own
directory, stopped (and restartable on the same port) by the test.

    server = RedisServer(tmp_path).start()
    ...  # point Switchboard at server.url
    server.stop()
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

REDIS_SERVER = shutil.which("redis-server")


def require_redis_server() -> str:
    if REDIS_SERVER is None:
        pytest.skip(
            "redis-server is not installed (scripts/setup.d/40-redis.sh installs it with apt-get)"
        )
    return REDIS_SERVER


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """One redis-server process. `extra` adds command-line options (e.g. for TLS)."""

    def __init__(self, directory: Path, *, extra: tuple[str, ...] = (), tls: bool = False) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.extra = extra
        self.tls = tls
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://127.0.0.1:{self.port}"

    def start(self) -> RedisServer:
        binary = require_redis_server()
        for _attempt in range(5):  # a free port can be taken between choosing and binding
            self.port = self.port or _free_port()
            port_option = (
                ("--port", "0", "--tls-port", str(self.port))
                if self.tls
                else ("--port", str(self.port))
            )
            self.process = subprocess.Popen(
                [
                    binary,
                    *port_option,
                    "--bind", "127.0.0.1",
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", str(self.directory),
                    "--logfile", str(self.directory / "redis.log"),
                    *self.extra,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            if self._wait_listening():
                return self
            self.stop()
            self.port = 0
        log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"redis-server did not start:\n{log}")

    def _wait_listening(self, timeout_s: float = 10.0) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                time.sleep(0.02)
        return False

    def stop(self) -> None:
        """Kill the server (as a crash would: no shutdown, no save)."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> RedisServer:
        """Start again on the same port, empty."""
        self.stop()
        return self.start()
