"""What a team-cache (Redis) hit costs over a local one, through `Gateway.ask`.

    uv run python bench/redis_hit.py [--requests 2000] [--tls]

One member fills the team cache through a loopback redis-server; a second member, with its own
empty local files, then asks each question twice in a row: the first ask is a Redis hit (its
local cache misses), the second a local hit (memory). A third member keeps nothing in memory, so
its second ask is a local SQLite hit. The kinds of hit are interleaved in one run, so machine
noise falls on all of them alike. Prints p50/p99 per kind and the difference. `--tls` talks to
the redis-server over TLS (rediss://, a private CA made with openssl).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "server")]

from switchboard.config import config_from_mapping  # noqa: E402
from switchboard.gateway import Ask, CacheState, Gateway, Message, Prompt  # noqa: E402
from tests.fake_provider import FakeProvider, Reply  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402


def member(directory: Path, provider_url: str, redis_url: str, **cache: object) -> Gateway:
    directory.mkdir(parents=True, exist_ok=True)
    raw = {
        "providers": {"p": {"base_url": provider_url}},
        "models": {"fast": {"provider": "p", "model": "fast"}},
        "routes": {"fix": ["fast"], "explain": ["fast"], "review": ["fast"]},
        "cache": {"path": str(directory / "cache.sqlite"), "url": redis_url, **cache},
        "usage": {"path": str(directory / "usage.sqlite")},
    }
    config = config_from_mapping(raw, environ={}, source="bench")
    return Gateway.create(config, environ={})


def question(n: int) -> Ask[str]:
    prompt = Prompt((Message("user", f"Explain question number {n}, briefly."),))
    return Ask(task="explain", route="explain", prompt=prompt, parse=str)


async def timed(gateway: Gateway, ask: Ask[str], expect: CacheState) -> float:
    started = time.perf_counter()
    answer = await gateway.ask(ask)
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert answer.cache is expect, (answer.cache, expect)
    return elapsed_ms


def describe(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99


async def run(requests: int, tls: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp, FakeProvider() as fake:
        fake.default("fast", Reply("An answer of a typical hover's length. " * 12))
        if tls:
            server = RedisServer.with_tls(Path(tmp) / "redis").start()
        else:
            server = RedisServer(Path(tmp) / "redis").start()
        try:
            # The default request-path budget (5 ms) would turn a slow outlier into a miss and
            # stop the run; measure the real cost of a hit instead.
            budget: dict[str, object] = {"timeout_ms": 1000.0}
            if server.ca_file:
                budget["ca_file"] = server.ca_file
            writer = member(Path(tmp) / "writer", fake.base_url, server.url, **budget)
            reader = member(Path(tmp) / "reader", fake.base_url, server.url, **budget)
            disk = member(
                Path(tmp) / "disk", fake.base_url, server.url, memory_max_bytes=1, **budget
            )
            for gateway in (writer, reader, disk):
                await gateway.start()
            asks = [question(n) for n in range(requests)]
            for ask in asks:
                await writer.ask(ask)
            assert writer.team is not None and await writer.team.link.drain(30.0)
            for gateway in (reader, disk):  # warm connections and code paths
                await gateway.ask(question(-1))
                await gateway.ask(question(-1))
            await asyncio.sleep(0.5)  # the links open their read connections in the background
            redis_ms, memory_ms, sqlite_ms = [], [], []
            for ask in asks:
                redis_ms.append(await timed(reader, ask, CacheState.FRESH))
                memory_ms.append(await timed(reader, ask, CacheState.FRESH))
                await timed(disk, ask, CacheState.FRESH)  # from Redis, now also on disk
                sqlite_ms.append(await timed(disk, ask, CacheState.FRESH))
            for gateway in (writer, reader, disk):
                await gateway.aclose()
        finally:
            server.stop()
    where = "loopback Redis over TLS" if tls else "loopback Redis"
    print(f"{requests} hits of each kind through Gateway.ask, interleaved, {where}\n")
    print(f"{'hit':<22}{'p50 ms':>10}{'p99 ms':>10}")
    rows = [
        ("local (memory LRU)", memory_ms),
        ("local (SQLite)", sqlite_ms),
        ("team (Redis)", redis_ms),
    ]
    for name, samples in rows:
        p50, p99 = describe(samples)
        print(f"{name:<22}{p50:>10.3f}{p99:>10.3f}")
    redis_p50, redis_p99 = describe(redis_ms)
    local_p50, local_p99 = describe(memory_ms)
    print(
        f"\nA Redis hit adds {redis_p50 - local_p50:.3f} ms at p50 and "
        f"{redis_p99 - local_p99:.3f} ms at p99 over a local (memory) hit."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--tls", action="store_true", help="rediss:// instead of redis://")
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.tls))


if __name__ == "__main__":
    main()
