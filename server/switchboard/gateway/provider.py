"""One OpenAI-compatible provider reached over a shared, pooled httpx client.

This is the only module that sees HTTP: it turns every way a call can end into either a
`Completion` or a typed `ProviderError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx
from httpx_sse import EventSource

from ..config import ModelConfig, ProviderConfig
from .outcomes import BadResponse, Completion, ConnectFailed, ProviderTimeout
from .policy import error_for_status
from .wire import (
    Prompt,
    StreamAssembler,
    error_code,
    error_message,
    fim_body,
    parse_completion,
    request_body,
    uses_fim,
)

# Error bodies are read only this far: a misbehaving server must not make us buffer megabytes.
_MAX_ERROR_BODY = 16 * 1024
_MAX_ANSWER_BODY = 8 * 1024 * 1024


class ProviderClient:
    """Sends chat (and fill-in-the-middle) completions to one provider. Its key goes to its own
    base URL and nowhere else."""

    def __init__(
        self, name: str, config: ProviderConfig, http: httpx.AsyncClient, api_key: str | None
    ) -> None:
        self.name = name
        self.config = config
        self._http = http
        self._url = config.base_url.rstrip("/") + "/chat/completions"
        self._fim_url = config.base_url.rstrip("/") + "/completions"
        headers = {"content-type": "application/json", **config.headers}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        self._headers = headers
        self._key = api_key
        # The provider's own bound on connections, within the shared pool's: a request waits
        # here for its turn (within its attempt's timeout), not in the pool behind others'.
        self._slots = asyncio.Semaphore(config.max_connections)

    def __repr__(self) -> str:  # never show headers: they carry the key
        return f"ProviderClient({self.name!r}, {self.config.base_url!r})"

    async def complete(self, model: ModelConfig, prompt: Prompt) -> Completion:
        """Ask `model` for a completion (fill-in-the-middle where the model and prompt say so).
        Cancelling the awaiting task closes the connection.

        At most `max_connections` of them are in flight to this provider at once; each holds
        one connection from its request to the end of its answer."""
        async with self._slots:
            return await self._complete(model, prompt)

    async def _complete(self, model: ModelConfig, prompt: Prompt) -> Completion:
        if uses_fim(model, prompt):
            url, body = self._fim_url, fim_body(model, prompt, stream=model.stream)
        else:
            url, body = self._url, request_body(model, prompt, stream=model.stream)
        if not model.stream:
            return await self._exchange(url, model, body, None, prompt.cut_off_ok)
        watch = _StreamWatch(model)
        try:
            async with asyncio.timeout(model.first_token_timeout_s) as limit:
                watch.limit = limit
                return await self._exchange(url, model, body, watch, prompt.cut_off_ok)
        except TimeoutError:
            raise ProviderTimeout(watch.why()) from None

    async def list_models(self, timeout_s: float) -> Any:
        """The provider's `GET {base_url}/models` document (parsed JSON), within `timeout_s`.

        The key goes with it, to this provider's own base URL only, as for completions.
        """
        url = self.config.base_url.rstrip("/") + "/models"
        headers = {k: v for k, v in self._headers.items() if k != "content-type"}
        try:
            async with asyncio.timeout(timeout_s):
                response = await self._http.send(
                    self._http.build_request("GET", url, headers=headers, timeout=timeout_s),
                    stream=True,
                    follow_redirects=False,
                )
                try:
                    if response.status_code != 200:
                        raise await self._error(response)
                    raw = await _read_limited(response, _MAX_ANSWER_BODY)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise ProviderTimeout(f"no answer within {timeout_s:g}s") from None
        except httpx.ConnectError as exc:
            raise ConnectFailed(f"cannot connect ({_reason(exc)})") from None
        except httpx.TimeoutException:
            raise ProviderTimeout("no answer in time") from None
        except httpx.TransportError as exc:
            raise BadResponse(f"the connection failed ({_reason(exc)})") from None
        try:
            return json.loads(raw)
        except ValueError:
            raise BadResponse("the models listing is not JSON") from None

    async def _exchange(
        self,
        url: str,
        model: ModelConfig,
        body: dict[str, Any],
        watch: _StreamWatch | None,
        cut_off_ok: bool = False,
    ) -> Completion:
        timeout = httpx.Timeout(
            connect=self.config.connect_timeout_s,
            read=model.timeout_s,
            write=model.timeout_s,
            pool=model.timeout_s,
        )
        request = self._http.build_request(
            "POST", url, content=json.dumps(body), headers=self._headers, timeout=timeout
        )
        try:
            response = await self._http.send(request, stream=True, follow_redirects=False)
        except httpx.ConnectTimeout:
            raise ConnectFailed("connecting timed out") from None
        except httpx.TimeoutException:
            raise ProviderTimeout("no answer in time") from None
        except httpx.ConnectError as exc:
            raise ConnectFailed(f"cannot connect ({_reason(exc)})") from None
        except httpx.TransportError as exc:
            raise BadResponse(f"the connection failed ({_reason(exc)})") from None
        try:
            if response.status_code != 200:
                raise await self._error(response)
            if watch is not None and _is_event_stream(response):
                return await _read_stream(response, watch, cut_off_ok)
            payload = await _read_limited(response, _MAX_ANSWER_BODY)
            return parse_completion(payload, cut_off_ok=cut_off_ok)
        except httpx.TimeoutException:
            raise ProviderTimeout("the answer stalled") from None
        except httpx.TransportError as exc:
            raise BadResponse(f"the connection broke mid-answer ({_reason(exc)})") from None
        finally:
            await response.aclose()

    async def _error(self, response: httpx.Response) -> Exception:
        raw = await _read_limited(response, _MAX_ERROR_BODY, truncate=True)
        data: Any = None
        with contextlib.suppress(ValueError):
            data = json.loads(raw)
        message = error_message(data) or raw.decode("utf-8", "replace").strip()[:200]
        if self._key and len(self._key) >= 4:
            # Some providers quote the rejected key back; it must not travel further.
            message = message.replace(self._key, "[redacted]")
        if 300 <= response.status_code < 400:
            return BadResponse(f"HTTP {response.status_code}: redirects are not followed")
        return error_for_status(response.status_code, response.headers, error_code(data), message)


class _StreamWatch:
    """The time limits of a streamed attempt: until its first token (from the request on), then
    the longest gap between events. A stream that never starts, or stalls, is not waited out;
    keep-alive comments carry no event and do not count as life."""

    def __init__(self, model: ModelConfig) -> None:
        self.model = model
        self.limit: asyncio.Timeout | None = None
        self.started = False

    def event(self, carried_tokens: bool) -> None:
        self.started = self.started or carried_tokens
        if self.started and self.limit is not None:
            loop = asyncio.get_running_loop()
            self.limit.reschedule(loop.time() + self.model.stream_idle_timeout_s)

    def why(self) -> str:
        if self.started:
            return f"the stream stalled for {self.model.stream_idle_timeout_s:g}s"
        return f"no token within {self.model.first_token_timeout_s:g}s"


async def _read_stream(
    response: httpx.Response, watch: _StreamWatch, cut_off_ok: bool
) -> Completion:
    assembler = StreamAssembler(cut_off_ok=cut_off_ok)
    async for event in EventSource(response).aiter_sse():
        if event.data:
            watch.event(assembler.feed(event.data))
    return assembler.result()


def _is_event_stream(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("text/event-stream")


async def _read_limited(response: httpx.Response, limit: int, *, truncate: bool = False) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            if truncate:
                break
            raise BadResponse(f"the answer is larger than {limit // (1024 * 1024)} MB")
    return b"".join(chunks)[: limit if truncate else None]


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text[:120] if text else type(exc).__name__
