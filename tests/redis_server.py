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
        self.ca_file: str | None = None  # the CA bundle that signed a TLS server's certificate
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def with_tls(cls, directory: Path, *, extra: tuple[str, ...] = ()) -> RedisServer:
        """A server that speaks only TLS, its certificate (for 127.0.0.1) from a private CA."""
        certs = make_certificates(directory)
        server = cls(
            directory / "redis",
            tls=True,
            extra=(
                "--tls-cert-file", str(certs["cert"]),
                "--tls-key-file", str(certs["key"]),
                "--tls-ca-cert-file", str(certs["ca"]),
                "--tls-auth-clients", "no",
                *extra,
            ),
        )  # fmt: skip
        server.ca_file = str(certs["ca"])
        return server

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


def make_certificates(directory: Path) -> dict[str, Path]:
    """A private CA and a server certificate for 127.0.0.1, made with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    directory.mkdir(parents=True, exist_ok=True)
    files = {name: directory / f"{name}.pem" for name in ("ca", "ca-key", "cert", "key")}
    steps = [
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
         "-keyout", files["ca-key"], "-out", files["ca"]],
        ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", files["key"], "-out", directory / "server.csr"],
        ["x509", "-req", "-in", directory / "server.csr", "-CA", files["ca"],
         "-CAkey", files["ca-key"], "-CAcreateserial", "-days", "2",
         "-extfile", directory / "san.cnf", "-out", files["cert"]],
    ]  # fmt: skip
    (directory / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    for step in steps:
        subprocess.run(["openssl", *map(str, step)], check=True, capture_output=True)
    return files
