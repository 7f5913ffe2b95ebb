"""A real HTTP/1.1 server on loopback that speaks OpenAI chat completions and can misbehave.

Written on ``asyncio.start_server`` streams, in its own event loop on a daemon thread, so that
it can hang, drip bytes, cut a stream or close the socket, and notice when the client goes away
(which a framework would hide). Requests are handled on the loop thread itself: no thread hop
per request; the test thread and the loop share state under one lock.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

from .behaviours import (
    Behaviour,
    Reply,
    behaviour_from_json,
    error_body,
    http_phrase,
    json_bytes,
)

__all__ = [
    "Exchange",
    "FakeProvider",
    "RecordedRequest",
    "validate_chat_request",
    "validate_completions_request",
]

# Kept in the repository (tests/schemas/README.md says where it comes from).
SCHEMA_PATH = (
    Path(__file__).resolve().parent.parent / "schemas" / "chat-completions-request.schema.json"
)
COMPLETIONS_SCHEMA_PATH = SCHEMA_PATH.with_name("completions-request.schema.json")
_HEAD_LIMIT = 1 << 16
_log = logging.getLogger(__name__)


# --- request schema ------------------------------------------------------------------------


class _RequestSchema:
    """OpenAI's ``CreateChatCompletionRequest``, prepared once for fast validation.

    The document is OpenAPI 3.0 flavoured, so it is adapted before use: ``$ref`` is inlined
    (the schemas are not recursive), ``nullable: true`` becomes ``anyOf [..., null]``
    (jsonschema ignores ``nullable``), and the messages' ``oneOf`` is dispatched on ``role``, as
    its OpenAPI ``discriminator`` says. The request and each message are plain object schemas,
    checked key by key (``_ObjectSchema``). A small body went from ~0.9 ms with the document
    as-is to ~0.06 ms.
    """

    # Annotations only; dropping them lets a part be recognised as a plain object schema.
    _DROP = frozenset(
        {"description", "example", "discriminator", "title", "deprecated", "x-oaiTypeLabel"}
    )

    def __init__(self, path: Path) -> None:
        document = json.loads(path.read_text())
        self._schemas: dict[str, Any] = document["components"]["schemas"]
        self.name = document["$ref"].rsplit("/", 1)[-1]
        top = _flatten(self._prepare(self._schemas[self.name]))
        self.messages: dict[str, _ObjectSchema] = {}
        # The chat request only; the text-completion request has a plain `prompt` instead.
        messages = next(
            (p["properties"]["messages"] for p in top if "messages" in p["properties"]), None
        )
        if messages is not None:
            for option in messages["items"].pop("oneOf"):
                role = option["properties"]["role"]["enum"][0]
                self.messages[role] = _ObjectSchema(_flatten(option), closed=False)
            messages["items"]["type"] = "object"  # each item is checked against its role's schema
        self.request = _ObjectSchema(top, closed=True)

    def _prepare(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self._prepare(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return self._prepare(self._schemas[node["$ref"].rsplit("/", 1)[-1]])
        out = {k: self._prepare(v) for k, v in node.items() if k not in self._DROP}
        if out.pop("nullable", False):
            return {"anyOf": [out, {"type": "null"}]}
        return out

    def errors(self, body: Any) -> tuple[str, ...]:
        if not isinstance(body, dict):
            return (f"<body>: must be a JSON object, not {type(body).__name__}",)
        errors = self.request.errors(body, "", unknown=f"unknown field (not in {self.name})")
        messages = body.get("messages")
        if self.messages and isinstance(messages, list):
            for i, message in enumerate(messages):
                if not isinstance(message, dict):
                    continue  # reported against the messages array
                schema = self.messages.get(message.get("role"))  # type: ignore[arg-type]
                if schema is None:
                    roles = ", ".join(self.messages)
                    errors.append(
                        f"messages.{i}.role: {message.get('role')!r} is not one of {roles}"
                    )
                else:
                    errors += schema.errors(message, f"messages.{i}")
        return tuple(errors)


def _flatten(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The parts of an ``allOf`` tree of object schemas, as one flat list."""
    rest = {k: v for k, v in node.items() if k != "allOf"}
    parts = [rest] if rest else []
    for part in node.get("allOf", []):
        parts += _flatten(part)
    return parts


