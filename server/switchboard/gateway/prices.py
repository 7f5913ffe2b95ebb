"""What a model costs, and where that figure came from.

A price set in the config always wins. For a model without one, the price is looked up in the
background: first the provider's own models listing (OpenRouter's carries per-token prices),
then the genai-prices table (a maintained PyPI package, imported only when a lookup runs). What
was found is kept in a small JSON file with a lifetime, so an editor request only ever reads a
dict in memory; a refresh never runs on a request's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Config, ModelConfig
from .catalog import Listing, fetch_listings
from .outcomes import TokenUsage

if TYPE_CHECKING:
    from .provider import ProviderClient

log = logging.getLogger(__name__)


class PriceSource(StrEnum):
    CONFIG = "config"
    LISTING = "provider listing"
    TABLE = "price table"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens in and out; None when nobody knows."""

    input_per_mtok: float | None
    output_per_mtok: float | None
    source: PriceSource

    @property
    def known(self) -> bool:
        return self.input_per_mtok is not None and self.output_per_mtok is not None

    @property
    def free(self) -> bool:
        """Known to cost nothing (a local model, a provider's free tier)."""
        return self.known and self.input_per_mtok == 0 and self.output_per_mtok == 0

    def cost(self, prompt_tokens: float, completion_tokens: float) -> float:
        """USD for that many tokens (0 when the price is unknown)."""
        return (
            prompt_tokens * (self.input_per_mtok or 0.0)
            + completion_tokens * (self.output_per_mtok or 0.0)
        ) / 1_000_000

    def to_json(self) -> dict[str, Any]:
        return {
            "input": self.input_per_mtok,
            "output": self.output_per_mtok,
            "source": self.source.value,
        }


UNKNOWN = Price(None, None, PriceSource.UNKNOWN)


def cost_of(price: Price, usage: TokenUsage) -> float:
    """What a call cost: the provider's own figure where it gives one, else tokens x price."""
    if usage.cost_usd is not None:
        return usage.cost_usd
    return price.cost(usage.prompt_tokens, usage.completion_tokens)


def configured_price(model: ModelConfig) -> Price | None:
    """The config's price, when it sets one (a side left out counts as free)."""
    if model.input_cost_per_mtok is None and model.output_cost_per_mtok is None:
        return None
    return Price(
        model.input_cost_per_mtok or 0.0, model.output_cost_per_mtok or 0.0, PriceSource.CONFIG
    )


def default_prices_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("switchboard")) / "prices.json"


def _key(base_url: str, model_id: str) -> str:
    # Keyed by endpoint and id, not alias: the same model under two names has one price.
    return f"{base_url.rstrip('/')} {model_id}"


# A lookup in the price table: (model id, provider base URL) -> USD per Mtok in and out.
TableLookup = Callable[[str, str], tuple[float, float] | None]


def genai_prices_lookup(model_id: str, base_url: str) -> tuple[float, float] | None:
    """The genai-prices table's price for a model (at the provider the URL names, else any
    provider that serves a model of that name). Imported here: loading it takes a second."""
    try:
        from genai_prices import Usage, calc_price
    except ImportError:  # pragma: no cover - a dependency, but never a reason to fail
        return None
    million = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    # At that provider first, then (None: calc_price's default) at any provider.
    for api_url in (base_url, None):
        try:
            found = calc_price(million, model_id, provider_api_url=api_url)
        except LookupError:
            continue
        except Exception as exc:  # a table bug must not break the refresh
            log.info("price table lookup for %s failed: %s", model_id, exc)
            return None
        return float(found.input_price), float(found.output_price)
    return None


