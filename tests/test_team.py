"""Team mode against a real redis-server on loopback: members are gateways with their own
local SQLite files, sharing answers, provider health and usage through Redis."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time

import pytest
import redis.asyncio

from switchboard.config import ConfigError, config_from_mapping
from switchboard.config.workspace import apply_overlay
from switchboard.engine import Engine
from switchboard.gateway import (
    Ask,
    CacheEntry,
    CacheState,
    Message,
    NoAnswer,
    Prompt,
)
from switchboard.gateway.team import LinkState
from switchboard.gateway.team.cache import decode, encode
from switchboard.tasks import Source
from tests.fake_provider import (
    Echo,
    RateLimited,
    Reply,
    ServerError,
    blackhole,
    unused_tcp_port,
)
from tests.latency_proxy import LatencyProxy
from tests.redis_server import RedisServer, require_redis_server
from tests.support import CODE, FIXED, config_dict, make_config

# Not in the inner loop (`pytest -m "not slow"`): a real redis-server per test.
pytestmark = pytest.mark.slow

UNREACHABLE = "is unreachable"


def outcomes(answer):
    return [(a.model, a.outcome.value) for a in answer.attempts]


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "calc.py"
    path.write_text(CODE)
    return Source(CODE, str(path))


@pytest.fixture
def server(tmp_path):
    redis_server = RedisServer(tmp_path / "redis").start()
    yield redis_server
    redis_server.stop()


@pytest.fixture
async def raw(server):
    """A plain client, to look at what Switchboard stored."""
    client = redis.asyncio.Redis.from_url(server.url)
    yield client
    await client.aclose()


@pytest.fixture
def member(tmp_path, fake, server, engines):
    """member(name, **sections) -> an Engine with its own local files, on the shared Redis."""

    def build(name: str, *, models=None, url=None, cache=None, **sections) -> Engine:
        models = models or {"fast": {"provider": "p"}, "backup": {"provider": "q"}}
        routes = {"fix": ["fast", "backup"], "explain": ["fast", "backup"], "review": ["backup"]}
        sections.setdefault("tasks", {"explain": {"hedge": False}})
        # Generous for a loaded CI machine; the budget itself has its own test.
        team = {"url": url or server.url, "timeout_ms": 500.0, **(cache or {})}
        directory = tmp_path / name
        directory.mkdir(exist_ok=True)
        config = make_config(
            directory, {"p": fake.base_url, "q": fake.base_url}, models, routes, cache=team,
            **sections,
        )  # fmt: skip
        return engines(config)

    return build


async def settle(*engines: Engine) -> None:
    """Wait until each member's background writes have reached Redis."""
    for engine in engines:
        assert engine.gateway.team is not None
        assert await engine.gateway.team.link.drain(5.0)