class _ObjectSchema:
    """An object schema made of parts holding only ``type: object``, ``properties`` and
    ``required`` (as the request and every message are), checked key by key: the cost follows
    the keys a body has, not the forty the request schema defines."""

    def __init__(self, parts: list[dict[str, Any]], *, closed: bool) -> None:
        from jsonschema import Draft202012Validator  # a dev dependency; loaded on first use

        required: dict[str, None] = {}
        by_key: dict[str, list[Any]] = {}
        for part in parts:
            extra = set(part) - {"type", "properties", "required"}
            if extra or part.get("type", "object") != "object":
                raise ValueError(f"not a plain object schema part: {sorted(part)}")
            required.update(dict.fromkeys(part.get("required", ())))
            for key, subschema in part.get("properties", {}).items():
                by_key.setdefault(key, []).append(subschema)
        self.required = tuple(required)
        self.closed = closed  # whether keys the schema does not define are errors
        self.validators = {
            key: Draft202012Validator(subs[0] if len(subs) == 1 else {"allOf": subs})
            for key, subs in by_key.items()
        }

    def errors(self, obj: dict[str, Any], where: str, unknown: str = "unknown field") -> list[str]:
        errors = [
            f"{where or '<body>'}: {k!r} is a required property"
            for k in self.required
            if k not in obj
        ]
        for key, value in obj.items():
            path = f"{where}.{key}" if where else key
            validator = self.validators.get(key)
            if validator is None:
                if self.closed:
                    errors.append(f"{path}: {unknown}")
                continue
            errors += [
                f"{'.'.join([path, *map(str, e.absolute_path)])}: {e.message}"
                for e in validator.iter_errors(value)
            ]
        return errors


@functools.cache
def _schema() -> _RequestSchema:
    return _RequestSchema(SCHEMA_PATH)


def validate_chat_request(body: Any) -> tuple[str, ...]:
    """Errors of a parsed chat-completions request body against OpenAI's schema (empty if valid)."""
    return _schema().errors(body)


@functools.cache
def _completions_schema() -> _RequestSchema:
    return _RequestSchema(COMPLETIONS_SCHEMA_PATH)


def validate_completions_request(body: Any) -> tuple[str, ...]:
    """Errors of a parsed `/completions` (fill-in-the-middle) body against OpenAI's
    `CreateCompletionRequest` (empty if valid)."""
    return _completions_schema().errors(body)


# --- records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names, values as received
    body: bytes
    json: Any  # the parsed body, or None
    model: str | None
    stream: bool
    received_at: float  # time.monotonic()
    schema_errors: tuple[str, ...] = ()
    _disconnected: threading.Event = field(
        default_factory=threading.Event, repr=False, compare=False
    )

    @property
    def client_disconnected(self) -> bool:
        """Whether the client closed the connection before the response was complete."""
        return self._disconnected.is_set()

    def wait_client_disconnected(self, timeout: float = 5.0) -> bool:
        """Block until the client has gone away mid-response; False on timeout."""
        return self._disconnected.wait(timeout)

    @property
    def is_fim(self) -> bool:
        """A text completion (`/completions`, fill-in-the-middle), not a chat one."""
        path = self.path.split("?", 1)[0]
        return path.endswith("/completions") and not path.endswith("/chat/completions")

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages = self.json.get("messages") if isinstance(self.json, dict) else None
        return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []

    @property
    def prompt_text(self) -> str:
        """All message contents (text parts of multi-part contents too), joined by newlines; for
        a text completion, its prompt and suffix."""
        if self.is_fim and isinstance(self.json, dict):
            parts = (self.json.get("prompt"), self.json.get("suffix"))
            return "\n".join(part for part in parts if isinstance(part, str))
        texts = []
        for message in self.messages:
            content = message.get("content")
            if isinstance(content, str):
                texts.append(content)
            elif isinstance(content, list):
                texts += [p["text"] for p in content if isinstance(p, dict) and "text" in p]
        return "\n".join(texts)

    @property
    def include_usage(self) -> bool:
        options = self.json.get("stream_options") if isinstance(self.json, dict) else None
        return isinstance(options, dict) and options.get("include_usage") is True

    def to_json(self) -> dict[str, Any]:
        """A JSON-able summary (no raw bytes), as the control API lists it."""
        return {
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
            "json": self.json,
            "model": self.model,
            "stream": self.stream,
            "received_at": self.received_at,
            "schema_errors": list(self.schema_errors),
            "client_disconnected": self.client_disconnected,
        }


