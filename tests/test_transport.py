"""The gateway's connection pool: under concurrency no request is handed a connection that
another request already holds (httpcore's pool does that, and the losers spin)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from httpcore._async import connection_pool

from switchboard.config import config_from_mapping
from switchboard.gateway import Ask, Gateway, Message, Prompt
from switchboard.gateway.transport import FairConnectionPool, fair_transport
from tests.fake_provider import FakeProvider, Reply
from tests.support import config_dict, make_config


def test_the_gateway_sends_through_the_fair_pool(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"p": "http://127.0.0.1:9/v1"}, {"m": {"provider": "p"}}, {})
    gateway = Gateway.create(config, environ={})
    try:
        assert isinstance(gateway.http._transport._pool, FairConnectionPool)
    finally:
        asyncio.run(gateway.aclose())


async def test_concurrent_requests_never_wait_on_a_taken_connection(
    fake: FakeProvider, monkeypatch
) -> None:
    requeued = 0
    clear = connection_pool.AsyncPoolRequest.clear_connection

    def counting_clear(self) -> None:  # httpcore's retry after ConnectionNotAvailable
        nonlocal requeued
        requeued += 1
        clear(self)

    monkeypatch.setattr(connection_pool.AsyncPoolRequest, "clear_connection", counting_clear)
    fake.default(None, Reply("ok", delay=0.005))
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient(transport=fair_transport(limits)) as client:

        async def worker() -> None:
            for _ in range(4):
                response = await client.post(f"{fake.base_url}/chat/completions", json=body)
                assert response.status_code == 200

        await asyncio.gather(*(worker() for _ in range(32)))
        connections = len(client._transport._pool.connections)
    assert len(fake.requests) == 128
    assert requeued == 0
    assert connections <= 32  # one per request in flight at most, reused afterwards


async def test_the_pool_limit_still_holds(fake: FakeProvider) -> None:
    fake.default(None, Reply("ok", delay=0.02))
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient(transport=fair_transport(limits)) as client:
        responses = await asyncio.gather(
            *(client.post(f"{fake.base_url}/chat/completions", json=body) for _ in range(16))
        )
        assert len(client._transport._pool.connections) <= 4
    assert all(r.status_code == 200 for r in responses)
    assert fake.open_connections <= 4


async def test_a_provider_gets_at_most_its_max_connections_at_once(
    fake: FakeProvider, tmp_path: Path
) -> None:
    fake.default(None, Reply("ok", delay=0.1))
    routes = {"fix": ["m"], "explain": ["m"], "review": ["m"]}
    raw = config_dict(tmp_path, {"p": fake.base_url}, {"m": {"provider": "p"}}, routes)
    raw["providers"]["p"]["max_connections"] = 2
    config = config_from_mapping(raw, environ={}, source="test")
    gateway = Gateway.create(config, environ={})
    peak = 0

    async def watch() -> None:
        nonlocal peak
        while True:
            peak = max(peak, fake.open_connections)
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    try:
        asks = [
            Ask("explain", "explain", Prompt((Message("user", f"question {n}"),)), parse=str)
            for n in range(8)
        ]
        answers = await asyncio.gather(*(gateway.ask(ask) for ask in asks))
    finally:
        watcher.cancel()
        await gateway.aclose()
    assert [answer.text for answer in answers] == ["ok"] * 8
    assert len(fake.requests) == 8
    assert 1 <= peak <= 2  # the other six waited their turn, none was refused
