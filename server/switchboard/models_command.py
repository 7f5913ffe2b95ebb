"""`switchboard models`, `review --estimate` and the budget lines of `stats`: what things cost,
shown from the shell. Loaded only for those commands."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .engine import Engine
from .exits import EXIT_NO_ANSWER, EXIT_OK, fail
from .gateway.catalog import Listing, fetch_listings, unlisted_models
from .tasks import Source


async def print_models(engine: Engine, *, as_json: bool) -> int:
    """Per provider, the models it lists (with context window and price where it says), and
    every configured model it does not list. Also refreshes the looked-up prices."""
    gateway = engine.gateway
    config = engine.config
    listings = await fetch_listings(gateway.clients, config.prices.timeout_s)
    if gateway.prices is not None:
        await gateway.prices.refresh(gateway.clients, listings)
    unlisted = unlisted_models(config, listings)
    providers = {
        name: _provider_json(name, listings[name], unlisted.get(name, []), engine)
        for name in listings
    }
    report = {
        "providers": providers,
        "configured": [
            {
                "alias": alias,
                "provider": model.provider,
                "model": model.model,
                "listed": _listed(listings.get(model.provider), model.model),
                "price_per_mtok": gateway.price_of(alias).to_json(),
            }
            for alias, model in config.models.items()
        ],
    }
    if as_json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return EXIT_OK
    for name, provider in providers.items():
        if provider["error"] is not None:
            print(f"{name}: unreachable ({provider['error']})")
            continue
        print(f"{name}: {len(provider['models'])} models at {provider['base_url']}")
        for listed in provider["models"]:
            window = listed["context_window"]
            price = listed["price_per_mtok"]
            print(
                f"  {listed['id']}"
                + (f"  {window} tokens" if window else "")
                + (f"  ${price['input']:g}/{price['output']:g} per Mtok" if price else "")
            )
        for alias in provider["unlisted"]:
            model = config.models[alias]
            print(f"  ! {alias} ({model.model}) is configured but {name} does not list it")
    return EXIT_OK


def _listed(listing: Listing | None, model_id: str) -> bool | None:
    if listing is None or listing.error is not None:
        return None  # not known: the provider did not answer
    return model_id in listing.models


def _provider_json(name: str, listing: Listing, unlisted: list[str], engine: Engine) -> Any:
    return {
        "base_url": engine.config.providers[name].base_url,
        "error": listing.error,
        "models": [m.to_json() for m in listing.models.values()],
        "unlisted": unlisted,
    }


def print_estimate(engine: Engine, source: Source, *, as_json: bool) -> int:
    """The estimated cost of reviewing `source`; no model is called."""
    estimate = engine.review_estimate(source)
    if estimate is None:
        return fail(EXIT_NO_ANSWER, f"{source.name} fits no model on the review route.")
    if as_json:
        print(json.dumps({"estimate": estimate.to_json()}, indent=2, ensure_ascii=False))
    else:
        print(
            f"{source.path}: {estimate.describe()} ({estimate.input_tokens} tokens in, "
            f"{estimate.output_low}-{estimate.output_high} out)"
        )
    return EXIT_OK


def budget_lines(budget: Mapping[str, Any]) -> list[str]:
    """Today's and this month's spend, against each limit."""
    lines = [f"spent: ${budget['today_usd']:.4f} today, ${budget['month_usd']:.4f} this month"]
    for limit in budget["limits"]:
        scope = "" if limit["scope"] == "overall" else f" ({limit['scope']})"
        lines.append(
            f"  {limit['period']} limit{scope}: ${limit['spent_usd']:.4f} of "
            f"${limit['limit_usd']:.2f}"
        )
    if budget["state"] == "reached":
        lines.append("budget reached: only free models and the cache answer until it resets")
    elif budget["state"] == "near":
        lines.append("near a budget limit")
    return lines
