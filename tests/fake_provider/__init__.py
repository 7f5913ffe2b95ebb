"""A loopback fake of an OpenAI-compatible model provider, for tests and benchmarks.

    with FakeProvider() as fake:
        fake.script("fast", RateLimited(retry_after=2), Reply("```python\\nx = 1\\n```"))
        ...  # point the gateway at fake.base_url

Also here: ``unused_tcp_port()`` (nothing listens: connection refused) and ``blackhole()``
(a listener that accepts connections and never answers).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from .behaviours import (
    AuthError,
    Behaviour,
    CloseConnection,
    ContextTooLong,
    CutStream,
    Drip,
    Echo,
    EmptyContent,
    Hang,
    HangAfterHeaders,
    Malformed,
    ModelNotFound,
    NoChoices,
    RateLimited,
    Reply,
    ServerError,
    StallStream,
    Status,
    behaviour_from_json,
)
from .server import (
    FakeProvider,
    RecordedRequest,
    validate_chat_request,
    validate_completions_request,
)

__all__ = [
    "AuthError",
    "Behaviour",
    "Blackhole",
    "CloseConnection",
    "ContextTooLong",
    "CutStream",
    "Drip",
    "Echo",
    "EmptyContent",
    "FakeProvider",
    "Hang",
    "HangAfterHeaders",
    "Malformed",
    "ModelNotFound",
    "NoChoices",
    "RateLimited",
    "RecordedRequest",
    "Reply",
    "ServerError",
    "StallStream",
    "Status",
    "behaviour_from_json",
    "blackhole",
    "unused_tcp_port",
    "validate_chat_request",
    "validate_completions_request",
]


def unused_tcp_port(host: str = "127.0.0.1") -> int:
    """A port on ``host`` with nothing listening (connecting to it is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class Blackhole:
    """A listening address that accepts connections and never reads or answers."""

    host: str
    port: int
    _accepted: list[socket.socket] = field(default_factory=list, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def accepted(self) -> int:
        """How many connections it has accepted so far."""
        return len(self._accepted)


@contextlib.contextmanager
def blackhole(host: str = "127.0.0.1", port: int = 0) -> Iterator[Blackhole]:
    """A TCP listener that accepts connections and never answers; closed on exit.

    ``port`` may name one a provider just left (a server that went silent at its address)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(128)
    listener.settimeout(0.05)  # lets the accept loop notice the exit promptly
    hole = Blackhole(host, listener.getsockname()[1])
    done = threading.Event()

    def accept_forever() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            hole._accepted.append(conn)

    thread = threading.Thread(target=accept_forever, name="blackhole", daemon=True)
    thread.start()
    try:
        yield hole
    finally:
        done.set()
        thread.join()
        listener.close()
        for conn in hole._accepted:
            conn.close()
