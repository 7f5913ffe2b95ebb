"""The connection to the team's Redis/Valkey, built so that Redis can never hold an editor up.

Reads on the request path use only connections that are already open (`reads.py`); writes are
queued and sent in batches by a background task (`writes.py`). This module keeps the link's
state: a lost connection is said once per outage (a log warning and a notice for the user) and
re-established in the background with backoff, while everything above carries on with its
local state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from .connection import Command, LinkState, TeamUnavailable, reason, refusal
from .reads import READERS, ReadPool
from .writes import Write, WriteQueue

log = logging.getLogger(__name__)

# Outages closer together than this are one episode: warned about once.
_WARN_EVERY_S = 10.0

T = TypeVar("T")

# What it costs the user when Redis refuses Switchboard's reads or writes.
_REFUSED = {
    "reads": "requests go on without the team's answers until it accepts them again",
    "writes": "your answers, cool-downs and usage are not shared until it accepts them again",
}


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
        readers: int = READERS,
        reconnect_min_s: float = 0.2,
        reconnect_max_s: float = 5.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.where = where
        self.timeout_s = timeout_s
        self.io_timeout_s = io_timeout_s
        self.state = LinkState.IDLE
        self.outages = 0
        self._warned_at = -_WARN_EVERY_S  # when an outage was last warned about (monotonic)
        # Redis's clock minus this machine's, measured as connections open: times shared with
        # the team are on Redis's clock, so one member's wrong clock does not mislead the rest.
        self.clock_offset_s = 0.0
        self.wall = wall
        self.reads = ReadPool(self, size=readers)
        self.writes = WriteQueue(self)
        self._reconnect_min_s = reconnect_min_s
        self._reconnect_max_s = reconnect_max_s
        self._tasks: set[asyncio.Task[Any]] = set()
        self._connecting: asyncio.Task[None] | None = None
        self._notices: list[str] = []
        self._refusing: set[str] = set()  # "reads", "writes": what Redis refuses right now
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

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
        self._connecting = self.spawn(self._connect())

    async def ready(self, wait_s: float) -> bool:
        """Is Redis usable? Waits up to `wait_s` for a connection already being made."""
        self.start()
        if self.state is LinkState.CONNECTING and self._connecting is not None and wait_s > 0:
            await asyncio.wait({self._connecting}, timeout=wait_s)
        return self.state is LinkState.UP

    async def _connect(self) -> None:
        try:
            connection = await self.reads.open()
        except (RedisError, OSError, TimeoutError) as exc:
            self.went_down(exc)
        else:
            self.reads.add(connection)
            self._came_up()

    def _came_up(self) -> None:
        if self.state is LinkState.DOWN:
            log.info("The team cache at %s is reachable again.", self.where)
        self.state = LinkState.UP
        self.writes.kick()
        self.reads.keep()

    def went_down(self, exc: BaseException) -> None:
        """Redis cannot be reached: say so once, fail what waits, reconnect in the background."""
        if self.state is LinkState.DOWN or self._closed:
            return
        self.state = LinkState.DOWN
        self.outages += 1
        # A Redis going away can flap (an in-flight read still succeeds, then the next fails):
        # one warning per episode, the flaps after it go to the info log.
        now = time.monotonic()
        level = logging.WARNING if now - self._warned_at >= _WARN_EVERY_S else logging.INFO
        if level == logging.WARNING:
            self._warned_at = now
        log.log(
            level,
            "The team cache at %s is unreachable (%s); using the local cache and local provider "
            "health, and reconnecting in the background.",
            self.where,
            reason(exc),
        )
        self._notices.append(
            f"The team cache at {self.where} is unreachable; Switchboard works from your local "
            "cache until it is back."
        )
        self.writes.fail_all()
        self.reads.drop_idle()
        self.spawn(self._reconnect())

    async def _reconnect(self) -> None:
        delay = self._reconnect_min_s
        while not self._closed and self.state is LinkState.DOWN:
            await asyncio.sleep(delay)
            try:
                connection = await self.reads.open()
            except (RedisError, OSError, TimeoutError) as exc:
                log.debug("team cache at %s still unreachable: %s", self.where, reason(exc))
                delay = min(delay * 2, self._reconnect_max_s)
            else:
                self.reads.give_back(connection)
                self._came_up()

    def refused(self, what: str, error: ResponseError) -> None:
        """Redis is there but answers `what` (reads or writes) with an error: an ACL denies a
        command, it is out of memory, or it is a read-only replica. Said once per episode."""
        if what in self._refusing:
            log.debug("The team cache at %s refused %s again: %s", self.where, what, error)
            return
        self._refusing.add(what)
        message = (
            f"The team cache at {self.where} refuses Switchboard's {what} ({refusal(error)}); "
            f"{_REFUSED[what]}."
        )
        log.warning("%s", message)
        log.debug("what the team cache answered: %s", error)
        self._notices.append(message)

    def accepted(self, what: str) -> None:
        if what in self._refusing:
            self._refusing.discard(what)
            log.info("The team cache at %s accepts Switchboard's %s again.", self.where, what)

    def take_notices(self) -> tuple[str, ...]:
        """Messages for the user, each handed out once."""
        notices, self._notices = tuple(self._notices), []
        return notices

    # -- reads and writes ---------------------------------------------------------------------

    async def read(self, commands: Sequence[Command]) -> list[Any] | None:
        """Read commands on the request path, in one round trip within `timeout_s`; None when
        Redis cannot answer in time (see `ReadPool.read`)."""
        return await self.reads.read(commands)

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
                self.went_down(exc)
            raise TeamUnavailable(f"the team cache at {self.where} failed: {reason(exc)}") from None

    def submit(self, write: Write) -> None:
        """Queue a write for the background writer; never waits."""
        self.writes.submit(write)

    async def drain(self, timeout_s: float) -> bool:
        """Wait (bounded) until every queued write has been sent; True if it was."""
        return await self.writes.drain(timeout_s)

    # -- lifecycle ----------------------------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run `work` in the background, cancelled when the link closes."""
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
        self.writes.fail_all()
        for task in list(self._tasks):
            task.cancel()
        self.writes.wake()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.reads.close()
        with contextlib.suppress(RedisError, OSError, RuntimeError):
            await self.client.aclose()