# --- one connection, one exchange ----------------------------------------------------------


class _ClientGone(Exception):
    """The client closed or reset the connection before the response was complete."""


def _head(
    status: int,
    content_type: str,
    *,
    content_length: int | None = None,
    chunked: bool = False,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """A status line and headers."""
    lines = [f"HTTP/1.1 {status} {http_phrase(status)}", f"content-type: {content_type}"]
    if content_length is not None:
        lines.append(f"content-length: {content_length}")
    if chunked:
        lines.append("transfer-encoding: chunked")
    if headers:
        lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class _Connection:
    """A client connection: reads requests and, while a response waits, watches for EOF."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._pending = b""  # bytes read by the EOF watcher that belong to the next request
        self._eof = False
        self._watch: asyncio.Task[bytes] | None = None
        self._can_watch = True

    async def read_head(self) -> bytes | None:
        """The next request's head, or None when the client closed between requests."""
        if self._eof:
            return None
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial or self._pending:
                raise
            return None
        head, self._pending = self._pending + head, b""
        return head

    async def read_body(self, length: int) -> bytes:
        return await self.reader.readexactly(length) if length else b""

    async def wait_gone(self, seconds: float | None) -> bool:
        """Wait ``seconds`` (None: forever); True as soon as the client is gone."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while self._can_watch:
            if self._watch is None:
                self._watch = asyncio.ensure_future(self.reader.read(1))
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            done, _ = await asyncio.wait({self._watch}, timeout=remaining)
            if not done:
                return False
            if self._settle_watch():
                return True
        # The client sent its next request early (pipelining): stop watching, just wait.
        if deadline is None:
            await asyncio.Event().wait()  # until cancelled by stop()
        else:
            await asyncio.sleep(max(0.0, deadline - time.monotonic()))
        return False

    def _settle_watch(self) -> bool:
        """Take the finished watcher's result; True when it saw the client go away."""
        watch, self._watch = self._watch, None
        assert watch is not None and watch.done()
        try:
            data = watch.result()
        except OSError:  # reset by the client
            data = b""
        if not data:
            self._eof = True
            return True
        self._pending += data
        self._can_watch = False
        return False

    async def end_response(self) -> None:
        """Stop watching for EOF, so that reading the next request owns the stream."""
        watch = self._watch
        if watch is not None:
            if not watch.done():
                watch.cancel()
                await asyncio.wait({watch})
            if watch.cancelled():
                self._watch = None
            else:
                self._settle_watch()
        self._can_watch = True

    async def send(self, data: bytes) -> None:
        """Write and drain; a client that went away raises ``_ClientGone``."""
        if self.writer.transport.is_closing():
            raise _ClientGone
        self.writer.write(data)
        try:
            await self.writer.drain()
        except ConnectionError:
            raise _ClientGone from None

    async def send_json(
        self,
        status: int,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        content_type: str = "application/json",
    ) -> None:
        """A whole response with a Content-Length, in one write."""
        await self.send(
            _head(status, content_type, content_length=len(body), headers=headers) + body
        )

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.wait({self._watch})
            self._watch = None
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            # stop(): drop what the client has not read rather than wait for it to read it.
            self.writer.transport.abort()
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except asyncio.CancelledError:
            self.writer.transport.abort()
            raise
        except OSError:
            pass


class Exchange:
    """What a behaviour gets: the recorded request and the means to write its answer."""

    LAST_CHUNK: ClassVar[bytes] = b"0\r\n\r\n"

    def __init__(self, conn: _Connection, request: RecordedRequest, keep_alive: bool) -> None:
        self._conn = conn
        self.request = request
        self.keep_alive = keep_alive

    head = staticmethod(_head)

    def sse_head(self) -> bytes:
        # Chunked framing makes a cut stream detectable: a close without the 0-chunk is an
        # incomplete message for the client (httpx raises RemoteProtocolError).
        return self.head(
            200, "text/event-stream", chunked=True, headers={"cache-control": "no-cache"}
        )

    @staticmethod
    def chunk(data: bytes) -> bytes:
        return b"%x\r\n%b\r\n" % (len(data), data)

    async def send(self, data: bytes) -> None:
        await self._conn.send(data)

    async def send_json(
        self,
        status: int,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        content_type: str = "application/json",
    ) -> None:
        await self._conn.send_json(status, body, headers, content_type=content_type)

    async def send_sse(self, events: Iterable[bytes], *, complete: bool = True) -> None:
        """An SSE response (``data: <event>`` each), in one write; ``complete=False`` leaves
        out the terminating chunk, for the caller to cut the stream."""
        parts = [self.sse_head()]
        parts += [self.chunk(b"data: " + event + b"\n\n") for event in events]
        if complete:
            parts.append(self.LAST_CHUNK)
        await self.send(b"".join(parts))

    async def send_sse_in_pieces(self, events: Iterable[bytes], size: int) -> None:
        """An SSE response written ``size`` bytes at a time, each its own HTTP chunk and its own
        write, yielding between them: lines, events and UTF-8 sequences arrive cut anywhere."""
        body = b"".join(b"data: " + event + b"\n\n" for event in events)
        await self.send(self.sse_head())
        for at in range(0, len(body), size):
            await self.send(self.chunk(body[at : at + size]))
            await asyncio.sleep(0)
        await self.send(self.LAST_CHUNK)

    async def sleep(self, seconds: float) -> None:
        """Sleep, but raise ``_ClientGone`` as soon as the client goes away."""
        if seconds > 0 and await self._conn.wait_gone(seconds):
            raise _ClientGone

    async def hold(self) -> None:
        """Never answer: return (raising ``_ClientGone``) only when the client goes away."""
        await self._conn.wait_gone(None)
        raise _ClientGone

    def close_after(self) -> None:
        """Close the connection once the behaviour returns (whatever was written stays sent)."""
        self.keep_alive = False


def _error(message: str, code: str | None = None) -> bytes:
    return json_bytes(error_body(message, "invalid_request_error", code))


# --- the server ----------------------------------------------------------------------------


class FakeProvider:
    """An OpenAI-compatible fake upstream on loopback, scripted per model.

    ``with FakeProvider() as fake:`` starts it on a free port; ``fake.base_url`` is the
    ``.../v1`` URL to configure. Each request's ``model`` picks its behaviour: the next one
    scripted for that model, else that model's default, else the global default.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        strict_schema: bool = True,
        default_reply: str = "ok",
        default_latency: float = 0.0,
    ) -> None:
        self.host = host
        self.port = port
        self.strict_schema = strict_schema
        self._initial_default: Behaviour = Reply(default_reply)
        self.default_latency = default_latency  # added to the delay of default behaviours
        self._cond = threading.Condition()
        self._scripts: dict[str, deque[Behaviour]] = {}
        self._defaults: dict[str | None, Behaviour] = {None: self._initial_default}
        self._models: dict[str, None] = {}  # insertion-ordered set
        self._prices: dict[str, dict[str, Any]] = {}  # model -> OpenRouter-style listing fields
        self._requests: list[RecordedRequest] = []
        self._open = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._started = threading.Event()
        self._startup_error: BaseException | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        _schema()  # load now (once per process), not during the first request
        _completions_schema()

    # lifecycle

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError("FakeProvider already started")
        self._thread = threading.Thread(target=self._run, name="fake-provider", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._startup_error is not None:
            self._thread.join()
            raise self._startup_error
        return self

    def stop(self) -> None:
        """Close every connection and the listener, and join the loop thread."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None or loop is None or stopping is None or not thread.is_alive():
            return
        loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout=10)
        if thread.is_alive():
            raise RuntimeError("fake provider thread did not stop")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    # scripting

    def script(self, model: str, *steps: Behaviour) -> None:
        """Queue behaviours for requests whose body ``model`` is ``model``, consumed in order."""
        for step in steps:
            if not isinstance(step, Behaviour):
                raise TypeError(f"not a behaviour: {step!r}")
        with self._cond:
            self._scripts.setdefault(model, deque()).extend(steps)
            self._models[model] = None

    def default(self, model: str | None, behaviour: Behaviour) -> None:
        """The behaviour for ``model`` once its script is used up (``None``: any model)."""
        if not isinstance(behaviour, Behaviour):
            raise TypeError(f"not a behaviour: {behaviour!r}")
        with self._cond:
            self._defaults[model] = behaviour
            if model is not None:
                self._models[model] = None

    def price(
        self,
        model: str,
        *,
        prompt: float,
        completion: float,
        context_length: int | None = None,
    ) -> None:
        """List ``model`` with OpenRouter-style prices (USD per token, sent as decimal strings,
        as OpenRouter does) and context length."""
        pricing = {"prompt": f"{prompt:.12f}", "completion": f"{completion:.12f}"}
        entry: dict[str, Any] = {"pricing": pricing}
        if context_length is not None:
            entry["context_length"] = context_length
        with self._cond:
            self._prices[model] = entry
            self._models[model] = None

    def reset(self) -> None:
        """Forget scripts, defaults and recorded requests."""
        with self._cond:
            self._prices.clear()
            self._scripts.clear()
            self._defaults = {None: self._initial_default}
            self._models.clear()
            self._requests.clear()

    def _next_behaviour(self, model: str | None) -> tuple[Behaviour, bool]:
        """The behaviour for a request and whether it is a default (defaults get latency)."""
        with self._cond:
            queue = self._scripts.get(model) if model is not None else None
            if queue:
                return queue.popleft(), False
            return self._defaults.get(model) or self._defaults[None], True

    # observation

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the recorded requests, in arrival order."""
        with self._cond:
            return list(self._requests)

    def requests_for(self, model: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.model == model]

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``n`` requests have arrived; TimeoutError otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._requests) >= n, timeout):
                raise TimeoutError(f"{len(self._requests)} requests arrived, wanted {n}")
            return list(self._requests)

    @property
    def open_connections(self) -> int:
        with self._cond:
            return self._open

    def wait_until_no_open_connections(self, timeout: float = 5.0) -> bool:
        """Block until every client connection is closed; TimeoutError otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._open == 0, timeout):
                raise TimeoutError(f"{self._open} connections still open")
            return True

    # the loop thread

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:
            if not self._started.is_set():
                self._startup_error = exc
            else:
                raise
        finally:
            self._started.set()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(
            self._on_connect, self.host, self.port, limit=_HEAD_LIMIT, backlog=1024
        )
        self.port = server.sockets[0].getsockname()[1]
        self._started.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks)
            await server.wait_closed()

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        with self._cond:
            self._open += 1
        conn = _Connection(reader, writer)
        try:
            try:
                while await self._serve_one(conn):
                    pass
            except (
                _ClientGone,
                ConnectionError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
            ):
                pass
            finally:
                await conn.close()
        except asyncio.CancelledError:
            # Only stop() cancels a connection (mid-request or mid-close). End the task normally
            # all the same: on 3.11 the streams callback calls task.exception() on it, which
            # logs a cancelled task as an error.
            pass
        finally:
            self._tasks.discard(task)
            with self._cond:
                self._open -= 1
                self._cond.notify_all()

    async def _serve_one(self, conn: _Connection) -> bool:
        """Read and answer one request; True to keep the connection for another."""
        head = await conn.read_head()
        if head is None:
            return False
        try:
            method, target, version, headers = _parse_head(head)
            length = int(headers.get("content-length", "0"))
        except ValueError as exc:
            await conn.send_json(400, _error(f"bad request: {exc}"), {"connection": "close"})
            return False
        body = await conn.read_body(length)
        connection = headers.get("connection", "").lower()
        keep_alive = connection != "close" and (version != "HTTP/1.0" or connection == "keep-alive")
        path = target.split("?", 1)[0]

        if path.startswith("/_control/"):
            status, payload = self._control(method, path, body)
            await conn.send_json(status, payload)
            return keep_alive

        received_at = time.monotonic()
        is_fim = (
            method == "POST"
            and path.endswith("/completions")
            and not path.endswith("/chat/completions")
        )
        is_chat = method == "POST" and (path.endswith("/chat/completions") or is_fim)
        parsed, errors = _parse_body(body) if is_chat else (None, ())
        if parsed is not None:
            errors = (validate_completions_request if is_fim else validate_chat_request)(parsed)
        request = RecordedRequest(
            method=method,
            path=target,
            headers=headers,
            body=body,
            json=parsed,
            model=parsed.get("model") if isinstance(parsed, dict) else None,
            stream=isinstance(parsed, dict) and parsed.get("stream") is True,
            received_at=received_at,
            schema_errors=errors,
        )
        with self._cond:
            self._requests.append(request)
            self._cond.notify_all()

        if not is_chat:
            if method == "GET" and path.rstrip("/").endswith("/models"):
                await conn.send_json(200, self._models_listing())
            else:
                await conn.send_json(404, _error(f"no route for {method} {path}", code="not_found"))
            return keep_alive
        if errors and (self.strict_schema or parsed is None):
            message = "invalid request body: " + "; ".join(errors)
            await conn.send_json(400, _error(message, code="invalid_request_body"))
            return keep_alive

        behaviour, is_default = self._next_behaviour(request.model)
        delay = behaviour.delay + (self.default_latency if is_default else 0.0)
        ex = Exchange(conn, request, keep_alive)
        try:
            await ex.sleep(delay)
            await behaviour.respond(ex)
        except _ClientGone:
            request._disconnected.set()
            return False
        except Exception as exc:
            # A broken behaviour (say, an Echo transform that raises) should fail the test
            # that scripted it loudly, not leave its client waiting.
            _log.exception("fake provider: %r failed", behaviour)
            await conn.send_json(500, _error(f"fake provider behaviour failed: {exc!r}"))
            return False
        finally:
            await conn.end_response()
        return ex.keep_alive

    def _models_listing(self) -> bytes:
        with self._cond:
            models = list(self._models)
            prices = dict(self._prices)
        data = [
            {"id": m, "object": "model", "created": 0, "owned_by": "fake", **prices.get(m, {})}
            for m in models
        ]
        return json_bytes({"object": "list", "data": data})

    def _control(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        """The control API, for scripting a fake that runs in another process."""
        try:
            payload = json.loads(body) if body else {}
            if method == "POST" and path == "/_control/script":
                steps = [behaviour_from_json(s) for s in payload["steps"]]
                self.script(payload["model"], *steps)
            elif method == "POST" and path == "/_control/default":
                self.default(payload.get("model"), behaviour_from_json(payload["step"]))
            elif method == "POST" and path == "/_control/reset":
                self.reset()
            elif method == "GET" and path == "/_control/requests":
                return 200, json_bytes([r.to_json() for r in self.requests])
            else:
                return 404, _error(f"no control route {method} {path}", code="not_found")
        except (ValueError, KeyError, TypeError) as exc:
            return 400, _error(f"bad control request: {exc!r}")
        return 200, b'{"ok":true}'


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    lines = head[:-4].decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"malformed header line {line!r}")
        name = name.strip().lower()
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return method, target, version, headers


def _parse_body(body: bytes) -> tuple[Any, tuple[str, ...]]:
    try:
        return json.loads(body), ()
    except ValueError as exc:
        return None, (f"<body>: not valid JSON ({exc})",)
