"""Scripted behaviours of the fake provider: each one writes one answer to one request.

A behaviour is a frozen dataclass. The server applies its ``delay`` (watching for the client
going away meanwhile), then calls ``respond`` with an ``Exchange`` that gives it the recorded
request and a few writing primitives. Behaviours round-trip through JSON (``to_json`` /
``behaviour_from_json``) so the control API can script an out-of-process fake.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from .server import Exchange, RecordedRequest

__all__ = [
    "AuthError",
    "Behaviour",
    "CloseConnection",
    "ContextTooLong",
    "CutStream",
    "Drip",
    "Echo",
    "EmptyContent",
    "Hang",
    "HangAfterHeaders",
    "Malformed",
    "ModelNotFound",
    "NoChoices",
    "RateLimited",
    "Reply",
    "ServerError",
    "StallStream",
    "Status",
    "behaviour_from_json",
]

_ids = itertools.count(1)
_STREAM_PIECES = 4


def json_bytes(obj: Any) -> bytes:
    """Compact JSON, as providers send it."""
    return json.dumps(obj, separators=(",", ":")).encode()


def http_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def error_body(message: str, type_: str, code: str | None, param: str | None = None) -> dict:
    """An OpenAI-style error object."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _tokens(text: str) -> int:
    # Rough, like the "4 characters per token" rule of thumb; good enough for usage checks.
    return math.ceil(len(text) / 4)


def _pieces(content: str, size: int | None = None) -> list[str]:
    """`content` in stream events: `size` characters each, or four events by default."""
    if not content:
        return []
    if size is None:
        size = max(1, math.ceil(len(content) / _STREAM_PIECES))
    return [content[i : i + size] for i in range(0, len(content), size)]


class _Completion:
    """The identity and numbers shared by every object of one answer (whole or chunked)."""

    def __init__(
        self,
        request: RecordedRequest,
        content: str | None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        finish_reason: str = "stop",
        reasoning: str | None = None,
        reasoning_field: str = "reasoning_content",
        piece_chars: int | None = None,
    ) -> None:
        self.request = request
        self.content = content
        self.finish_reason = finish_reason
        # Reasoning in its own field (vLLM, DeepSeek: reasoning_content; OpenRouter: reasoning).
        self.reasoning = reasoning
        self.reasoning_field = reasoning_field
        self.piece_chars = piece_chars
        self.id = f"chatcmpl-fake-{next(_ids)}"
        self.created = int(time.time())
        self.model = request.model or "fake-model"
        prompt = _tokens(request.prompt_text) if prompt_tokens is None else prompt_tokens
        completion = _tokens(content or "") if completion_tokens is None else completion_tokens
        self.usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def _envelope(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def whole(self) -> dict[str, Any]:
        """A ``chat.completion`` object (``text_completion`` for a ``/completions`` request)."""
        if self.request.is_fim:
            return {
                **self._envelope("text_completion"),
                "choices": [
                    {
                        "index": 0,
                        "text": self._fim_text(),
                        "logprobs": None,
                        "finish_reason": self.finish_reason,
                    }
                ],
                "usage": self.usage,
            }
        return {
            **self._envelope("chat.completion"),
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": self.content,
                        "refusal": None,
                        **({self.reasoning_field: self.reasoning} if self.reasoning else {}),
                    },
                    "logprobs": None,
                    "finish_reason": self.finish_reason,
                }
            ],
            "usage": self.usage,
        }

    def chunks(self) -> list[dict[str, Any]]:
        """The ``chat.completion.chunk`` objects of the same answer, as OpenAI streams them."""
        include_usage = self.request.include_usage
        if self.request.is_fim:
            return self._text_chunks(include_usage)

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            obj = {
                **self._envelope("chat.completion.chunk"),
                "choices": [
                    {
                        "index": 0,
                        "delta": delta,
                        "logprobs": None,
                        "finish_reason": finish_reason,
                    }
                ],
            }
            if include_usage:
                obj["usage"] = None
            return obj

        first_content = None if self.content is None else ""
        out = [chunk({"role": "assistant", "content": first_content})]
        # Reasoning streams first, in its own field, with null content (as vLLM sends it).
        out += [
            chunk({"content": None, self.reasoning_field: piece})
            for piece in _pieces(self.reasoning or "", self.piece_chars)
        ]
        pieces = _pieces(self.content or "", self.piece_chars)
        out += [chunk({"content": piece}) for piece in pieces]
        out.append(chunk({}, self.finish_reason))
        if include_usage:
            out.append(
                {**self._envelope("chat.completion.chunk"), "choices": [], "usage": self.usage}
            )
        return out

    def _fim_text(self) -> str:
        # A text completion has no reasoning field: a thinking model writes it inline.
        thought = f"<think>{self.reasoning}</think>" if self.reasoning else ""
        return thought + (self.content or "")

    def _text_chunks(self, include_usage: bool) -> list[dict[str, Any]]:
        """The streamed ``text_completion`` objects of a ``/completions`` answer: each choice
        carries ``text``, the last a ``finish_reason``."""

        def chunk(text: str, finish_reason: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish_reason}
            obj: dict[str, Any] = {**self._envelope("text_completion"), "choices": [choice]}
            if include_usage:
                obj["usage"] = None
            return obj

        text = self._fim_text()
        out = [chunk(piece) for piece in _pieces(text, self.piece_chars)]
        out.append(chunk("", self.finish_reason))
        if include_usage:
            out.append({**self._envelope("text_completion"), "choices": [], "usage": self.usage})
        return out

    def body(self) -> bytes:
        """The whole answer's bytes, for a non-streaming response."""
        return json_bytes(self.whole())

    def events(self) -> list[bytes]:
        """The SSE events of the streamed answer, ``[DONE]`` included."""
        return [json_bytes(c) for c in self.chunks()] + [b"[DONE]"]