async def wait_until(predicate, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


# -- the shared cache ---------------------------------------------------------------------------


async def test_two_members_share_a_cached_answer(fake, member, source):
    fake.default("fast", Reply(FIXED))
    alice, bob = member("alice"), member("bob")
    first = await alice.fix(source, 1, 1)
    await settle(alice)
    second = await bob.fix(source, 1, 1)
    assert (first.cache, second.cache) == (CacheState.MISS, CacheState.FRESH)
    assert second.model == "fast"
    assert second.value.replacement.new_text() == first.value.replacement.new_text()
    assert len(fake.requests) == 1
    # Bob keeps a local copy, for when Redis is away.
    assert bob.gateway.cache is not None and bob.gateway.cache.stats()["entries"] == 1


async def test_members_with_different_routes_do_not_mix_answers(fake, member, source):
    fake.default("fast", Reply(FIXED))
    fake.default("fast-v2", Reply(FIXED))
    alice = member("alice")
    bob = member(
        "bob", models={"fast": {"provider": "p", "model": "fast-v2"}, "backup": {"provider": "q"}}
    )
    await alice.fix(source, 1, 1)
    await settle(alice)
    assert alice.gateway.team.keys.namespace != bob.gateway.team.keys.namespace
    answer = await bob.fix(source, 1, 1)
    assert answer.cache is CacheState.MISS
    assert len(fake.requests_for("fast-v2")) == 1


async def test_an_alias_naming_different_models_never_shares_answers(fake, member, source):
    # Same routes, so the same namespace; `strong` is a different model for each of them, and
    # a workspace of theirs routes fixes to it.
    fake.default("gpt-4o", Reply(FIXED))
    fake.default("tiny-1b", Reply(FIXED))
    routed = {"routes": {"fix": ["strong"]}}
    base = {"fast": {"provider": "p"}, "backup": {"provider": "q"}}
    alice = member("alice", models={**base, "strong": {"provider": "p", "model": "gpt-4o"}})
    bob = member("bob", models={**base, "strong": {"provider": "p", "model": "tiny-1b"}})
    assert alice.gateway.team.keys.namespace == bob.gateway.team.keys.namespace
    for engine in (alice, bob):
        engine.reconfigure(apply_overlay(engine.config, routed, "repo")[0])
    assert (await alice.fix(source, 1, 1)).cache is CacheState.MISS
    await settle(alice)
    answer = await bob.fix(source, 1, 1)
    assert answer.cache is CacheState.MISS
    assert len(fake.requests_for("tiny-1b")) == 1
    # The same model behind another alias is the same answer.
    carol = member("carol", models={**base, "best": {"provider": "p", "model": "gpt-4o"}})
    carol.reconfigure(apply_overlay(carol.config, {"routes": {"fix": ["best"]}}, "repo")[0])
    assert (await carol.fix(source, 1, 1)).cache is CacheState.FRESH


async def test_stale_if_error_is_served_from_redis(fake, member, source):
    fake.default("fast", Reply(FIXED))
    alice = member("alice", cache={"ttl_s": 0})
    bob = member("bob", cache={"ttl_s": 0})
    await alice.fix(source, 1, 1)
    await settle(alice)
    fake.default("fast", ServerError(503))
    fake.default("backup", ServerError(500))
    await asyncio.sleep(0.01)
    answer = await bob.fix(source, 1, 1)  # bob never saw this answer himself
    assert answer.cache is CacheState.STALE
    assert answer.model == "fast"
    assert outcomes(answer) == [("fast", "server_error"), ("backup", "server_error")]


def run_clock_ahead(engine: Engine, seconds: float) -> None:
    """Make `engine`'s wall clock run `seconds` ahead, as on a machine whose clock is wrong
    (before its first await: the link reads the clock when it connects)."""
    team = engine.gateway.team
    assert team is not None and team.cache is not None and engine.gateway.cache is not None

    def clock() -> float:
        return time.time() + seconds

    engine.gateway.cache._clock = clock
    team.cache._clock = clock
    team.link.wall = clock


async def test_a_teammate_whose_clock_runs_ahead_cannot_keep_answers_fresh(
    fake, member, source, raw
):
    fake.default("fast", Reply(FIXED))
    alice = member("alice", cache={"ttl_s": 1.0})
    run_clock_ahead(alice, 3600.0)
    bob = member("bob", cache={"ttl_s": 1.0})
    await alice.fix(source, 1, 1)
    await settle(alice)
    keys = alice.gateway.team.keys
    [(_, created)] = await raw.zrange(keys.cache_index, 0, -1, withscores=True)
    assert abs(created - time.time()) < 5  # dated on Redis's clock, not Alice's
    await asyncio.sleep(1.2)
    fake.default("fast", ServerError(503))
    fake.default("backup", ServerError(503))
    answer = await bob.fix(source, 1, 1)
    assert answer.cache is CacheState.STALE  # not fresh for the hour Alice's clock is ahead


async def test_shared_entries_expire(fake, member, source, raw):
    fake.default("fast", Reply(FIXED))
    alice = member("alice", cache={"ttl_s": 0.5, "shared_expire_s": 1.0})
    bob = member("bob", cache={"ttl_s": 0.5, "shared_expire_s": 1.0})
    await alice.fix(source, 1, 1)
    await settle(alice)
    keys = alice.gateway.team.keys
    [entry_key] = await raw.zrange(keys.cache_index, 0, -1)
    assert 0 < await raw.pttl(keys.entry(entry_key.decode())) <= 1000
    await asyncio.sleep(1.1)
    assert (await bob.fix(source, 1, 1)).cache is CacheState.MISS
    assert len(fake.requests) == 2


async def test_a_ttl_of_thirty_days_or_more_still_leaves_a_stale_window_in_redis(
    fake, member, source, raw
):
    day = 24 * 3600.0
    fake.default("fast", Reply(FIXED))
    alice = member("alice", cache={"ttl_s": 40 * day})
    await alice.fix(source, 1, 1)
    await settle(alice)
    keys = alice.gateway.team.keys
    [entry_key] = await raw.zrange(keys.cache_index, 0, -1)
    lives_s = await raw.pttl(keys.entry(entry_key.decode())) / 1000
    # Fresh for 40 days, then a stale-if-error fallback for 30 more: not gone once it is stale.
    assert 70 * day - 60 < lives_s <= 70 * day


async def test_the_entry_cap_keeps_the_newest(fake, member, source, raw):
    fake.default("fast", Reply(FIXED))
    alice = member("alice", cache={"shared_max_entries": 3})
    for n in range(5):
        await alice.fix(source, 1, 1, message=f"problem {n}")
        await settle(alice)
    keys = alice.gateway.team.keys
    kept = [k.decode() for k in await raw.zrange(keys.cache_index, 0, -1)]
    assert len(kept) == 3
    stored = [k.decode() for k in await raw.keys(keys.entry_prefix.replace("{", "\\{") + "*")]
    assert sorted(stored) == sorted(keys.entry(k) for k in kept)
    # The evicted ones are the oldest: the first two problems are asked again, the rest are not.
    bob = member("bob")
    for n in range(5):
        await bob.fix(source, 1, 1, message=f"problem {n}")
    assert len(fake.requests) == 5 + 2


async def test_the_byte_cap_holds(fake, member, source, raw):
    fake.default("fast", Reply(FIXED))
    alice = member("alice", cache={"shared_max_bytes": 400})
    for n in range(6):
        await alice.fix(source, 1, 1, message=f"problem {n}")
    await settle(alice)
    keys = alice.gateway.team.keys
    total = int(await raw.get(keys.cache_bytes))
    sizes = [int(v) for v in await raw.hvals(keys.cache_sizes)]
    assert 0 < total <= 400
    assert total == sum(sizes)
    assert await raw.zcard(keys.cache_index) == len(sizes) < 6


async def test_clearing_the_cache_clears_the_teams_entries_too(fake, member, source, raw):
    fake.default("fast", Reply(FIXED))
    alice = member("alice")
    await alice.fix(source, 1, 1)
    await settle(alice)
    alice.clear_cache()
    await settle(alice)
    keys = alice.gateway.team.keys
    assert await raw.keys(keys.prefix.replace("{", "\\{").replace("}", "\\}") + "c*") == []


# -- shared provider health ---------------------------------------------------------------------


async def test_a_cooldown_seen_by_one_member_is_honoured_by_the_other(fake, member, source):
    fake.script("fast", RateLimited(retry_after=30))
    fake.default("fast", Reply(FIXED))
    fake.default("backup", Reply(FIXED))
    alice, bob = member("alice"), member("bob")
    first = await alice.fix(source, 1, 1)
    assert outcomes(first) == [("fast", "rate_limited"), ("backup", "ok")]
    await settle(alice)
    second = await bob.fix(source, 1, 1, message="another problem")
    assert outcomes(second) == [("fast", "skipped_open_breaker"), ("backup", "ok")]
    assert len(fake.requests_for("fast")) == 1
    health = bob.gateway.provider_health()["p"]
    assert health.state == "cooling_down"
    assert health.team_cooling_for_s is not None and 25 < health.team_cooling_for_s <= 30
    team = await bob.team_stats()
    assert team is not None and team.providers["p"].state == "cooling_down"


async def test_a_teammates_success_ends_a_breaker_cooldown(fake, member, source):
    breaker = {"failure_threshold": 1, "cooldown_s": 60.0}
    alice, bob = member("alice", breaker=breaker), member("bob", breaker=breaker)
    # Alice's request is on its way when Bob's fails and opens his breaker.
    fake.script("fast", Reply(FIXED, delay=0.8), ServerError(503))
    fake.default("fast", Reply(FIXED))
    fake.default("backup", Reply(FIXED))
    alices = asyncio.create_task(alice.fix(source, 1, 1))
    await wait_until(lambda: len(fake.requests_for("fast")) == 1)
    assert outcomes(await bob.fix(source, 1, 1, message="b1")) == [
        ("fast", "server_error"),
        ("backup", "ok"),
    ]
    await settle(bob)
    skipped = await bob.fix(source, 1, 1, message="b2")
    assert outcomes(skipped)[0] == ("fast", "skipped_open_breaker")
    # Alice's answer arrives after Bob's failure: the provider is back, for Bob too.
    assert (await alices).model == "fast"
    await settle(alice)
    again = await bob.fix(source, 1, 1, message="b3")
    assert outcomes(again) == [("fast", "ok")]


async def test_a_rejected_key_is_not_shared(fake, member, source):
    from tests.fake_provider import AuthError

    fake.script("fast", AuthError())
    fake.default("fast", Reply(FIXED))
    fake.default("backup", Reply(FIXED))
    alice, bob = member("alice"), member("bob")
    assert outcomes(await alice.fix(source, 1, 1))[0] == ("fast", "auth_error")
    await settle(alice)
    assert outcomes(await bob.fix(source, 1, 1, message="b")) == [("fast", "ok")]


# -- shared usage -------------------------------------------------------------------------------


async def test_usage_adds_up_across_the_team(fake, member, source):
    models = {
        "fast": {"provider": "p", "input_cost_per_mtok": 1.0, "output_cost_per_mtok": 2.0},
        "backup": {"provider": "q"},
    }
    fake.default("fast", Reply(FIXED))
    alice, bob = member("alice", models=models), member("bob", models=models)
    await alice.fix(source, 1, 1, message="a")
    fake.script("fast", ServerError(503))
    fake.default("backup", Reply(FIXED))
    await bob.fix(source, 1, 1, message="b")
    await bob.fix(source, 1, 1, message="a")  # alice's answer, from the team cache
    local = {m["model"]: m for m in bob.stats().to_json()["models"]}  # hands bob's figures over
    await settle(bob)
    report = await alice.team_stats()
    assert report is not None
    team = {m["model"]: m for m in report.to_json()["models"]}
    assert local["fast"]["requests"] == 1  # bob's own
    assert team["fast"]["requests"] == 2
    assert team["fast"]["ok"] == 1
    assert team["fast"]["failures_by_kind"] == {"server_error": 1}
    assert team["fast"]["cost_usd"] > 0
    assert team["fast"]["p50_ms"] is not None
    assert team["fast"]["cache_hits"] == {"fresh": 1, "stale": 0}
    assert team["backup"]["ok"] == 1


async def test_inline_suggestions_add_up_across_the_team(fake, member):
    """What the completion feature records (shown with the model's latency, then accepted)."""
    alice, bob = member("alice"), member("bob")
    for ms in (40.0, 60.0, 80.0):
        alice.gateway.usage.record_suggestion("fast", "p", accepted=False, latency_ms=ms)
    alice.gateway.usage.record_suggestion("fast", "p", accepted=True)
    bob.gateway.usage.record_suggestion("fast", "p", accepted=False, latency_ms=200.0)
    bob.gateway.usage.record_suggestion("fast", "p", accepted=False)  # typed ahead: no model
    bob.gateway.usage.record_suggestion("fast", "p", accepted=True)
    for engine in (alice, bob):
        engine.stats()  # saves the figures, and hands them over
    await settle(alice, bob)
    report = await alice.team_stats()
    assert report is not None
    team = {m["model"]: m for m in report.to_json()["models"]}
    assert team["fast"]["suggestions"] == {
        "shown": 5,
        "accepted": 2,
        "acceptance_rate": 0.4,
        "p50_ms": 60.0,  # nearest rank, of the three latencies alice saw and bob's one
        "p95_ms": 200.0,
    }


async def test_the_language_server_connects_before_the_first_request(tmp_path, fake, raw, server):
    from tests.lsp_support import start_session, stop_session, write_config

    config = write_config(tmp_path, fake.base_url, cache={"url": server.url})
    session = await start_session(tmp_path, config)
    try:
        deadline = time.monotonic() + 10
        while len(await raw.client_list()) < 2:  # ours, and the language server's
            assert time.monotonic() < deadline, "the language server did not connect"
            await asyncio.sleep(0.02)
    finally:
        await stop_session(session)
    assert fake.requests == []


# -- Redis away ---------------------------------------------------------------------------------


async def test_redis_killed_mid_run_falls_back_says_so_once_then_recovers(
    fake, member, source, server, caplog
):
    fake.default("fast", Reply(FIXED))
    alice, bob = member("alice"), member("bob")
    await alice.fix(source, 1, 1, message="before")
    await settle(alice)
    server.stop()
    with caplog.at_level(logging.WARNING, logger="switchboard"):
        answers = [await alice.fix(source, 1, 1, message=f"during {n}") for n in range(3)]
        answers.append(await alice.fix(source, 1, 1, message="before"))
    assert [a.cache for a in answers] == [CacheState.MISS] * 3 + [CacheState.FRESH]
    told = [n for a in answers for n in a.notices if UNREACHABLE in n]
    assert len(told) == 1
    assert "local cache" in told[0] and server.url in told[0]
    # Once per member: alice, and bob, whose idle connections died with the server and whose
    # link may notice while alice asks (both log in this one process).
    warnings = [r for r in caplog.records if UNREACHABLE in r.getMessage()]
    assert 1 <= len(warnings) <= 2
    assert alice.gateway.team.link.state is LinkState.DOWN

    server.restart()
    await wait_until(lambda: alice.gateway.team.link.state is LinkState.UP)
    await alice.fix(source, 1, 1, message="after")
    await settle(alice)
    # Bob's connections died with the server too. His link finds that out and replaces them in
    # the background (a request never waits on a connect), so Redis soon serves him again.
    key = bob.gateway.cache_key_of(bob.fix_ask(source, 1, 1, message="after"))
    deadline = time.monotonic() + 10
    while await bob.gateway.team.before_route(key) is None:
        assert time.monotonic() < deadline, "bob's link did not recover"
        await asyncio.sleep(0.05)
    shared = await bob.fix(source, 1, 1, message="after")
    assert shared.cache is CacheState.FRESH
    assert len(fake.requests) == 5


async def test_redis_refusing_commands_is_said_once_per_episode(fake, member, source, raw, caplog):
    fake.default("fast", Reply(FIXED))
    alice = member("alice")
    await alice.fix(source, 1, 1, message="before")
    await settle(alice)

    async def refused_fixes(name: str) -> list[str]:
        """Fixes while an ACL denies the team's read and write commands: the notices."""
        await raw.execute_command("ACL", "SETUSER", "default", "-get", "-eval")
        try:
            answers = [await alice.fix(source, 1, 1, message=f"{name} {n}") for n in range(4)]
            await settle(alice)
        finally:
            await raw.execute_command("ACL", "SETUSER", "default", "+@all")
        notices = [n for a in answers for n in a.notices] + list(alice.gateway.team.notices())
        assert [a.cache for a in answers] == [CacheState.MISS] * 4  # Switchboard carries on
        return [n for n in notices if "refuses" in n]

    with caplog.at_level(logging.DEBUG, logger="switchboard"):
        told = await refused_fixes("denied")
        said = [r for r in caplog.records if "refuse" in r.getMessage()]
    assert sorted(n.split("refuses Switchboard's ")[1].split(" ")[0] for n in told) == [
        "reads",
        "writes",
    ]
    assert all("ACL" in n and alice.gateway.team.link.where in n for n in told), told
    assert len([r for r in said if r.levelno >= logging.WARNING]) == 2  # reads and writes
    assert len(said) > 2  # the later refusals, at debug level

    # Accepted again, the episode is over: the next refusal is said again.
    assert (await alice.fix(source, 1, 1, message="accepted")).cache is CacheState.MISS
    await settle(alice)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="switchboard"):
        assert len(await refused_fixes("denied again")) == 2
    assert len([r for r in caplog.records if "refuse" in r.getMessage()]) == 2


