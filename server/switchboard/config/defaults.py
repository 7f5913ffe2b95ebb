"""Built-in defaults: a first run works with a local Ollama and with any hosted key that is set."""

from __future__ import annotations

from collections.abc import Mapping

from .schema import ModelConfig, ProviderConfig

LOCAL = "local"

# name -> (base_url, key env var, fast model id, strong model id, prices fast/strong in USD/Mtok)
HOSTED: dict[str, tuple[str, str, str, str, tuple[float, float], tuple[float, float]]] = {
    "shareai": (
        "https://api.shareai.now/v1",
        "SHAREAI_API_KEY",
        "llama3.1:8b",
        "qwen2.5-coder:32b",
        (0.05, 0.10),
        (0.20, 0.60),
    ),
    "openrouter": (
        "https://openrouter.ai/api/v1",
        "OPENROUTER_API_KEY",
        "openai/gpt-4.1-mini",
        "anthropic/claude-sonnet-4.5",
        (0.40, 1.60),
        (3.00, 15.00),
    ),
    "openai": (
        "https://api.openai.com/v1",
        "OPENAI_API_KEY",
        "gpt-4.1-mini",
        "gpt-4.1",
        (0.40, 1.60),
        (2.00, 8.00),
    ),
}


def builtin_providers_models_routes(
    environ: Mapping[str, str],
) -> tuple[dict[str, ProviderConfig], dict[str, ModelConfig], dict[str, tuple[str, ...]]]:
    """Providers, models and routes for a machine with no config file.

    Hosted providers appear only when their key is set, in a fixed order, so the routes a user
    gets are predictable from the environment alone.
    """
    providers = {LOCAL: ProviderConfig(base_url="http://127.0.0.1:11434/v1")}
    models = {
        "local-fast": ModelConfig(
            provider=LOCAL,
            model="qwen2.5-coder:7b",
            context_window=32768,
            timeout_s=60.0,
            # A model on this machine costs nothing: it stays usable when a budget is spent.
            input_cost_per_mtok=0.0,
            output_cost_per_mtok=0.0,
        )
    }
    fast: list[str] = []
    strong: list[str] = []
    for name, (url, key_env, fast_id, strong_id, fast_price, strong_price) in HOSTED.items():
        if not environ.get(key_env):
            continue
        providers[name] = ProviderConfig(base_url=url, api_key_env=key_env)
        models[f"{name}-fast"] = ModelConfig(
            provider=name,
            model=fast_id,
            context_window=128000,
            input_cost_per_mtok=fast_price[0],
            output_cost_per_mtok=fast_price[1],
        )
        models[f"{name}-strong"] = ModelConfig(
            provider=name,
            model=strong_id,
            context_window=128000,
            max_output_tokens=4096,
            input_cost_per_mtok=strong_price[0],
            output_cost_per_mtok=strong_price[1],
            timeout_s=90.0,
        )
        fast.append(f"{name}-fast")
        strong.append(f"{name}-strong")
    routes = {
        "fix": (*fast, "local-fast", *strong),
        "explain": (*fast, "local-fast"),
        "review": (*strong, *fast, "local-fast"),
        "complete": (*fast, "local-fast"),
    }
    return providers, models, routes