class Behaviour:
    """Base of all behaviours. Subclasses are frozen dataclasses with a ``delay`` field."""

    delay: float
    kind: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.kind = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()
        if not cls.__name__.startswith("_"):
            _KINDS[cls.kind] = cls

    async def respond(self, ex: Exchange) -> None:
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        """``{"kind": ..., **fields}``; the inverse of ``behaviour_from_json``."""
        return {"kind": self.kind, **{f.name: getattr(self, f.name) for f in fields(self)}}  # type: ignore[arg-type]


_KINDS: dict[str, type[Behaviour]] = {}


def behaviour_from_json(data: dict[str, Any]) -> Behaviour:
    """Build a behaviour from ``{"kind": "rate_limited", "retry_after": 2, ...}``."""
    data = dict(data)
    kind = data.pop("kind", None)
    cls = _KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"unknown behaviour kind {kind!r}; known: {sorted(_KINDS)}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise ValueError(f"bad fields for {kind!r}: {exc}") from None


# --- answers -------------------------------------------------------------------------------


async def _answer(ex: Exchange, completion: _Completion) -> None:
    if ex.request.stream:
        await ex.send_sse(completion.events())
    else:
        await ex.send_json(200, completion.body())


@dataclass(frozen=True)
class Reply(Behaviour):
    """A proper answer; streamed as SSE when the request asked for ``stream: true``.

    ``reasoning`` goes in its own message field (``reasoning_field``), as reasoning models'
    servers send it. Streamed, ``piece_chars`` sets how many characters each event carries
    (default: the content in four events), and ``write_bytes`` writes the stream in pieces of
    that many bytes, so that events and UTF-8 sequences are cut at any byte.
    """

    content: str
    delay: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = "stop"
    reasoning: str | None = None
    reasoning_field: str = "reasoning_content"
    piece_chars: int | None = None
    write_bytes: int | None = None
    cost: float | None = None  # the provider's own `usage.cost` in USD, as OpenRouter sends

    async def respond(self, ex: Exchange) -> None:
        completion = _Completion(
            ex.request,
            self.content,
            self.prompt_tokens,
            self.completion_tokens,
            self.finish_reason,
            self.reasoning,
            self.reasoning_field,
            self.piece_chars,
        )
        if self.cost is not None:
            completion.usage["cost"] = self.cost
        if ex.request.stream and self.write_bytes:
            await ex.send_sse_in_pieces(completion.events(), self.write_bytes)
        else:
            await _answer(ex, completion)


def last_user_message(request: RecordedRequest) -> str:
    """The text of the request's last user message ("" when there is none); a text
    completion's prompt."""
    if request.is_fim and isinstance(request.json, dict):
        return _text_of(request.json.get("prompt"))
    for message in reversed(request.messages):
        if message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") for part in content if isinstance(part, dict) and "text" in part
        )
    return ""