async def test_redis_unreachable_from_the_start_costs_nothing_and_is_said_once(
    fake, member, source, caplog
):
    fake.default("fast", Reply(FIXED))
    engine = member("alice", url=f"redis://127.0.0.1:{unused_tcp_port()}")
    with caplog.at_level(logging.WARNING, logger="switchboard"):
        first = await engine.fix(source, 1, 1)
        second = await engine.fix(source, 1, 1, message="other")
    assert (first.model, second.model) == ("fast", "fast")
    assert [n for n in first.notices + second.notices if UNREACHABLE in n]
    assert len([r for r in caplog.records if UNREACHABLE in r.getMessage()]) == 1
    assert (await engine.fix(source, 1, 1)).cache is CacheState.FRESH  # the local cache works


async def test_a_silent_redis_holds_a_request_no_longer_than_timeout_ms(fake, member):
    with blackhole() as hole:
        engine = member("alice", url=f"redis://127.0.0.1:{hole.port}", cache={"timeout_ms": 20.0})
        team = engine.gateway.team
        started = time.perf_counter()
        assert await team.before_route("0" * 64) is None
        waited = time.perf_counter() - started
        assert waited < 0.15, waited
        started = time.perf_counter()
        assert await team.before_route("1" * 64) is None
        assert time.perf_counter() - started < 0.15


