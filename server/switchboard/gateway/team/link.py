"""The connection to the team's Redis/Valkey, built so that Redis can never hold an editor up.

Reads on the request path use only connections that are already open: a few are kept ready by
a background keeper, which replaces the ones that die. A read waits at most `timeout_ms` and
answers None when Redis is away, slow or broken, or when no open connection is free; it never
connects, and a read the request gave up on (out of time, or cancelled) finishes in the
background, so its connection stays open for the next one. Writes are queued and sent in
batches by a background task. A lost connection is said once per outage (a log warning and a
notice for the user) and re-established in the background with backoff, while everything above
carries on with its local state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlsplit

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.client import Pipeline
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

log = logging.getLogger(__name__)

T = TypeVar("T")

_BATCH = 128  # writes per pipeline
_MAX_QUEUED = 4096  # writes waiting while Redis is slow; the oldest are dropped past this
_READERS = 4  # open connections kept for reads on the request path
_KEEP_EVERY_S = 1.0  # how often the keeper looks for read connections the server closed

Command = tuple[Any, ...]  # ("GET", key): a Redis command and its arguments

# What it costs the user when Redis refuses Switchboard's reads or writes.
_REFUSED = {
    "reads": "requests go on without the team's answers until it accepts them again",
    "writes": "your answers, cool-downs and usage are not shared until it accepts them again",
}


class LinkState(StrEnum):
    IDLE = "idle"  # not tried yet
    CONNECTING = "connecting"
    UP = "up"
    DOWN = "down"  # reconnecting in the background


class TeamUnavailable(Exception):
    """Redis could not be asked (for commands that need an answer, like `stats --team`)."""


@dataclass(frozen=True, slots=True)
class Write:
    """One background write: `add` puts its commands on a pipeline; `failed` runs (instead)
    when they never reach Redis, so a writer that must not lose data can keep it."""

    add: Callable[[Pipeline], None]
    failed: Callable[[], None] | None = None
    sent: Callable[[], None] | None = None

    def fail(self) -> None:
        if self.failed is not None:
            self.failed()

    def done(self) -> None:
        if self.sent is not None:
            self.sent()


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


class RedisLink:
    """One client, the open connections kept for reads, the link's health, and the queue of
    writes waiting to go out."""

    def __init__(
        self,
        client: Redis,
        *,
        where: str,
        timeout_s: float,
        io_timeout_s: float,
        readers: int = _READERS,
        reconnect_min_s: float = 0.2,
        reconnect_max_s: float = 5.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.where = where
        self.timeout_s = timeout_s
        self.io_timeout_s = io_timeout_s
        self.readers = readers
        self.state = LinkState.IDLE
        self.outages = 0
        # Redis's clock minus this machine's, measured as connections open: times shared with
        # the team are on Redis's clock, so one member's wrong clock does not mislead the rest.
        self.clock_offset_s = 0.0
        self.wall = wall
        self._reconnect_min_s = reconnect_min_s
        self._reconnect_max_s = reconnect_max_s
        self._queue: deque[Write] = deque()
        self._writing = False
        self._wake: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._connecting: asyncio.Task[None] | None = None
        # Read connections: open and free, lent to a read, and reads waiting for one.
        self._idle: list[AbstractConnection] = []
        self._lent: set[AbstractConnection] = set()
        self._waiting: deque[asyncio.Future[AbstractConnection]] = deque()
        self._keeper_wake: asyncio.Event | None = None
        self._notices: list[str] = []
        self._slow_said = False
        self._refusing: set[str] = set()  # "reads", "writes": what Redis refuses right now
        self._closed = False

    # -- connection state ---------------------------------------------------------------------

    def start(self) -> None:
        """Begin connecting in the background, if there is an event loop to do it on."""
        if self.state is not LinkState.IDLE or self._closed:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        self.state = LinkState.CONNECTING
        self._connecting = self._spawn(self._connect())

    async def ready(self, wait_s: float) -> bool:
        """Is Redis usable? Waits up to `wait_s` for a connection already being made."""
        self.start()
        if self.state is LinkState.CONNECTING and self._connecting is not None and wait_s > 0:
            await asyncio.wait({self._connecting}, timeout=wait_s)
        return self.state is LinkState.UP

    async def _connect(self) -> None:
        try:
            connection = await self._open_reader()
        except (RedisError, OSError, TimeoutError) as exc:
            self._went_down(exc)
        else:
            self._idle.append(connection)
            self._came_up()

    def _came_up(self) -> None:
        if self.state is LinkState.DOWN:
            log.info("The team cache at %s is reachable again.", self.where)
        self.state = LinkState.UP
        self._kick()
        self._keep_readers()

    def _went_down(self, exc: BaseException) -> None:
        if self.state is LinkState.DOWN or self._closed:
            return
        self.state = LinkState.DOWN
        self.outages += 1
        log.warning(
            "The team cache at %s is unreachable (%s); using the local cache and local provider "
            "health, and reconnecting in the background.",
            self.where,
            _reason(exc),
        )
        self._notices.append(
            f"The team cache at {self.where} is unreachable; Switchboard works from your local "
            "cache until it is back."
        )
        for write in self._take_queue():
            write.fail()
        idle, self._idle = self._idle, []
        self._spawn(_discard(*idle))
        self._spawn(self._reconnect())

    async def _reconnect(self) -> None:
        delay = self._reconnect_min_s
        while not self._closed and self.state is LinkState.DOWN:
            await asyncio.sleep(delay)
            try:
                connection = await self._open_reader()
            except (RedisError, OSError, TimeoutError) as exc:
                log.debug("team cache at %s still unreachable: %s", self.where, _reason(exc))
                delay = min(delay * 2, self._reconnect_max_s)
            else:
                self._give_back(connection)
                self._came_up()

    def _refused(self, what: str, error: ResponseError) -> None:
        """Redis is there but answers `what` (reads or writes) with an error: an ACL denies a
        command, it is out of memory, or it is a read-only replica. Said once per episode."""
        if what in self._refusing:
            log.debug("The team cache at %s refused %s again: %s", self.where, what, error)
            return
        self._refusing.add(what)
        message = (
            f"The team cache at {self.where} refuses Switchboard's {what} ({_refusal(error)}); "
            f"{_REFUSED[what]}."
        )
        log.warning("%s", message)
        log.debug("what the team cache answered: %s", error)
        self._notices.append(message)

    def _accepted(self, what: str) -> None:
        if what in self._refusing:
            self._refusing.discard(what)
            log.info("The team cache at %s accepts Switchboard's %s again.", self.where, what)

    def take_notices(self) -> tuple[str, ...]:
        """Messages for the user, each handed out once."""
        notices, self._notices = tuple(self._notices), []
        return notices

    # -- connections for reads, kept open in the background -----------------------------------

    async def _open_reader(self) -> AbstractConnection:
        """A new connection that has answered a command (raises when it cannot be made)."""
        connection = self.client.connection_pool.make_connection()
        try:
            async with asyncio.timeout(self.io_timeout_s):
                await connection.connect()
                asked = self.wall()
                [now] = await _exchange(connection, [("TIME",)])
                answered = self.wall()
        except BaseException:
            await _discard(connection)
            raise
        if isinstance(now, list) and len(now) == 2:  # (an ACL may refuse TIME: keep the last)
            self.clock_offset_s = int(now[0]) + int(now[1]) / 1e6 - (asked + answered) / 2
        return connection

    def _keep_readers(self) -> None:
        """Wake the keeper (started on first use): it tops the open connections up."""
        if self._keeper_wake is None:
            self._keeper_wake = asyncio.Event()
            self._spawn(self._keeper())
        self._keeper_wake.set()

    async def _keeper(self) -> None:
        assert self._keeper_wake is not None
        while not self._closed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_KEEP_EVERY_S):
                    await self._keeper_wake.wait()
            self._keeper_wake.clear()
            if self.state is not LinkState.UP:
                continue
            # A restarted server closed them all; found now, not by a request that needed one.
            for connection in [c for c in self._idle if await _closed_by_server(c)]:
                if connection in self._idle:
                    self._idle.remove(connection)
                    await _discard(connection)
            while (
                not self._closed
                and self.state is LinkState.UP
                and len(self._idle) + len(self._lent) < self.readers
            ):
                try:
                    connection = await self._open_reader()
                except (RedisError, OSError, TimeoutError) as exc:
                    self._went_down(exc)
                    break
                self._give_back(connection)

    async def _borrow(self, deadline: float) -> AbstractConnection | None:
        """An open connection, free now or within the deadline; None: none to be had."""
        while self._idle:
            connection = self._idle.pop()
            if not await _closed_by_server(connection):
                self._lent.add(connection)
                return connection
            self._spawn(_discard(connection))
            self._keep_readers()
        if not self._lent:  # nothing will come back: the keeper is opening new ones
            self._keep_readers()
            return None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[AbstractConnection] = loop.create_future()
        self._waiting.append(waiter)
        try:
            await asyncio.wait({waiter}, timeout=max(0.0, deadline - loop.time()))
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._give_back(waiter.result())
            waiter.cancel()
            raise
        if not waiter.done():
            waiter.cancel()
            return None
        return waiter.result()

    def _give_back(self, connection: AbstractConnection) -> None:
        """A connection is free again: to the longest waiting read, or to the idle ones."""
        self._lent.discard(connection)
        if self._closed:
            self._spawn(_discard(connection))
            return
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                self._lent.add(connection)
                waiter.set_result(connection)
                return
        self._idle.append(connection)

    # -- reads --------------------------------------------------------------------------------

    async def read(self, commands: Sequence[Command]) -> list[Any] | None:
        """Run read commands on the request path, in one round trip: their replies, or None
        when Redis is not up, no open connection is free, or the answer is not in by
        `timeout_ms`. Never connects; never holds the request past the budget."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        if self.state is not LinkState.UP:
            self.start()  # the first request of a process that has not connected yet
            if self.state is LinkState.CONNECTING and self._connecting is not None:
                await asyncio.wait({self._connecting}, timeout=self.timeout_s)
            if self.state is not LinkState.UP:
                return None
        connection = await self._borrow(deadline)
        if connection is None:
            return None
        # Its own task: a read given up on runs to its end in the background instead of being
        # cancelled, which would make redis-py close the connection (and, before this, the next
        # read reconnect inside its budget, and be cut off in turn).
        exchange = self._spawn(self._read_on(connection, commands))
        done, _ = await asyncio.wait({exchange}, timeout=max(0.0, deadline - loop.time()))
        if not done:
            # Slow is not down: the request goes on without Redis, the next one tries again.
            if not self._slow_said:
                self._slow_said = True
                log.info(
                    "The team cache at %s took longer than cache.timeout_ms (%.0f ms); requests "
                    "go on without it when it does.",
                    self.where,
                    self.timeout_s * 1000,
                )
            return None
        return None if exchange.cancelled() else exchange.result()  # cancelled: closing down

    async def _read_on(
        self, connection: AbstractConnection, commands: Sequence[Command]
    ) -> list[Any] | None:
        try:
            # Bounded by the connection's socket timeout (connect_timeout_ms).
            replies = await _exchange(connection, commands)
        except (RedisError, OSError) as exc:
            # redis-py closed it. The keeper replaces it, finds the server's other closed
            # ones, and says the link is down if no new connection can be made.
            log.debug("a team cache read failed: %s", _reason(exc))
            self._lent.discard(connection)
            await _discard(connection)
            self._keep_readers()
            return None
        except BaseException:
            self._lent.discard(connection)
            await _discard(connection)
            raise
        self._give_back(connection)
        refused = next((r for r in replies if isinstance(r, ResponseError)), None)
        if refused is not None:
            self._refused("reads", refused)
            return None
        self._accepted("reads")
        return replies

    async def query(self, command: Callable[[Redis], Awaitable[T]]) -> T:
        """Run a command whose answer is needed (not on the editor's path): waits up to the
        connect timeout, raises TeamUnavailable with the reason."""
        if not await self.ready(self.io_timeout_s):
            raise TeamUnavailable(f"the team cache at {self.where} is unreachable")
        try:
            async with asyncio.timeout(self.io_timeout_s):
                return await command(self.client)
        except (RedisError, OSError, TimeoutError) as exc:
            if not isinstance(exc, ResponseError):
                self._went_down(exc)
            raise TeamUnavailable(
                f"the team cache at {self.where} failed: {_reason(exc)}"
            ) from None

    # -- writes -------------------------------------------------------------------------------

    def submit(self, write: Write) -> None:
        """Queue a write for the background writer; never waits."""
        if self._closed or self.state is LinkState.DOWN:
            write.fail()
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            write.fail()
            return
        self._queue.append(write)
        while len(self._queue) > _MAX_QUEUED:
            self._queue.popleft().fail()
        self.start()
        self._kick()

    def _kick(self) -> None:
        if self._wake is None:
            self._wake = asyncio.Event()
            self._spawn(self._writer())
        self._wake.set()

    async def _writer(self) -> None:
        assert self._wake is not None
        while not self._closed:
            await self._wake.wait()
            self._wake.clear()
            while self._queue and self.state is LinkState.UP:
                batch = [self._queue.popleft() for _ in range(min(_BATCH, len(self._queue)))]
                self._writing = True
                try:
                    await self._send(batch)
                finally:
                    self._writing = False

    async def _send(self, batch: list[Write]) -> None:
        try:
            async with asyncio.timeout(self.io_timeout_s):
                # MULTI/EXEC: a reader never sees half a batch (say, one model's usage only).
                async with self.client.pipeline(transaction=True) as pipe:
                    for write in batch:
                        write.add(pipe)
                    results = await pipe.execute(raise_on_error=False)
        except ResponseError as exc:  # refused (an ACL, an out-of-memory Redis): not down
            for write in batch:
                write.fail()
            self._refused("writes", exc)
            return
        except (RedisError, OSError, TimeoutError) as exc:
            for write in batch:
                write.fail()
            self._went_down(exc)
            return
        for write in batch:
            write.done()
        refused = next((r for r in results if isinstance(r, ResponseError)), None)
        if refused is not None:
            # A script error or an out-of-memory Redis: the writes are lost, Switchboard is not.
            self._refused("writes", refused)
        else:
            self._accepted("writes")

    async def drain(self, timeout_s: float) -> bool:
        """Wait (bounded) until every queued write has been sent; True if it was."""
        loop = asyncio.get_running_loop()
        until = loop.time() + timeout_s
        while (self._queue or self._writing) and self.state in (
            LinkState.UP,
            LinkState.CONNECTING,
        ):
            if loop.time() >= until:
                return False
            if self._wake is not None:
                self._wake.set()
            await asyncio.sleep(0.002)
        return not self._queue

    def _take_queue(self) -> list[Write]:
        writes = list(self._queue)
        self._queue.clear()
        return writes

    # -- lifecycle ----------------------------------------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def aclose(self, drain_s: float | None = None) -> None:
        """Send what is queued (bounded by `drain_s`, default the connect timeout), then close."""
        if self._closed:
            return
        with contextlib.suppress(RuntimeError):
            await self.drain(self.io_timeout_s if drain_s is None else drain_s)
        self._closed = True
        for write in self._take_queue():
            write.fail()
        for task in list(self._tasks):
            task.cancel()
        if self._wake is not None:
            self._wake.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        readers, self._idle = [*self._idle, *self._lent], []
        self._lent.clear()
        await _discard(*readers)
        with contextlib.suppress(RedisError, OSError, RuntimeError):
            await self.client.aclose()


async def _exchange(connection: AbstractConnection, commands: Sequence[Command]) -> list[Any]:
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


async def _closed_by_server(connection: AbstractConnection) -> bool:
    """Has the server closed this idle connection (or sent something unasked)? No I/O: it
    looks at what already arrived."""
    try:
        return not connection.is_connected or await connection.can_read()
    except (RedisError, OSError):
        return True


async def _discard(*connections: AbstractConnection) -> None:
    for connection in connections:
        with contextlib.suppress(RedisError, OSError, RuntimeError):
            await connection.disconnect(nowait=True)


def _refusal(error: ResponseError) -> str:
    """Why Redis refused, in the user's terms (its own words name a command or a script)."""
    if isinstance(error, NoPermissionError):
        return "its ACL denies a command Switchboard needs"
    if isinstance(error, OutOfMemoryError):
        return "it is out of memory: maxmemory is reached and its policy evicts nothing"
    if isinstance(error, ReadOnlyError):
        return "it is a read-only replica"
    lines = _reason(error).splitlines() or [""]
    return lines[0] if len(lines[0]) <= 160 else lines[0][:157] + "..."


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    text = str(exc).strip().rstrip(".")
    return text or type(exc).__name__
