"""Writes to the team's Redis: queued without waiting, sent in batches in the background.

A write that never reaches Redis (it is away, it refuses, the queue overflows) runs its
`failed` callback instead, so that a writer that must not lose data can keep it for later.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError, ResponseError

from .connection import LinkState, Owner

_BATCH = 128  # writes per pipeline
_MAX_QUEUED = 4096  # writes waiting while Redis is slow; the oldest are dropped past this


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


class WriteQueue:
    """The writes waiting to go out, and the background writer that sends them."""

    def __init__(self, link: Owner) -> None:
        self.link = link
        self._queue: deque[Write] = deque()
        self._writing = False
        self._wake: asyncio.Event | None = None

    def submit(self, write: Write) -> None:
        """Queue a write for the background writer; never waits."""
        link = self.link
        if link.closed or link.state is LinkState.DOWN:
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
        link.start()
        self.kick()

    def kick(self) -> None:
        """Wake the writer (started on first use): Redis is up, or there is more to send."""
        if self._wake is None:
            self._wake = asyncio.Event()
            self.link.spawn(self._writer())
        self._wake.set()

    def wake(self) -> None:
        """Let a writer that waits see that the link closed (never starts one)."""
        if self._wake is not None:
            self._wake.set()

    async def _writer(self) -> None:
        assert self._wake is not None
        while not self.link.closed:
            await self._wake.wait()
            self._wake.clear()
            while self._queue and self.link.state is LinkState.UP:
                batch = [self._queue.popleft() for _ in range(min(_BATCH, len(self._queue)))]
                self._writing = True
                try:
                    await self._send(batch)
                finally:
                    self._writing = False

    async def _send(self, batch: list[Write]) -> None:
        link = self.link
        try:
            async with asyncio.timeout(link.io_timeout_s):
                # MULTI/EXEC: a reader never sees half a batch (say, one model's usage only).
                async with link.client.pipeline(transaction=True) as pipe:
                    for write in batch:
                        write.add(pipe)
                    results = await pipe.execute(raise_on_error=False)
        except ResponseError as exc:  # refused (an ACL, an out-of-memory Redis): not down
            for write in batch:
                write.fail()
            link.refused("writes", exc)
            return
        except (RedisError, OSError, TimeoutError) as exc:
            for write in batch:
                write.fail()
            link.went_down(exc)
            return
        for write in batch:
            write.done()
        refused = next((r for r in results if isinstance(r, ResponseError)), None)
        if refused is not None:
            # A script error or an out-of-memory Redis: the writes are lost, Switchboard is not.
            link.refused("writes", refused)
        else:
            link.accepted("writes")

    async def drain(self, timeout_s: float) -> bool:
        """Wait (bounded) until every queued write has been sent; True if it was."""
        loop = asyncio.get_running_loop()
        until = loop.time() + timeout_s
        while (self._queue or self._writing) and self.link.state in (
            LinkState.UP,
            LinkState.CONNECTING,
        ):
            if loop.time() >= until:
                return False
            self.wake()
            await asyncio.sleep(0.002)
        return not self._queue

    def fail_all(self) -> None:
        """Every queued write fails now (Redis went away, or the link closes)."""
        writes = list(self._queue)
        self._queue.clear()
        for write in writes:
            write.fail()