async def test_nothing_answers_and_redis_is_down_still_a_clean_no_answer(fake, member, source):
    fake.default("fast", ServerError(503))
    fake.default("backup", ServerError(503))
    engine = member("alice", url=f"redis://127.0.0.1:{unused_tcp_port()}")
    with pytest.raises(NoAnswer) as failed:
        await engine.fix(source, 1, 1)
    assert any(UNREACHABLE in n for n in failed.value.notices)


# -- the request path's budget: a distant Redis at the default timeout_ms ---------------------

DISTANT_PASSWORD = "distant-secret-81c2"


@pytest.fixture
def distant(tmp_path):
    """(direct URL, URL through a proxy adding a ~2.6 ms round trip, the proxy) of a redis-server
    with a password, so that a new connection costs three round trips (TCP, AUTH, the read)."""
    server = RedisServer(tmp_path / "redis-distant", extra=("--requirepass", DISTANT_PASSWORD))
    server.start()
    with LatencyProxy(server.port, delay_s=0.0013) as proxy:
        direct = f"redis://:{DISTANT_PASSWORD}@127.0.0.1:{server.port}"
        yield direct, f"redis://:{DISTANT_PASSWORD}@127.0.0.1:{proxy.port}", proxy
    server.stop()


def questions(count: int) -> list[Ask[str]]:
    return [
        Ask("explain", "explain", Prompt((Message("user", f"question {n}."),)), parse=str)
        for n in range(count)
    ]


