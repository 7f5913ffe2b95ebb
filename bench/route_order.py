"""The lookup cost of an ordered route on the request path, against a fixed route.

`uv run python bench/route_order.py [--calls N]` prints, per call: the lookup a request makes
for a fixed (listed) route and for a latency-ordered one, the difference as a share of the
~0.2 ms the router adds per request, and the cost of one recomputation of the order (made after
an answer, at most every `refresh_s`, never by the lookup itself).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))

from switchboard.config import Config, ModelConfig, ProviderConfig, StrategyConfig
from switchboard.gateway.prices import Price, PriceSource
from switchboard.gateway.strategy import RouteOrders, measurer

ROUTER_OVERHEAD_US = 200.0  # what the router adds per request today (README, Performance)
ALIASES = ("fast", "local-fast", "backup", "strong")


def _config() -> Config:
    return Config(
        providers={"p": ProviderConfig(base_url="http://127.0.0.1:9/v1")},
        models={alias: ModelConfig(provider="p", model=alias) for alias in ALIASES},
        routes={"fixed": ALIASES, "ordered": ALIASES},
        strategies={"ordered": StrategyConfig(order="latency")},
    )


def _per_call_ns(stmt: object, calls: int, repeats: int = 7) -> float:
    times = timeit.repeat(stmt, number=calls, repeat=repeats)  # type: ignore[call-overload]
    return statistics.median(times) / calls * 1e9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200_000)
    args = parser.parse_args()
    latencies = {
        alias: [float(100 + 50 * i + j % 7) for j in range(512)]
        for i, alias in enumerate(reversed(ALIASES))
    }
    price = Price(1.0, 2.0, PriceSource.CONFIG)
    config = _config()
    orders = RouteOrders(config, measurer(lambda a: latencies[a], lambda _: price))
    orders.refresh(0.0, force=True)
    listed = config.route("fixed")
    assert orders.chain("ordered", listed) != listed  # the ordered route really is reordered

    fixed_ns = _per_call_ns(lambda: orders.chain("fixed", listed), args.calls)
    ordered_ns = _per_call_ns(lambda: orders.chain("ordered", listed), args.calls)
    refresh_ns = _per_call_ns(lambda: orders.refresh(0.0, force=True), max(1, args.calls // 100))
    extra_us = max(0.0, ordered_ns - fixed_ns) / 1000
    print(f"lookup, fixed route:          {fixed_ns:8.0f} ns")
    print(f"lookup, latency-ordered:      {ordered_ns:8.0f} ns")
    print(f"ratio ordered / fixed:        {ordered_ns / fixed_ns:8.2f}x")
    print(
        f"extra per request:            {extra_us * 1000:8.0f} ns = "
        f"{extra_us / ROUTER_OVERHEAD_US:.3%} of the router's ~{ROUTER_OVERHEAD_US:.0f} us"
    )
    print(f"one recomputation (off path): {refresh_ns / 1000:8.1f} us, at most every refresh_s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
