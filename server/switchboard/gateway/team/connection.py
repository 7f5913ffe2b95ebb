"""What the team link's parts share: the Redis client, its connections, and the link's state.

The read pool (`reads.py`) and the write queue (`writes.py`) work on connections of one client
(`open_client`) and tell the link they belong to (`Owner`) when Redis goes away or refuses them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Sequence
from enum import StrEnum
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection, RedisSSLContext, SSLConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import (
    NoPermissionError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    ResponseError,
)

T = TypeVar("T")

Command = tuple[Any, ...]  # ("GET", key): a Redis command and its arguments


class LinkState(StrEnum):
    IDLE = "idle"  # not tried yet
    CONNECTING = "connecting"
    UP = "up"
    DOWN = "down"  # reconnecting in the background


class TeamUnavailable(Exception):
    """Redis could not be asked (for commands that need an answer, like `stats --team`)."""


class Owner(Protocol):
    """The link, as its read pool and write queue see it."""

    client: Redis
    where: str
    state: LinkState
    timeout_s: float
    io_timeout_s: float
    clock_offset_s: float
    wall: Callable[[], float]

    @property
    def closed(self) -> bool: ...

    def start(self) -> None: ...

    async def ready(self, wait_s: float) -> bool: ...

    def spawn(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]: ...

    def went_down(self, exc: BaseException) -> None: ...

    def refused(self, what: str, error: ResponseError) -> None: ...

    def accepted(self, what: str) -> None: ...


def describe_url(url: str) -> str:
    """Where Redis is, for messages: scheme, host and port, never the credentials."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def open_client(
    url: str, *, password: str | None, ca_file: str | None, io_timeout_s: float
) -> Redis:
    """A client that fails fast. It retries once, at once, on a broken connection only: a
    pooled connection that died with a restarted server; waiting out an outage is the
    reconnect loop's job."""
    options: dict[str, Any] = {
        "socket_connect_timeout": io_timeout_s,
        "socket_timeout": io_timeout_s,
        "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        "health_check_interval": 0,
        # No CLIENT SETINFO on connect: less to send on every (re)connect.
        "driver_info": None,
    }
    if password:
        options["password"] = password  # a password in the URL takes precedence
    if ca_file and url.startswith("rediss://"):
        options["ssl_ca_certs"] = ca_file
    client = Redis.from_url(url, **options)
    if issubclass(client.connection_pool.connection_class, SSLConnection):
        _share_one_ssl_context(client.connection_pool)
    return client


class _SharedContextSSLConnection(SSLConnection):
    """A TLS connection that uses its pool's SSL context instead of building one of its own."""

    def __init__(self, *, shared_ssl_context: RedisSSLContext | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if shared_ssl_context is not None:
            self.ssl_context = shared_ssl_context


def _share_one_ssl_context(pool: ConnectionPool) -> None:
    """redis-py builds an SSL context for every new connection: ssl.create_default_context,
    tens of milliseconds that block the event loop, which no timeout can cut short. Build the
    pool's one now, while Switchboard starts, and let every connection share it."""
    pool.connection_class = _SharedContextSSLConnection
    context = pool.make_connection().ssl_context  # honours the URL's ssl_* options
    context.get()
    pool.connection_kwargs["shared_ssl_context"] = context


async def exchange(connection: AbstractConnection, commands: Sequence[Command]) -> list[Any]:
    """Send `commands` in one write and read their replies. A refused command's reply is its
    ResponseError, read like the others, so the connection stays in step."""
    await connection.send_packed_command(connection.pack_commands(commands), check_health=False)
    replies: list[Any] = []
    for _ in commands:
        try:
            replies.append(await connection.read_response())
        except ResponseError as exc:
            replies.append(exc)
    return replies


async def closed_by_server(connection: AbstractConnection) -> bool:
    """Has the server closed this idle connection (or sent something unasked)? No I/O: it
    looks at what already arrived."""
    try:
        return not connection.is_connected or await connection.can_read()
    except (RedisError, OSError):
        return True


async def discard(*connections: AbstractConnection) -> None:
    for connection in connections:
        with contextlib.suppress(RedisError, OSError, RuntimeError):
            await connection.disconnect(nowait=True)


def refusal(error: ResponseError) -> str:
    """Why Redis refused, in the user's terms (its own words name a command or a script)."""
    if isinstance(error, NoPermissionError):
        return "its ACL denies a command Switchboard needs"
    if isinstance(error, OutOfMemoryError):
        return "it is out of memory: maxmemory is reached and its policy evicts nothing"
    if isinstance(error, ReadOnlyError):
        return "it is a read-only replica"
    lines = reason(error).splitlines() or [""]
    return lines[0] if len(lines[0]) <= 160 else lines[0][:157] + "..."


def reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    text = str(exc).strip().rstrip(".")
    return text or type(exc).__name__