async def test_a_distant_redis_serves_hits_at_the_default_budget_after_cut_off_reads(
    fake, member, distant
):
    direct, via_proxy, proxy = distant
    fake.default("fast", Echo())
    asks = questions(30)
    alice = member("alice", url=direct)
    for ask in asks:
        await alice.ask(ask)
    await settle(alice)
    bob = member("bob", url=via_proxy, cache={"timeout_ms": 5.0})  # the default budget
    team = bob.gateway.team
    keys = [bob.gateway.cache_key_of(ask) for ask in asks]
    await bob.gateway.start()
    await asyncio.sleep(0.1)  # connections are opened in the background
    # A slow spell cuts one read off; the editor gives up on another (the hover moved on).
    proxy.delay_s = 0.05
    assert await team.before_route(keys[0]) is None
    proxy.delay_s = 0.0013
    hover = asyncio.ensure_future(team.before_route(keys[1]))
    await asyncio.sleep(0.001)
    hover.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await hover
    await asyncio.sleep(0.2)
    connections = proxy.accepted
    found = [await team.before_route(key) for key in keys]
    hits = [entry for entry in found if entry is not None]
    # All of them on an idle machine; a loaded one sometimes takes longer than the budget.
    assert len(hits) >= 20, f"{len(hits)} of {len(keys)} reads were hits"
    assert all(entry.key == key for entry, key in zip(found, keys, strict=True) if entry)
    assert proxy.accepted == connections  # reads use open connections, never new ones
    assert team.link.state is LinkState.UP