class PriceBook:
    """Every configured model's price and its source; refreshed in the background."""

    def __init__(
        self,
        config: Config,
        path: Path | None,
        *,
        table: TableLookup = genai_prices_lookup,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._path = path
        self._table = table
        self._clock = clock
        self._found: dict[str, dict[str, Any]] = self._load()
        self._refreshing: asyncio.Task[None] | None = None

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._path is None:
            return {}
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("Ignoring the price cache %s (%s); it is looked up again.", self._path, exc)
            return {}
        found = data.get("prices") if isinstance(data, dict) else None
        if not isinstance(found, dict):
            return {}
        return {k: v for k, v in found.items() if isinstance(v, dict)}

    def price(self, alias: str) -> Price:
        model = self.config.models.get(alias)
        if model is None:
            return UNKNOWN
        configured = configured_price(model)
        if configured is not None:
            return configured
        provider = self.config.providers.get(model.provider)
        entry = self._found.get(_key(provider.base_url, model.model)) if provider else None
        if entry is None or entry.get("input") is None:
            return UNKNOWN
        return Price(float(entry["input"]), float(entry["output"]), PriceSource(entry["source"]))

    def _unpriced(self) -> dict[str, ModelConfig]:
        return {
            alias: model
            for alias, model in self.config.models.items()
            if configured_price(model) is None and model.provider in self.config.providers
        }

    def stale(self) -> bool:
        """Some unpriced model was never looked up, or its lookup is older than the lifetime."""
        if not (self.config.prices.listing or self.config.prices.table):
            return False
        now = self._clock()
        for model in self._unpriced().values():
            base_url = self.config.providers[model.provider].base_url
            entry = self._found.get(_key(base_url, model.model))
            if entry is None or now - float(entry.get("at", 0)) > self.config.prices.ttl_s:
                return True
        return False

    async def refresh(
        self, clients: Mapping[str, ProviderClient], listings: Mapping[str, Listing] | None = None
    ) -> Mapping[str, Listing]:
        """Look up every unpriced model now (listings at once, unless given, then the table in
        a thread) and save what was found; returns the listings read."""
        unpriced = self._unpriced()
        settings = self.config.prices
        if listings is None:
            listings = {}
        if settings.listing and unpriced and not listings:
            wanted = {m.provider for m in unpriced.values()}
            listings = await fetch_listings(clients, settings.timeout_s, only=wanted)
        now = self._clock()
        pending: list[tuple[str, str]] = []
        for model in unpriced.values():
            base_url = self.config.providers[model.provider].base_url
            listing = listings.get(model.provider)
            listed = listing.models.get(model.model) if listing is not None else None
            if listed is not None and listed.priced:
                self._found[_key(base_url, model.model)] = {
                    "input": listed.input_cost_per_mtok,
                    "output": listed.output_cost_per_mtok,
                    "source": PriceSource.LISTING.value,
                    "at": now,
                }
            else:
                pending.append((model.model, base_url))
        if settings.table and pending:
            table = self._table
            found = await asyncio.to_thread(lambda: [table(m, url) for m, url in pending])
            for (model_id, base_url), prices in zip(pending, found, strict=True):
                self._found[_key(base_url, model_id)] = {
                    "input": prices[0] if prices else None,
                    "output": prices[1] if prices else None,
                    "source": PriceSource.TABLE.value if prices else PriceSource.UNKNOWN.value,
                    "at": now,
                }
        else:
            for model_id, base_url in pending:  # not found now; asked again after the lifetime
                self._found.setdefault(
                    _key(base_url, model_id),
                    {"input": None, "output": None, "source": "unknown", "at": now},
                )
        self._save()
        return listings

    def _save(self) -> None:
        if self._path is None:
            return
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self._path.with_name(f".{self._path.name}.{os.getpid()}.tmp")
            temporary.write_text(json.dumps({"prices": self._found}, indent=1), encoding="utf-8")
            os.replace(temporary, self._path)
        except OSError as exc:
            log.warning("Could not save looked-up prices to %s (%s).", self._path, exc)

    def refresh_in_background(self, clients: Mapping[str, ProviderClient]) -> None:
        """Start a refresh if prices are stale and none runs (needs a running event loop)."""
        if self._refreshing is not None and not self._refreshing.done():
            return
        if not self.stale():
            return
        self._refreshing = asyncio.get_running_loop().create_task(
            self._refresh_quietly(clients), name="switchboard:prices"
        )

    async def _refresh_quietly(self, clients: Mapping[str, ProviderClient]) -> None:
        try:
            await self.refresh(clients)
        except Exception:  # a refresh is best effort: prices stay as they were
            log.warning("Could not refresh model prices.", exc_info=True)

    async def aclose(self) -> None:
        if self._refreshing is not None and not self._refreshing.done():
            self._refreshing.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._refreshing
