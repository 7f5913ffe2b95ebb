"""A TCP proxy on loopback that makes a local server look distant: every chunk is held for
`delay_s` (one way) before it is passed on, in order, and a new connection waits a round trip
before it carries anything (the TCP handshake). Plain threads and `time.sleep`, so the
delay is precise to a fraction of a millisecond (an event loop's sleep rounds up to whole ones)
and a blocked test event loop cannot slow the "network" down. Counts the connections it
accepted.

    with LatencyProxy(redis.port, delay_s=0.0013) as proxy:   # ~2.6 ms round trip
        ...  # point the client at 127.0.0.1:proxy.port
        proxy.delay_s = 0.050                                 # a slow spell
        proxy.accepted                                        # connections made through it
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time


class LatencyProxy:
    def __init__(self, target_port: int, *, delay_s: float, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self.delay_s = delay_s
        self.accepted = 0
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((host, 0))
        self._listener.listen(64)
        self._listener.settimeout(0.05)  # lets the accept loop notice the exit promptly
        self.port: int = self._listener.getsockname()[1]
        self._done = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> LatencyProxy:
        self._spawn(self._accept_forever)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self._listener.close()
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in list(self._threads):
            thread.join(5)

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="latency-proxy")
        self._threads.append(thread)
        thread.start()

    def _accept_forever(self) -> None:
        while not self._done.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self._spawn(self._relay, client)

    def _relay(self, client: socket.socket) -> None:
        time.sleep(2 * self.delay_s)  # the TCP handshake's round trip
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        for sock in (client, upstream):
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sockets.append(sock)
        for source, sink in ((client, upstream), (upstream, client)):
            held: queue.Queue[tuple[float, bytes]] = queue.Queue()
            self._spawn(self._receive, source, held)
            self._spawn(self._deliver, held, sink)

    def _receive(self, source: socket.socket, held: queue.Queue[tuple[float, bytes]]) -> None:
        while True:
            try:
                chunk = source.recv(65536)
            except OSError:
                chunk = b""
            held.put((time.monotonic() + self.delay_s, chunk))
            if not chunk:
                return

    def _deliver(self, held: queue.Queue[tuple[float, bytes]], sink: socket.socket) -> None:
        while True:
            due, chunk = held.get()
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                if not chunk:
                    sink.shutdown(socket.SHUT_WR)
                    return
                sink.sendall(chunk)
            except OSError:
                return