async def test_a_slow_redis_never_holds_a_request_past_the_default_budget(fake, member, distant):
    _direct, via_proxy, proxy = distant
    bob = member("bob", url=via_proxy, cache={"timeout_ms": 5.0})
    await bob.gateway.start()
    await _assert_reads_keep_to_the_budget(bob.gateway.team, proxy)


async def test_a_slow_redis_over_tls_never_holds_a_request_past_the_default_budget(
    fake, member, tls
):
    with LatencyProxy(tls.port, delay_s=0.0013) as proxy:
        url = tls.url.replace(str(tls.port), str(proxy.port))
        bob = member("bob", url=url, cache={"timeout_ms": 5.0, "ca_file": tls.ca_file})
        await bob.gateway.start()
        await _assert_reads_keep_to_the_budget(bob.gateway.team, proxy)
        await bob.aclose()


async def _assert_reads_keep_to_the_budget(team, proxy: LatencyProxy) -> None:
    await asyncio.sleep(0.2)  # the link opens its connections in the background
    waited = []
    for delay_s in (0.03, 0.0013) * 10:  # slow spells, each cutting reads off
        proxy.delay_s = delay_s
        started = time.perf_counter()
        await team.before_route(f"{len(waited):064x}")
        waited.append(time.perf_counter() - started)
    # The budget, plus the event loop's timer granularity (a millisecond) and a busy machine's
    # scheduling. Before, a read cut off mid-connect ran on well past it (10 to 250 ms over TLS).
    assert max(waited) < 0.005 + 0.005, [round(w * 1000, 1) for w in waited]