@dataclass(frozen=True)
class Echo(Behaviour):
    """Like ``Reply``, with the content computed from the request (default: last user message)."""

    transform: Callable[[RecordedRequest], str] | None = None
    delay: float = 0.0

    async def respond(self, ex: Exchange) -> None:
        transform = self.transform or last_user_message
        await _answer(ex, _Completion(ex.request, transform(ex.request)))

    def to_json(self) -> dict[str, Any]:
        if self.transform is not None:
            raise TypeError("Echo with a transform cannot be sent through the control API")
        return {"kind": self.kind, "delay": self.delay}


# --- error statuses ------------------------------------------------------------------------


class _ErrorStatus(Behaviour):
    """An error answer; always plain JSON, whether or not the request asked for a stream."""

    def parts(self) -> tuple[int, dict | str | None, dict[str, str]]:
        raise NotImplementedError

    async def respond(self, ex: Exchange) -> None:
        code, body, headers = self.parts()
        if body is None:
            phrase = http_phrase(code)
            body = error_body(
                phrase, "server_error" if code >= 500 else "invalid_request_error", None
            )
        if isinstance(body, str):
            await ex.send_json(code, body.encode(), headers, content_type="text/plain")
        else:
            await ex.send_json(code, json_bytes(body), headers)


@dataclass(frozen=True)
class Status(_ErrorStatus):
    """Any status with an optional body (dict as JSON, str as text) and headers."""

    code: int
    body: dict | str | None = None
    headers: dict[str, str] | None = None
    delay: float = 0.0

    def parts(self) -> tuple[int, dict | str | None, dict[str, str]]:
        return self.code, self.body, dict(self.headers or {})


@dataclass(frozen=True)
class RateLimited(_ErrorStatus):
    """429 with ``retry-after`` (seconds) and/or ``retry-after-ms`` headers."""

    retry_after: float | None = None
    retry_after_ms: int | None = None
    code: int = 429
    delay: float = 0.0

    def parts(self) -> tuple[int, dict | str | None, dict[str, str]]:
        headers = {}
        if self.retry_after is not None:
            ra = self.retry_after
            headers["retry-after"] = str(int(ra)) if float(ra).is_integer() else str(ra)
        if self.retry_after_ms is not None:
            headers["retry-after-ms"] = str(self.retry_after_ms)
        body = error_body(
            "Rate limit reached for requests. Please try again later.",
            "rate_limit_exceeded",
            "rate_limit_exceeded",
        )
        return self.code, body, headers


@dataclass(frozen=True)
class ServerError(_ErrorStatus):
    """A 5xx (or 408) with an OpenAI-style ``server_error`` body."""

    code: int = 500
    delay: float = 0.0

    def parts(self) -> tuple[int, dict | str | None, dict[str, str]]:
        message = (
            f"The server had an error while processing your request ({http_phrase(self.code)})."
        )
        return self.code, error_body(message, "server_error", None), {}


@dataclass(frozen=True)
class AuthError(_ErrorStatus):
    """401 (or 403) like OpenAI's answer to a wrong key."""

    code: int = 401
    delay: float = 0.0

    def parts(self) -> tuple[int, dict | str | None, dict[str, str]]:
        if self.code == 403:
            body = error_body(
                "You are not allowed to sample from this model",
                "invalid_request_error",
                "permission_denied",
            )
        else:
            body = error_body(
                "Incorrect API key provided. You can find your API key in your account settings.",
                "invalid_request_error",
                "invalid_api_key",
            )
        return self.code, body, {}


@dataclass(frozen=True)
class ModelNotFound(_ErrorStatus):
    """404 ``model_not_found``."""

    delay: float = 0.0

    def parts(self) -> tuple[int, dict | str | None, dict[str, str]]:
        message = "The model does not exist or you do not have access to it."
        return 404, error_body(message, "invalid_request_error", "model_not_found", "model"), {}


@dataclass(frozen=True)
class ContextTooLong(_ErrorStatus):
    """400 ``context_length_exceeded``, with OpenAI's wording."""

    max_tokens: int = 8192
    delay: float = 0.0

    def parts(self) -> tuple[int, dict | str | None, dict[str, str]]:
        message = (
            f"This model's maximum context length is {self.max_tokens} tokens. However, your "
            "messages resulted in more tokens. Please reduce the length of the messages."
        )
        body = error_body(message, "invalid_request_error", "context_length_exceeded", "messages")
        return 400, body, {}


# --- misbehaviour --------------------------------------------------------------------------


