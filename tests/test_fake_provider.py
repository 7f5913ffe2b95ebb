"""The fake provider itself, driven with plain httpx: each behaviour does what tests rely on."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fake_provider import (
    AuthError,
    Behaviour,
    CloseConnection,
    ContextTooLong,
    CutStream,
    Drip,
    Echo,
    EmptyContent,
    FakeProvider,
    Hang,
    HangAfterHeaders,
    Malformed,
    ModelNotFound,
    NoChoices,
    RateLimited,
    Reply,
    ServerError,
    Status,
    behaviour_from_json,
    blackhole,
    unused_tcp_port,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def chat(model: str = "fast", prompt: str = "hello there", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": prompt}], **extra}


def post(fake: FakeProvider, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{fake.base_url}/chat/completions", json=body, **kwargs)


def sse_events(response: httpx.Response) -> list[str]:
    """The ``data:`` payloads of a streamed response, in order."""
    return [line[len("data: ") :] for line in response.iter_lines() if line.startswith("data: ")]


def stream_events(fake: FakeProvider, body: dict[str, Any]) -> list[str]:
    with (
        httpx.Client() as client,
        client.stream("POST", f"{fake.base_url}/chat/completions", json=body) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        return sse_events(response)


# --- answers -------------------------------------------------------------------------------


def test_reply_answers_with_a_chat_completion(fake: FakeProvider) -> None:
    fake.script("fast", Reply("```python\nx = 1\n```", prompt_tokens=7, completion_tokens=3))
    response = post(fake, chat(), headers={"authorization": "Bearer key-a"})
    assert response.status_code == 200
    data = response.json()
    assert data["object"] == "chat.completion"
    assert data["model"] == "fast"
    assert data["id"].startswith("chatcmpl-")
    assert data["choices"][0]["message"] == {
        "role": "assistant",
        "content": "```python\nx = 1\n```",
        "refusal": None,
    }
    assert data["choices"][0]["finish_reason"] == "stop"
    assert data["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    [request] = fake.requests
    assert request.headers["authorization"] == "Bearer key-a"
    assert request.model == "fast" and not request.stream
    assert request.prompt_text == "hello there"
    assert request.schema_errors == ()
    assert not request.client_disconnected


def test_reply_counts_tokens_roughly_when_not_told() -> None:
    with FakeProvider() as fake:
        fake.default(None, Reply("12345678"))
        usage = post(fake, chat(prompt="x" * 40)).json()["usage"]
    assert usage == {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}


def test_reply_streams_deltas_then_done(fake: FakeProvider) -> None:
    fake.script("fast", Reply("one two three four five", finish_reason="length"))
    events = stream_events(fake, chat(stream=True))
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    deltas = [c["choices"][0]["delta"].get("content") or "" for c in chunks]
    assert "".join(deltas) == "one two three four five"
    assert len([d for d in deltas if d]) > 2
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert all("usage" not in c for c in chunks)
    assert fake.requests[0].stream


def test_stream_with_include_usage_ends_with_a_usage_chunk(fake: FakeProvider) -> None:
    fake.script("fast", Reply("abcdefgh", prompt_tokens=5))
    body = chat(stream=True, stream_options={"include_usage": True})
    chunks = [json.loads(e) for e in stream_events(fake, body)[:-1]]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


def test_echo_answers_from_the_prompt(fake: FakeProvider) -> None:
    fake.script("fast", Echo(), Echo(lambda r: r.prompt_text.upper()))
    body = {
        "model": "fast",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [{"type": "text", "text": "second"}]},
        ],
    }
    assert post(fake, body).json()["choices"][0]["message"]["content"] == "second"
    upper = post(fake, body).json()["choices"][0]["message"]["content"]
    assert upper == "BE BRIEF\nFIRST\nOK\nSECOND"


def test_scripts_are_per_model_and_consumed_in_order_then_defaults(fake: FakeProvider) -> None:
    fake.script("fast", Reply("a"), Reply("b"))
    fake.default("fast", Reply("fast default"))
    fake.script("strong", ServerError(503))

    def content(model: str) -> str | int:
        response = post(fake, chat(model))
        return (
            response.json()["choices"][0]["message"]["content"]
            if response.is_success
            else response.status_code
        )

    assert [content("fast") for _ in range(4)] == ["a", "b", "fast default", "fast default"]
    assert content("strong") == 503
    assert content("strong") == "ok"  # the initial global default
    fake.default(None, Reply("anything"))
    assert content("other") == "anything"
    assert [r.model for r in fake.requests_for("strong")] == ["strong", "strong"]

    fake.reset()
    assert fake.requests == []
    assert content("fast") == "ok"


def test_default_latency_delays_default_replies_only() -> None:
    with FakeProvider(default_latency=0.2) as fake:
        fake.script("fast", Reply("scripted"))
        started = time.monotonic()
        post(fake, chat())
        scripted = time.monotonic() - started
        started = time.monotonic()
        post(fake, chat())
        defaulted = time.monotonic() - started
    assert scripted < 0.15 <= 0.2 <= defaulted


def test_delay_holds_back_the_status_line(fake: FakeProvider) -> None:
    fake.script("fast", RateLimited(retry_after=1, delay=0.15))
    started = time.monotonic()
    assert post(fake, chat()).status_code == 429
    assert time.monotonic() - started >= 0.15


def test_large_bodies_are_read_whole(fake: FakeProvider) -> None:
    fake.script("fast", Echo())
    prompt = "x = 1\n" * 50_000  # 300 kB: a whole file for review
    response = post(fake, chat(prompt=prompt))
    assert response.json()["choices"][0]["message"]["content"] == prompt
    assert fake.requests[0].prompt_text == prompt


def test_keep_alive_serves_several_requests_over_one_connection(fake: FakeProvider) -> None:
    with httpx.Client() as client:
        for i in range(5):
            response = client.post(f"{fake.base_url}/chat/completions", json=chat(prompt=f"n{i}"))
            assert response.status_code == 200
        # Streams end cleanly too, so the connection is reused after them.
        with client.stream(
            "POST", f"{fake.base_url}/chat/completions", json=chat(stream=True)
        ) as r:
            assert sse_events(r)[-1] == "[DONE]"
        client.post(f"{fake.base_url}/chat/completions", json=chat())
        assert fake.open_connections == 1
        assert len(fake.requests) == 7
    assert fake.wait_until_no_open_connections(2.0)


def test_wait_for_requests_blocks_until_they_arrive(fake: FakeProvider) -> None:
    with pytest.raises(TimeoutError):
        fake.wait_for_requests(1, timeout=0.05)
    thread = threading.Thread(target=post, args=(fake, chat()))
    thread.start()
    assert [r.model for r in fake.wait_for_requests(1, timeout=2.0)] == ["fast"]
    thread.join()


def test_models_endpoint_lists_scripted_models(fake: FakeProvider) -> None:
    fake.script("fast", Reply("x"))
    fake.default("strong", Reply("y"))
    listing = httpx.get(f"{fake.base_url}/models").json()
    assert [m["id"] for m in listing["data"]] == ["fast", "strong"]


# --- error statuses ------------------------------------------------------------------------


def test_rate_limited_sends_retry_after_headers(fake: FakeProvider) -> None:
    fake.script("fast", RateLimited(retry_after=2, retry_after_ms=1500), RateLimited(code=503))
    response = post(fake, chat())
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.headers["retry-after-ms"] == "1500"
    assert response.json()["error"]["type"] == "rate_limit_exceeded"
    bare = post(fake, chat())
    assert bare.status_code == 503
    assert "retry-after" not in bare.headers


@pytest.mark.parametrize(
    ("behaviour", "status", "code"),
    [
        (ServerError(), 500, None),
        (ServerError(502), 502, None),
        (AuthError(), 401, "invalid_api_key"),
        (AuthError(403), 403, "permission_denied"),
        (ModelNotFound(), 404, "model_not_found"),
        (ContextTooLong(), 400, "context_length_exceeded"),
        (Status(409, {"error": {"message": "busy", "code": "conflict"}}), 409, "conflict"),
    ],
)
def test_error_behaviours_answer_openai_style_errors(
    fake: FakeProvider, behaviour: Behaviour, status: int, code: str | None
) -> None:
    fake.script("fast", behaviour)
    response = post(fake, chat(stream=True))  # errors are plain JSON even for streams
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_context_too_long_uses_openai_wording(fake: FakeProvider) -> None:
    fake.script("fast", ContextTooLong())
    message = post(fake, chat()).json()["error"]["message"]
    assert message.startswith("This model's maximum context length is 8192 tokens")


def test_status_with_text_body_and_headers(fake: FakeProvider) -> None:
    fake.script("fast", Status(502, "Bad gateway", headers={"x-upstream": "down"}))
    response = post(fake, chat())
    assert (response.status_code, response.text) == (502, "Bad gateway")
    assert response.headers["x-upstream"] == "down"
    assert response.headers["content-type"] == "text/plain"


# --- misbehaviour --------------------------------------------------------------------------


def test_hang_is_seen_as_a_client_disconnect_when_the_client_times_out(
    fake: FakeProvider,
) -> None:
    fake.script("fast", Hang())
    with pytest.raises(httpx.ReadTimeout):
        post(fake, chat(), timeout=0.2)
    [request] = fake.requests
    assert request.wait_client_disconnected(2.0)
    assert fake.wait_until_no_open_connections(2.0)


async def test_cancelled_request_during_a_delay_closes_the_connection(fake: FakeProvider) -> None:
    fake.script("fast", Reply("too late", delay=5.0))
    async with httpx.AsyncClient() as client:
        task = asyncio.create_task(client.post(f"{fake.base_url}/chat/completions", json=chat()))
        await asyncio.to_thread(fake.wait_for_requests, 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert await asyncio.to_thread(fake.requests[0].wait_client_disconnected, 2.0)


def test_hang_after_headers_sends_the_status_then_nothing(fake: FakeProvider) -> None:
    fake.script("fast", HangAfterHeaders(), HangAfterHeaders())
    with httpx.Client(timeout=0.2) as client:
        url = f"{fake.base_url}/chat/completions"
        with client.stream("POST", url, json=chat(stream=True)) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream"
            with pytest.raises(httpx.ReadTimeout):
                response.read()
        with client.stream("POST", url, json=chat()) as response:
            assert response.status_code == 200
            with pytest.raises(httpx.ReadTimeout):
                response.read()
    assert all(r.wait_client_disconnected(2.0) for r in fake.requests)


def test_drip_sends_a_valid_body_one_byte_per_interval(fake: FakeProvider) -> None:
    fake.script("fast", Drip("hi", interval=0.002))
    arrivals = []
    with (
        httpx.Client() as client,
        client.stream("POST", f"{fake.base_url}/chat/completions", json=chat()) as response,
    ):
        started = time.monotonic()
        body = b""
        for piece in response.iter_raw():
            body += piece
            arrivals.append(time.monotonic())
    assert json.loads(body)["choices"][0]["message"]["content"] == "hi"
    assert len(arrivals) > 1
    assert arrivals[-1] - started >= 0.8 * 0.002 * (len(body) - 1)


def test_drip_streams_too(fake: FakeProvider) -> None:
    fake.script("fast", Drip("yo", interval=0.0))  # framing only; timing is tested above
    events = stream_events(fake, chat(stream=True))
    assert events[-1] == "[DONE]"
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[:-1])
    assert text == "yo"


def test_close_connection_gives_a_protocol_error(fake: FakeProvider) -> None:
    fake.script("fast", CloseConnection())
    with pytest.raises(httpx.RemoteProtocolError):
        post(fake, chat())
    assert post(fake, chat()).status_code == 200  # the next request is answered normally


def test_malformed_body_is_not_json(fake: FakeProvider) -> None:
    fake.script("fast", Malformed(), Malformed())
    response = post(fake, chat())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        response.json()
    [event, done] = stream_events(fake, chat(stream=True))
    assert done == "[DONE]"
    with pytest.raises(json.JSONDecodeError):
        json.loads(event)


def test_no_choices_and_empty_content(fake: FakeProvider) -> None:
    fake.script("fast", NoChoices(), EmptyContent(), EmptyContent(null=True), NoChoices())
    assert "choices" not in post(fake, chat()).json()
    assert post(fake, chat()).json()["choices"][0]["message"]["content"] == ""
    assert post(fake, chat()).json()["choices"][0]["message"]["content"] is None
    [chunk, done] = stream_events(fake, chat(stream=True))
    assert "choices" not in json.loads(chunk) and done == "[DONE]"


def test_cut_stream_ends_without_done_and_the_client_sees_an_error(fake: FakeProvider) -> None:
    fake.script("fast", CutStream("a fairly long answer", after_chunks=2))
    seen = []
    url = f"{fake.base_url}/chat/completions"
    with (
        pytest.raises(httpx.RemoteProtocolError),
        httpx.Client() as client,
        client.stream("POST", url, json=chat(stream=True)) as response,
    ):
        for line in response.iter_lines():
            seen.append(line)
    events = [line for line in seen if line.startswith("data: ")]
    assert len(events) == 2
    assert "data: [DONE]" not in seen


def test_cut_stream_of_a_non_stream_request_is_a_short_body(fake: FakeProvider) -> None:
    fake.script("fast", CutStream())
    with pytest.raises(httpx.RemoteProtocolError):
        post(fake, chat())


def test_connection_refused_and_blackhole_addresses() -> None:
    port = unused_tcp_port()
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=chat(), timeout=1.0)
    with blackhole() as hole, pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{hole.base_url}/chat/completions", json=chat(), timeout=0.2)
    assert hole.accepted == 1


# --- request validation --------------------------------------------------------------------


def test_schema_rejects_an_unknown_top_level_field(fake: FakeProvider) -> None:
    response = post(fake, chat(foo=1))
    assert response.status_code == 400
    assert "foo" in response.json()["error"]["message"]
    [request] = fake.requests
    assert request.schema_errors == ("foo: unknown field (not in CreateChatCompletionRequest)",)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"model": "fast", "messages": []}, "messages"),
        ({"model": "fast", "messages": [{"role": "user"}]}, "messages.0"),
        ({"model": "fast", "messages": [{"role": "robot", "content": "x"}]}, "messages.0.role"),
        ({**chat(), "temperature": 3}, "temperature"),
        ({"messages": [{"role": "user", "content": "x"}]}, "<body>"),
    ],
)
def test_schema_rejects_invalid_bodies(fake: FakeProvider, body: dict, where: str) -> None:
    assert post(fake, body).status_code == 400
    errors = fake.requests[0].schema_errors
    assert errors and errors[0].startswith(f"{where}:"), errors


def test_schema_accepts_a_full_valid_body(fake: FakeProvider) -> None:
    body = {
        "model": "fast",
        "messages": [
            {"role": "system", "content": "You fix code."},
            {"role": "user", "content": [{"type": "text", "text": "fix"}]},
            {"role": "assistant", "content": None, "tool_calls": []},
        ],
        "temperature": 0.2,
        "top_p": 1,
        "max_tokens": None,  # nullable in the OpenAPI sense
        "max_completion_tokens": 256,
        "stop": ["```\n"],
        "seed": 1,
        "response_format": {"type": "json_object"},
        "stream": False,
        "user": "someone",
    }
    assert post(fake, body).status_code == 200
    assert fake.requests[0].schema_errors == ()


def test_lax_schema_answers_invalid_bodies_but_records_errors() -> None:
    with FakeProvider(strict_schema=False) as fake:
        assert post(fake, chat(foo=1)).status_code == 200
        assert fake.requests[0].schema_errors
        bad_json = httpx.post(f"{fake.base_url}/chat/completions", content=b"{nope")
        assert bad_json.status_code == 400  # nothing to route on


# --- serialization, control API, lifecycle -------------------------------------------------


@pytest.mark.parametrize(
    "behaviour",
    [
        Reply("x", delay=0.1, prompt_tokens=1, completion_tokens=2, finish_reason="length"),
        Echo(delay=0.2),
        Status(418, {"error": {}}, {"a": "b"}),
        RateLimited(retry_after=1.5, retry_after_ms=10),
        ServerError(503),
        AuthError(403),
        ModelNotFound(),
        ContextTooLong(),
        Hang(),
        HangAfterHeaders(),
        Drip("d", interval=0.5),
        CloseConnection(),
        Malformed(),
        NoChoices(),
        EmptyContent(null=True),
        CutStream("c", after_chunks=3),
    ],
)
def test_behaviours_round_trip_through_json(behaviour: Behaviour) -> None:
    data = json.loads(json.dumps(behaviour.to_json()))
    assert behaviour_from_json(data) == behaviour


def test_behaviour_kinds_are_snake_case() -> None:
    assert RateLimited().to_json()["kind"] == "rate_limited"
    assert HangAfterHeaders().to_json()["kind"] == "hang_after_headers"
    with pytest.raises(ValueError, match="unknown behaviour kind"):
        behaviour_from_json({"kind": "explode"})


def test_control_api_scripts_a_fake_in_another_process() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_provider", "--port", "0", "--default-reply", "dflt"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error::ResourceWarning"},
    )
    try:
        assert proc.stdout is not None
        base_url = json.loads(proc.stdout.readline())["base_url"]
        root = base_url.removesuffix("/v1")
        with httpx.Client(base_url=root) as client:
            steps = [{"kind": "rate_limited", "retry_after": 2}, {"kind": "reply", "content": "hi"}]
            assert client.post(
                "/_control/script", json={"model": "fast", "steps": steps}
            ).is_success
            step = {"kind": "reply", "content": "strong default"}
            assert client.post(
                "/_control/default", json={"model": "strong", "step": step}
            ).is_success
            bad = client.post("/_control/script", json={"model": "x", "steps": [{"kind": "boom"}]})
            assert bad.status_code == 400

            first = client.post("/v1/chat/completions", json=chat())
            assert (first.status_code, first.headers["retry-after"]) == (429, "2")
            answers = [
                client.post("/v1/chat/completions", json=chat(model)).json()["choices"][0]
                for model in ("fast", "fast", "strong")
            ]
            assert [a["message"]["content"] for a in answers] == ["hi", "dflt", "strong default"]
            models = client.get("/v1/models").json()["data"]
            assert [m["id"] for m in models] == ["fast", "strong"]

            recorded = client.get("/_control/requests").json()
            assert [r["model"] for r in recorded] == ["fast", "fast", "fast", "strong", None]
            assert recorded[0]["json"] == chat() and "body" not in recorded[0]
            assert client.post("/_control/reset").is_success
            assert client.get("/_control/requests").json() == []
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_stop_closes_held_connections_cleanly(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="asyncio")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fake = FakeProvider().start()
        fake.script("fast", Hang(), HangAfterHeaders())
        with httpx.Client(timeout=5.0) as client:
            errors: list[BaseException] = []

            def call() -> None:
                try:
                    client.post(f"{fake.base_url}/chat/completions", json=chat())
                except httpx.HTTPError as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=call) for _ in range(2)]
            for t in threads:
                t.start()
            fake.wait_for_requests(2)
            assert fake.open_connections == 2
            started = time.monotonic()
            fake.stop()
            assert time.monotonic() - started < 1.0
            for t in threads:
                t.join(timeout=5)
        assert len(errors) == 2
        assert fake.open_connections == 0
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# --- /v1/completions (fill-in-the-middle) ------------------------------------------------------


def fim(model: str = "fast", **extra: Any) -> dict[str, Any]:
    return {"model": model, "prompt": "def f():\n    return ", "suffix": "\n", **extra}


def post_fim(fake: FakeProvider, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{fake.base_url}/completions", json=body)


def test_completions_answers_with_text_and_records_the_request(fake):
    fake.script("fast", Reply("42"))
    response = post_fim(fake, fim(max_tokens=16))
    assert response.status_code == 200
    data = response.json()
    assert data["object"] == "text_completion"
    assert data["choices"][0]["text"] == "42"
    [request] = fake.requests
    assert request.is_fim and request.schema_errors == ()
    assert request.prompt_text == "def f():\n    return \n\n"


def test_completions_stream_text_chunks(fake):
    fake.script("fast", Reply("forty two", reasoning="think"))
    with httpx.stream("POST", f"{fake.base_url}/completions", json=fim(stream=True)) as response:
        events = sse_events(response)
    assert events[-1] == "[DONE]"
    texts = [json.loads(e)["choices"][0]["text"] for e in events[:-1] if json.loads(e)["choices"]]
    # A text completion has no reasoning field: a thinking model writes it inline.
    assert "".join(texts) == "<think>think</think>forty two"


def test_completions_bodies_are_checked_against_create_completion_request(fake):
    response = post_fim(fake, {**fim(), "messages": []})
    assert response.status_code == 400
    assert "unknown field" in response.json()["error"]["message"]
    assert post_fim(fake, {"model": "fast"}).status_code == 400  # `prompt` is required


def test_completions_misbehave_like_chat(fake):
    fake.script("fast", RateLimited(retry_after=2), NoChoices())
    assert post_fim(fake, fim()).status_code == 429
    assert "choices" not in post_fim(fake, fim()).json()