# -- TLS ----------------------------------------------------------------------------------------


@pytest.fixture
def tls(tmp_path):
    """A redis-server that speaks only TLS, with a certificate from a private CA."""
    require_redis_server()
    server = RedisServer.with_tls(tmp_path / "tls").start()
    yield server
    server.stop()


async def test_rediss_with_a_private_ca(fake, member, source, tls):
    fake.default("fast", Reply(FIXED))
    team = {"ca_file": tls.ca_file}
    alice = member("alice", url=tls.url, cache=team)
    bob = member("bob", url=tls.url, cache=team)
    await alice.fix(source, 1, 1)
    await settle(alice)
    assert (await bob.fix(source, 1, 1)).cache is CacheState.FRESH


async def test_rediss_builds_its_tls_context_once_not_per_connection(
    fake, member, source, tls, monkeypatch
):
    # Building one (the system CA store, parsed) takes tens of milliseconds and blocks the
    # event loop; no timeout can cut it short, so it must never happen on a request's path.
    fake.default("fast", Reply(FIXED))
    alice = member("alice", url=tls.url, cache={"ca_file": tls.ca_file})
    admin = redis.asyncio.Redis.from_url(tls.url, ssl_ca_certs=tls.ca_file)
    await admin.ping()
    built = []
    create_default_context = ssl.create_default_context

    def counted(*args, **kwargs):
        built.append(1)
        return create_default_context(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counted)
    await alice.gateway.start()
    await alice.fix(source, 1, 1)
    await settle(alice)
    # Every connection dropped by the server: the link opens new ones, with the same context.
    assert await admin.client_kill_filter(_type="normal", skipme=True) >= 1
    await admin.aclose()
    for n in range(3):
        await alice.fix(source, 1, 1, message=f"after {n}")
    await wait_until(lambda: alice.gateway.team.link.state is LinkState.UP)
    await alice.fix(source, 1, 1, message="later")
    await settle(alice)
    assert built == []


# -- configuration ------------------------------------------------------------------------------


ROUTES = {"fix": ["fast"], "explain": ["fast"], "review": ["fast"]}


def _config(tmp_path, **cache):
    providers, models = {"p": "http://127.0.0.1:9/v1"}, {"fast": {"provider": "p"}}
    return config_dict(tmp_path, providers, models, ROUTES, cache=cache)


def test_plain_redis_to_another_host_needs_tls_and_never_echoes_the_password(tmp_path):
    raw = _config(tmp_path, url="redis://:hunter2-secret@redis.example.com:6379/0")
    with pytest.raises(ConfigError) as refused:
        config_from_mapping(raw, environ={}, source="test")
    assert "cache.url" in str(refused.value) and "rediss://" in str(refused.value)
    assert "hunter2" not in str(refused.value)
    raw["cache"]["url"] = "rediss://:hunter2-secret@redis.example.com:6380/0"
    assert config_from_mapping(raw, environ={}, source="test").cache.url


def test_the_url_can_come_from_the_environment(tmp_path):
    raw = _config(tmp_path, url_env="TEAM_REDIS_URL")
    with pytest.raises(ConfigError, match=r"cache\.url_env"):
        config_from_mapping(raw, environ={"TEAM_REDIS_URL": "http://x"}, source="test")
    config = config_from_mapping(
        raw, environ={"TEAM_REDIS_URL": "redis://127.0.0.1:1"}, source="test"
    )
    assert config.cache.url_env == "TEAM_REDIS_URL"


