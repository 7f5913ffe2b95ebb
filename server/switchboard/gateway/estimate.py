"""What an ask will likely cost, before anything is sent: pure arithmetic over the prompt, the
model's price and what that model's answers to the task were like before (the usage log)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..config import Config
from .answers import Ask
from .policy import estimate_tokens, expected_tokens, fits, percentile
from .prices import Price
from .wire import output_budget

# How far the provider's token count may be from ours (its tokenizer is not ours).
INPUT_MARGIN = 0.1
_EN_DASH = "\u2013"


@dataclass(frozen=True, slots=True)
class Estimate:
    model: str
    provider: str
    input_tokens: int
    output_low: int  # what the model typically writes for this task
    output_high: int  # its output budget: the most it may write
    price: Price

    @property
    def cost_low(self) -> float:
        return self.price.cost(self.input_tokens * (1 - INPUT_MARGIN), self.output_low)

    @property
    def cost_high(self) -> float:
        return self.price.cost(self.input_tokens * (1 + INPUT_MARGIN), self.output_high)

    def describe(self) -> str:
        """'≈ $0.03-0.05 on strong' (an en dash), or the tokens when the price is unknown."""
        if not self.price.known:
            return f"≈ {self.input_tokens} tokens in on {self.model} (price unknown)"
        if self.price.free:
            return f"free on {self.model}"
        low, high = _money(self.cost_low), _money(self.cost_high)
        span = low if low == high else f"{low}{_EN_DASH}{high}"
        return f"≈ ${span} on {self.model}"

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "provider": self.provider,
            "input_tokens": self.input_tokens,
            "output_tokens": {"low": self.output_low, "high": self.output_high},
            "cost_usd": (
                {"low": round(self.cost_low, 8), "high": round(self.cost_high, 8)}
                if self.price.known
                else None
            ),
            "price_per_mtok": self.price.to_json(),
        }


def _money(usd: float) -> str:
    return f"{usd:.2f}" if usd >= 0.01 else f"{usd:.4f}" if usd >= 0.0001 else f"{usd:.6f}"


def estimate_ask(
    config: Config, ask: Ask[Any], price_of: Any, output_samples: Any
) -> Estimate | None:
    """The cost of `ask` on the first model of its route that fits it (None: none fits).

    `price_of(alias) -> Price`; `output_samples(alias, task) -> completion tokens seen`."""
    window_tokens = estimate_tokens(ask.prompt.text)
    for alias in config.route(ask.route):
        model = config.models[alias]
        budget = output_budget(model, ask.prompt)
        if not fits(model, window_tokens, ask.prompt.max_output_tokens):
            continue
        return Estimate(
            model=alias,
            provider=model.provider,
            input_tokens=expected_tokens(ask.prompt.text),
            output_low=min(typical_output(output_samples(alias, ask.task)), budget),
            output_high=budget,
            price=price_of(alias),
        )
    return None


def typical_output(samples: Sequence[int]) -> int:
    """The low end of what a model writes: the 25th percentile of its recent answers."""
    found = percentile([float(n) for n in samples], 25)
    return 0 if found is None else int(found)
