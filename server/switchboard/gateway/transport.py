"""The HTTP transport the gateway sends through: httpx's, with a fair connection pool.

httpcore's pool (1.0.x) offers an idle HTTP/1.1 connection to every queued request in the same
pass, because a connection still looks idle until the request given it starts writing. All but
one of those requests then fail with `ConnectionNotAvailable` and go round again, so under
concurrency the pool stays at a handful of connections while requests queue and spin
(encode/httpcore#822): with 32 requests in flight, each one was re-queued about four times, and
the gateway's CPU per request quadrupled (see `python -m bench`, 32 concurrent).

The fix is one method: a connection handed to a request counts as taken until that request is
done with it. Everything else (limits, keep-alive, proxies, TLS) is httpx's own.
"""

from __future__ import annotations

import logging

import httpcore
import httpx

log = logging.getLogger(__name__)

_POOL_ATTRIBUTES = ("_requests", "_connections", "_max_connections", "_max_keepalive_connections")


class FairConnectionPool(httpcore.AsyncConnectionPool):
    """httpcore's pool, except that no connection is given to two requests at once.

    Only for HTTP/1.1 (the gateway never enables HTTP/2, where one connection carries many
    requests). Called with the pool's lock held, like the method it replaces.
    """

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        closing: list[httpcore.AsyncConnectionInterface] = []
        # Clean-up as httpcore does it: closed and expired connections go, and idle ones beyond
        # the keep-alive limit are closed.
        for existing in list(self._connections):
            if existing.is_closed():
                self._connections.remove(existing)
            elif existing.has_expired() or (
                existing.is_idle() and len(self._connections) > self._max_keepalive_connections
            ):
                self._connections.remove(existing)
                closing.append(existing)

        queued = [r for r in self._requests if r.is_queued()]
        if not queued:  # a response was closed and nobody is waiting: nothing to assign
            return closing
        taken = {id(r.connection) for r in self._requests if r.connection is not None}
        free = [c for c in self._connections if id(c) not in taken and c.is_available()]
        for pool_request in queued:
            origin = pool_request.request.url.origin
            connection = next((c for c in free if c.can_handle_request(origin)), None)
            if connection is not None:
                free.remove(connection)
            elif len(self._connections) < self._max_connections:
                connection = self.create_connection(origin)
                self._connections.append(connection)
            else:
                # At the limit: replace an idle connection to another origin, else wait.
                idle = next((c for c in free if c.is_idle()), None)
                if idle is None:
                    continue
                free.remove(idle)
                self._connections.remove(idle)
                closing.append(idle)
                connection = self.create_connection(origin)
                self._connections.append(connection)
            pool_request.assign_to_connection(connection)
        return closing


def fair_transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose pool is `FairConnectionPool` (HTTP/1.1)."""
    transport = httpx.AsyncHTTPTransport(limits=limits, http1=True, http2=False)
    pool = getattr(transport, "_pool", None)
    if type(pool) is httpcore.AsyncConnectionPool and all(
        hasattr(pool, name) for name in _POOL_ATTRIBUTES
    ):
        # Same state, one method different: adopting the subclass keeps httpx's own setup
        # (TLS context, socket options, retries) exactly as it built it.
        pool.__class__ = FairConnectionPool
    else:  # a newer httpx or httpcore: its own pool is the safe choice
        log.debug("keeping httpx's own connection pool (%s)", type(pool).__name__)
    return transport