@dataclass(frozen=True)
class Hang(Behaviour):
    """Read the request and never answer, until the client gives up or the server stops."""

    delay: float = 0.0

    async def respond(self, ex: Exchange) -> None:
        await ex.hold()


@dataclass(frozen=True)
class HangAfterHeaders(Behaviour):
    """Send ``200`` headers, then nothing."""

    delay: float = 0.0

    async def respond(self, ex: Exchange) -> None:
        if ex.request.stream:
            await ex.send(ex.sse_head())
        else:
            await ex.send(ex.head(200, "application/json", content_length=1024))
        await ex.hold()


@dataclass(frozen=True)
class Drip(Behaviour):
    """A valid answer whose body arrives one byte per ``interval`` seconds."""

    content: str = "drip"
    interval: float = 1.0
    delay: float = 0.0

    async def respond(self, ex: Exchange) -> None:
        completion = _Completion(ex.request, self.content)
        if ex.request.stream:
            body = b"".join(b"data: " + event + b"\n\n" for event in completion.events())
            await ex.send(ex.sse_head())
            pieces = [ex.chunk(body[i : i + 1]) for i in range(len(body))] + [ex.LAST_CHUNK]
        else:
            body = completion.body()
            await ex.send(ex.head(200, "application/json", content_length=len(body)))
            pieces = [body[i : i + 1] for i in range(len(body))]
        for piece in pieces:
            await ex.sleep(self.interval)
            await ex.send(piece)


@dataclass(frozen=True)
class StallStream(Behaviour):
    """Stream the first ``after_chunks`` events of an answer, then nothing, with the connection
    held open (a provider that stalls mid-answer). Non-streamed: the headers and half the body."""

    content: str = "This answer stalls before it ends."
    after_chunks: int = 3
    delay: float = 0.0

    async def respond(self, ex: Exchange) -> None:
        completion = _Completion(ex.request, self.content)
        if ex.request.stream:
            await ex.send_sse(completion.events()[: self.after_chunks], complete=False)
        else:
            body = completion.body()
            head = ex.head(200, "application/json", content_length=len(body))
            await ex.send(head + body[: len(body) // 2])
        await ex.hold()


@dataclass(frozen=True)
class CloseConnection(Behaviour):
    """Read the request and close the socket without writing anything."""

    delay: float = 0.0

    async def respond(self, ex: Exchange) -> None:
        ex.close_after()


@dataclass(frozen=True)
class Malformed(Behaviour):
    """``200 application/json`` whose body is not JSON (for streams: a broken ``data:`` event)."""

    delay: float = 0.0

    async def respond(self, ex: Exchange) -> None:
        if ex.request.stream:
            await ex.send_sse([b'{"choices": [', b"[DONE]"])
        else:
            await ex.send_json(200, b'{"choices": [')


@dataclass(frozen=True)
class NoChoices(Behaviour):
    """``200`` with valid JSON that lacks ``choices``."""

    delay: float = 0.0

    async def respond(self, ex: Exchange) -> None:
        completion = _Completion(ex.request, "")
        if ex.request.stream:
            chunk = completion.chunks()[0]
            del chunk["choices"]
            await ex.send_sse([json_bytes(chunk), b"[DONE]"])
        else:
            whole = completion.whole()
            del whole["choices"]
            await ex.send_json(200, json_bytes(whole))


@dataclass(frozen=True)
class EmptyContent(Behaviour):
    """``200`` with ``content == ""`` (or ``null`` with ``null=True``)."""

    null: bool = False
    delay: float = 0.0

    async def respond(self, ex: Exchange) -> None:
        await _answer(ex, _Completion(ex.request, None if self.null else ""))


@dataclass(frozen=True)
class CutStream(Behaviour):
    """Stream ``after_chunks`` SSE events, then close the socket: no final chunk, no [DONE].

    For a non-stream request: announce a Content-Length, send half the body, then close.
    """

    content: str = "This answer is cut short before it ends."
    after_chunks: int = 2
    delay: float = 0.0

    async def respond(self, ex: Exchange) -> None:
        completion = _Completion(ex.request, self.content)
        if ex.request.stream:
            await ex.send_sse(completion.events()[: self.after_chunks], complete=False)
        else:
            body = completion.body()
            head = ex.head(200, "application/json", content_length=len(body))
            await ex.send(head + body[: len(body) // 2])
        ex.close_after()
