"""Route strategies: a route taken in its listed order, or ordered by measured latency, by
price, or by a weighted mix of the two.

Ordering is data and pure functions (`order_chain`); `RouteOrders` keeps the order in use per
route, recomputed from the usage figures at most every `refresh_s`, after an answer: a request
only looks its route's order up (one dict lookup). The router still skips, in that order, the
candidates whose provider is cooling down or whose window is too small for the prompt, so the
order is taken among the healthy candidates that fit.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..config import Config, StrategyConfig
from .prices import Price

LISTED = "listed"
# Prices are scored relative to the dearest known one (1.0); an unknown price scores worse.
UNKNOWN_PRICE_SCORE = 1.5


@dataclass(frozen=True, slots=True)
class Measure:
    """What is known of one candidate: its recent median latency and its blended price."""

    p50_ms: float | None  # None: no recent successful answer
    price_per_mtok: float | None  # None: price unknown


@dataclass(frozen=True, slots=True)
class Order:
    """A route's order in use, and why, for `config check` and `stats`."""

    chain: tuple[str, ...]
    strategy: str
    reason: str
    computed_at: float

    def to_json(self) -> dict[str, object]:
        return {"order": list(self.chain), "strategy": self.strategy, "why": self.reason}


def _score(
    strategy: StrategyConfig, measure: Measure, worst_ms: float, worst_price: float
) -> float:
    """Lower is better. An unmeasured model scores 0 on latency: it is tried, which measures
    it (and lets a model that was slow earn its place back once its slow samples age out)."""
    latency = (measure.p50_ms or 0.0) / worst_ms if worst_ms else 0.0
    # An unknown price counts as dearer than the dearest known: nothing says it is cheap.
    price = (
        (measure.price_per_mtok / worst_price if worst_price else 0.0)
        if measure.price_per_mtok is not None
        else UNKNOWN_PRICE_SCORE
    )
    if strategy.order == "latency":
        return latency
    if strategy.order == "price":
        return price
    weight = strategy.latency_weight
    return weight * latency + (1.0 - weight) * price


def order_chain(
    chain: Sequence[str], strategy: StrategyConfig, measures: Mapping[str, Measure]
) -> tuple[tuple[str, ...], str]:
    """`chain` ordered by `strategy` (ties keep the listed order), and a sentence saying why."""
    if strategy.order == LISTED or len(chain) < 2:
        return tuple(chain), "as listed"
    known = [measures[a] for a in chain if a in measures]
    worst_ms = max((m.p50_ms for m in known if m.p50_ms is not None), default=0.0)
    worst_price = max((m.price_per_mtok for m in known if m.price_per_mtok is not None), default=0)
    blank = Measure(None, None)
    scored = sorted(
        enumerate(chain),
        key=lambda pair: (
            _score(strategy, measures.get(pair[1], blank), worst_ms, worst_price),
            pair[0],
        ),
    )
    ordered = tuple(alias for _, alias in scored)
    return ordered, "; ".join(_why(alias, measures.get(alias, blank)) for alias in ordered)


def _why(alias: str, measure: Measure) -> str:
    ms = "unmeasured" if measure.p50_ms is None else f"p50 {measure.p50_ms:.0f} ms"
    price = (
        "price unknown"
        if measure.price_per_mtok is None
        else f"${measure.price_per_mtok:g}/Mtok in+out"
    )
    return f"{alias}: {ms}, {price}"


def median_of_last(samples: Sequence[float], count: int) -> float | None:
    """The median of the last `count` samples (None when there are none)."""
    if not samples:
        return None
    first = max(0, len(samples) - count)
    return statistics.median(samples[i] for i in range(first, len(samples)))


def measurer(
    recent: Callable[[str], Sequence[float]], price_of: Callable[[str], Price]
) -> Callable[[str, int], Measure]:
    """Measures from the usage log's recent latencies and the price book (in + out per Mtok)."""

    def measure(alias: str, samples: int) -> Measure:
        price = price_of(alias)
        blended = (price.input_per_mtok or 0.0) + (price.output_per_mtok or 0.0)
        return Measure(median_of_last(recent(alias), samples), blended if price.known else None)

    return measure


class RouteOrders:
    """The order in use per route. `chain` is the request path's lookup; `refresh` recomputes
    the orders older than their strategy's `refresh_s` (called after an answer)."""

    def __init__(self, config: Config, measure: Callable[[str, int], Measure]) -> None:
        self.config = config
        self._measure = measure  # alias, samples -> Measure
        self._orders: dict[str, Order] = {}

    def reconfigure(self, config: Config) -> None:
        self.config = config
        self._orders.clear()

    def chain(self, route: str, listed: tuple[str, ...]) -> tuple[str, ...]:
        """The order in use for `route` (its listed chain until one was computed)."""
        order = self._orders.get(route)
        if order is None or order.strategy == LISTED:
            return listed
        # A chain narrowed meanwhile (a spent budget keeps the free models) keeps its order.
        if len(order.chain) != len(listed):
            return tuple(alias for alias in order.chain if alias in listed)
        return order.chain

    def refresh(self, now: float, *, force: bool = False) -> None:
        for route, strategy in self.config.strategies.items():
            known = self._orders.get(route)
            # A clock that went back (a new one) makes every order stale, as does refresh_s.
            if (
                not force
                and known is not None
                and 0 <= now - known.computed_at < strategy.refresh_s
            ):
                continue
            self._orders[route] = self.compute(route, now)

    def compute(self, route: str, now: float) -> Order:
        strategy = self.config.strategies.get(route, StrategyConfig())
        listed = self.config.route(route)
        measures = {alias: self._measure(alias, strategy.samples) for alias in listed}
        chain, reason = order_chain(listed, strategy, measures)
        return Order(chain, strategy.order, reason, now)

    def snapshot(self, now: float) -> dict[str, dict[str, object]]:
        """Every route with a strategy: the order in use and why."""
        return {
            route: (self._orders.get(route) or self.compute(route, now)).to_json()
            for route in self.config.strategies
        }