@pytest.mark.parametrize(
    ("cache", "problem"),
    [
        ({"timeout_ms": 0}, "cache.timeout_ms: must be positive"),
        ({"namespace": "has spaces"}, "cache.namespace: use 1 to 64"),
        ({"shared_max_entries": 0}, "cache.shared_max_entries: must be at least 1"),
        ({"url": "redis://127.0.0.1", "url_env": "X"}, "set one of them"),
        ({"share_health": "yes"}, "cache.share_health: expected a boolean"),
        ({"url": "http://127.0.0.1"}, "cache.url: is not a redis://"),
        (
            {"ttl_s": 3600, "shared_expire_s": 600},
            "cache.shared_expire_s: must be at least cache.ttl_s (3600 s)",
        ),
        ({"url": "redis://127.0.0.1:63x79/0"}, "cache.url: has an invalid port"),
        ({"url": "rediss://cache.example.com:70000"}, "cache.url: has an invalid port"),
        ({"url": "redis://127.0.0.1:0"}, "cache.url: has an invalid port"),
        (
            {"url": "rediss://cache.example.com", "ca_file": "/nonexistent/team-ca.pem"},
            "cache.ca_file: /nonexistent/team-ca.pem is not a readable file",
        ),
    ],
)
def test_team_settings_are_validated(tmp_path, cache, problem):
    with pytest.raises(ConfigError) as refused:
        config_from_mapping(_config(tmp_path, **cache), environ={}, source="test")
    assert problem in str(refused.value)


def test_a_workspace_cannot_point_the_cache_at_its_own_redis(tmp_path):
    config = make_config(
        tmp_path, {"p": "http://127.0.0.1:9/v1"}, {"fast": {"provider": "p"}}, ROUTES
    )
    updated, warnings = apply_overlay(config, {"cache": {"url": "redis://127.0.0.1:1"}}, "repo")
    assert updated.cache.url is None
    assert any("cache" in w for w in warnings)


def test_an_entry_stored_under_another_key_is_never_served():
    entry = CacheEntry("b" * 64, "answer for b", "fast", "p", 1.0)
    assert decode("b" * 64, encode(entry)) == entry
    assert decode("a" * 64, encode(entry)) is None
    assert decode("a" * 64, b"not json") is None


async def test_reads_cut_short_by_the_budget_never_mix_up_answers(fake, member):
    fake.default("fast", Echo())
    alice = member("alice")
    asks = [
        Ask("explain", "explain", Prompt((Message("user", f"question {n}."),)), parse=str)
        for n in range(40)
    ]
    for ask in asks:
        await alice.ask(ask)
    await settle(alice)
    bob = member("bob", cache={"timeout_ms": 0.05})  # most reads are cancelled mid-flight
    team = bob.gateway.team
    keys = [bob.gateway.cache_key_of(a) for a in asks]
    results = await asyncio.gather(*(team.before_route(k) for k in keys * 5))
    assert None in results  # some were cut short
    team.link.timeout_s = 1.0
    for n, key in enumerate(keys):
        entry = await team.before_route(key)
        assert entry is not None and entry.key == key
        assert entry.text.endswith(f"question {n}.")
    assert team.link.state is LinkState.UP  # slow is not down


async def test_recall_finds_a_teammates_answer_without_asking_a_model(fake, member, source):
    from switchboard.tasks import explain_ask

    fake.default("fast", Reply("explained"))
    alice, bob = member("alice"), member("bob")
    await alice.explain(source, 1)
    await settle(alice)
    ask = explain_ask(bob.config, source, 1)
    assert bob.cached(ask) is None  # not on Bob's machine…
    recalled = await bob.recall(ask)  # …but in the team's cache
    assert recalled is not None and recalled.cache is CacheState.FRESH
    assert recalled.value.markdown == "explained"
    assert len(fake.requests) == 1
    assert await bob.recall(explain_ask(bob.config, source, 4)) is None
    assert len(fake.requests) == 1


async def test_recall_counts_one_cache_hit_when_a_teammates_newer_copy_serves(fake, member, source):
    from switchboard.tasks import explain_ask

    fake.default("fast", Reply("explained"))
    bob = member("bob", cache={"ttl_s": 0})
    await bob.explain(source, 1)  # Bob's own copy, stale at once
    await settle(bob)
    await asyncio.sleep(0.01)
    fake.default("fast", Reply("explained again"))
    alice = member("alice", cache={"ttl_s": 0})
    await alice.explain(source, 1)  # a newer copy, in the team's cache
    await settle(alice)
    recalled = await bob.recall(explain_ask(bob.config, source, 1))
    assert recalled is not None and recalled.cache is CacheState.STALE
    assert recalled.value.markdown == "explained again"
    # One answer served, one hit: not also one for the older copy it replaced.
    [fast] = [stats for stats in bob.gateway.usage.snapshot() if stats.model == "fast"]
    assert (fast.cache_fresh, fast.cache_stale) == (0, 1)
