"""Reads on the request path, over connections that are already open.

A few connections are kept ready by a background keeper, which replaces the ones that die. A
read waits at most the link's `timeout_s` and answers None when Redis is away, slow or broken,
or when no open connection is free; it never connects, and a read the request gave up on (out
of time, or cancelled) finishes in the background, so its connection stays open for the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import RedisError, ResponseError

from .connection import Command, LinkState, Owner, closed_by_server, discard, exchange, reason

log = logging.getLogger(__name__)

READERS = 4  # open connections kept for reads on the request path
_KEEP_EVERY_S = 1.0  # how often the keeper looks for read connections the server closed


class ReadPool:
    """The open connections kept for reads: free ones, ones lent to a read, and reads waiting
    for one."""

    def __init__(self, link: Owner, *, size: int = READERS) -> None:
        self.link = link
        self.size = size
        self._idle: list[AbstractConnection] = []
        self._lent: set[AbstractConnection] = set()
        self._waiting: deque[asyncio.Future[AbstractConnection]] = deque()
        self._keeper_wake: asyncio.Event | None = None
        self._slow_said = False

    async def open(self) -> AbstractConnection:
        """A new connection that has answered a command (raises when it cannot be made). It
        also measures Redis's clock against this machine's, on the link."""
        link = self.link
        connection = link.client.connection_pool.make_connection()
        try:
            async with asyncio.timeout(link.io_timeout_s):
                await connection.connect()
                asked = link.wall()
                [now] = await exchange(connection, [("TIME",)])
                answered = link.wall()
        except BaseException:
            await discard(connection)
            raise
        if isinstance(now, list) and len(now) == 2:  # (an ACL may refuse TIME: keep the last)
            link.clock_offset_s = int(now[0]) + int(now[1]) / 1e6 - (asked + answered) / 2
        return connection

    def add(self, connection: AbstractConnection) -> None:
        """The link's first connection, opened before anything could wait for one."""
        self._idle.append(connection)

    def keep(self) -> None:
        """Wake the keeper (started on first use): it tops the open connections up."""
        if self._keeper_wake is None:
            self._keeper_wake = asyncio.Event()
            self.link.spawn(self._keeper())
        self._keeper_wake.set()

    async def _keeper(self) -> None:
        assert self._keeper_wake is not None
        link = self.link
        while not link.closed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_KEEP_EVERY_S):
                    await self._keeper_wake.wait()
            self._keeper_wake.clear()
            if link.state is not LinkState.UP:
                continue
            # A restarted server closed them all; found now, not by a request that needed one.
            for connection in [c for c in self._idle if await closed_by_server(c)]:
                if connection in self._idle:
                    self._idle.remove(connection)
                    await discard(connection)
            while (
                not link.closed
                and link.state is LinkState.UP
                and len(self._idle) + len(self._lent) < self.size
            ):
                try:
                    connection = await self.open()
                except (RedisError, OSError, TimeoutError) as exc:
                    link.went_down(exc)
                    break
                self.give_back(connection)

    async def _borrow(self, deadline: float) -> AbstractConnection | None:
        """An open connection, free now or within the deadline; None: none to be had."""
        while self._idle:
            connection = self._idle.pop()
            if not await closed_by_server(connection):
                self._lent.add(connection)
                return connection
            self.link.spawn(discard(connection))
            self.keep()
        if not self._lent:  # nothing will come back: the keeper is opening new ones
            self.keep()
            return None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[AbstractConnection] = loop.create_future()
        self._waiting.append(waiter)
        try:
            await asyncio.wait({waiter}, timeout=max(0.0, deadline - loop.time()))
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.give_back(waiter.result())
            waiter.cancel()
            raise
        if not waiter.done():
            waiter.cancel()
            return None
        return waiter.result()

    def give_back(self, connection: AbstractConnection) -> None:
        """A connection is free again: to the longest waiting read, or to the idle ones."""
        self._lent.discard(connection)
        if self.link.closed:
            self.link.spawn(discard(connection))
            return
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                self._lent.add(connection)
                waiter.set_result(connection)
                return
        self._idle.append(connection)

    def drop_idle(self) -> None:
        """Redis went away: the free connections are closed (lent ones close as they fail)."""
        idle, self._idle = self._idle, []
        self.link.spawn(discard(*idle))

    async def close(self) -> None:
        readers, self._idle = [*self._idle, *self._lent], []
        self._lent.clear()
        await discard(*readers)

    async def read(self, commands: Sequence[Command]) -> list[Any] | None:
        """Run read commands on the request path, in one round trip: their replies, or None
        when Redis is not up, no open connection is free, or the answer is not in by
        `timeout_s`. Never connects; never holds the request past the budget."""
        link = self.link
        loop = asyncio.get_running_loop()
        deadline = loop.time() + link.timeout_s
        # The first request of a process that has not connected yet waits for that, in budget.
        if link.state is not LinkState.UP and not await link.ready(link.timeout_s):
            return None
        connection = await self._borrow(deadline)
        if connection is None:
            return None
        # Its own task: a read given up on runs to its end in the background instead of being
        # cancelled, which would make redis-py close the connection (and, before this, the next
        # read reconnect inside its budget, and be cut off in turn).
        reading = link.spawn(self._read_on(connection, commands))
        done, _ = await asyncio.wait({reading}, timeout=max(0.0, deadline - loop.time()))
        if not done:
            # Slow is not down: the request goes on without Redis, the next one tries again.
            if not self._slow_said:
                self._slow_said = True
                log.info(
                    "The team cache at %s took longer than cache.timeout_ms (%.0f ms); requests "
                    "go on without it when it does.",
                    link.where,
                    link.timeout_s * 1000,
                )
            return None
        return None if reading.cancelled() else reading.result()  # cancelled: closing down

    async def _read_on(
        self, connection: AbstractConnection, commands: Sequence[Command]
    ) -> list[Any] | None:
        try:
            # Bounded by the connection's socket timeout (connect_timeout_ms).
            replies = await exchange(connection, commands)
        except (RedisError, OSError) as exc:
            # redis-py closed it. The keeper replaces it, finds the server's other closed
            # ones, and says the link is down if no new connection can be made.
            log.debug("a team cache read failed: %s", reason(exc))
            self._lent.discard(connection)
            await discard(connection)
            self.keep()
            return None
        except BaseException:
            self._lent.discard(connection)
            await discard(connection)
            raise
        self.give_back(connection)
        refused = next((r for r in replies if isinstance(r, ResponseError)), None)
        if refused is not None:
            self.link.refused("reads", refused)
            return None
        self.link.accepted("reads")
        return replies
