"""What each provider offers: its `GET /models` listing, read into `ListedModel`s.

OpenAI-compatible servers list model ids; OpenRouter-style listings also carry the context length
and per-token prices (`pricing.prompt`, `pricing.completion`, as decimal strings in USD per
token). Unreachable providers become a `Listing` with an error, never an exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config import Config
from .outcomes import ProviderError

if TYPE_CHECKING:
    from .provider import ProviderClient


@dataclass(frozen=True, slots=True)
class ListedModel:
    id: str
    context_window: int | None = None
    input_cost_per_mtok: float | None = None
    output_cost_per_mtok: float | None = None

    @property
    def priced(self) -> bool:
        return self.input_cost_per_mtok is not None and self.output_cost_per_mtok is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "context_window": self.context_window,
            "price_per_mtok": (
                {"input": self.input_cost_per_mtok, "output": self.output_cost_per_mtok}
                if self.priced
                else None
            ),
        }


@dataclass(frozen=True, slots=True)
class Listing:
    """One provider's models, or why they could not be listed."""

    provider: str
    models: dict[str, ListedModel] = field(default_factory=dict)
    error: str | None = None


def parse_listing(provider: str, document: Any) -> Listing:
    """Read an OpenAI/OpenRouter-style `{"data": [{"id": ...}, ...]}` document."""
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, list):
        return Listing(provider, error="the models listing has no `data` list")
    models: dict[str, ListedModel] = {}
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        pricing = item.get("pricing")
        if not isinstance(pricing, dict):
            pricing = {}
        window = item.get("context_length")
        models[item["id"]] = ListedModel(
            id=item["id"],
            context_window=window if isinstance(window, int) and window > 0 else None,
            input_cost_per_mtok=_per_mtok(pricing.get("prompt")),
            output_cost_per_mtok=_per_mtok(pricing.get("completion")),
        )
    return Listing(provider, models)


def _per_mtok(per_token: Any) -> float | None:
    """USD per token (a number or a decimal string) as USD per million tokens."""
    if isinstance(per_token, bool):
        return None
    try:
        value = float(per_token)
    except (TypeError, ValueError):
        return None
    # OpenRouter uses -1 for "varies" (its auto router): that is no price.
    return round(value * 1_000_000, 9) if value >= 0 else None


async def fetch_listing(client: ProviderClient, timeout_s: float) -> Listing:
    try:
        document = await client.list_models(timeout_s)
    except ProviderError as exc:
        return Listing(client.name, error=f"{exc.outcome.describe()} ({exc.detail})")
    return parse_listing(client.name, document)


async def fetch_listings(
    clients: Mapping[str, ProviderClient], timeout_s: float, only: set[str] | None = None
) -> dict[str, Listing]:
    """Every provider's listing (or those named in `only`), asked at the same time."""
    names = [name for name in clients if only is None or name in only]
    listings = await asyncio.gather(*(fetch_listing(clients[n], timeout_s) for n in names))
    return dict(zip(names, listings, strict=True))


def unlisted_models(config: Config, listings: Mapping[str, Listing]) -> dict[str, list[str]]:
    """Per provider that answered, the aliases of configured models it does not list."""
    missing: dict[str, list[str]] = {}
    for alias, model in config.models.items():
        listing = listings.get(model.provider)
        if listing is not None and listing.error is None and model.model not in listing.models:
            missing.setdefault(model.provider, []).append(alias)
    return missing
