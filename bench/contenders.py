"""The clients compared: a direct httpx call, Switchboard's gateway, LiteLLM's Router.

Each sends the same messages to the same loopback provider and returns the answer's text.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from switchboard.config import Config, config_from_mapping
from switchboard.gateway import Ask, Gateway, Message, Prompt

# A hover-sized question: a system prompt and a few lines of code, as the editor sends them.
SYSTEM = "You explain code to a programmer who is hovering over it in their editor."
USER = (
    "File: example.py (python), lines 1 onwards:\n```python\ndef total(items):\n"
    "    return sum(item.price * item.quantity for item in items)\n```\n\nExplain `total`."
)
MESSAGES = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]
PROMPT = Prompt((Message("system", SYSTEM), Message("user", USER)))
MAX_TOKENS = 1024


def _text(answer: str) -> str:
    return answer


class Direct:
    """The baseline: one pooled httpx client, one POST, read the JSON, take the content."""

    name = "direct"

    def __init__(self, base_url: str) -> None:
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._http = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64)
        )

    async def complete(self, model: str) -> str:
        response = await self._http.post(
            self._url, json={"model": model, "messages": MESSAGES, "max_tokens": MAX_TOKENS}
        )
        response.raise_for_status()
        return response.json()["choices"][0]["message"]["content"]

    async def aclose(self) -> None:
        await self._http.aclose()


def switchboard_config(
    providers: Mapping[str, str],
    models: Mapping[str, Mapping[str, Any]],
    routes: Mapping[str, list[str]],
    state_dir: Path,
    **sections: Mapping[str, Any],
) -> Config:
    """A config as a TOML file would give it: providers name -> base_url, models alias ->
    settings (each model id is its alias), routes; the cache off unless a section says so."""
    raw: dict[str, Any] = {
        "providers": {name: {"base_url": url} for name, url in providers.items()},
        "models": {alias: {"model": alias, **settings} for alias, settings in models.items()},
        "routes": {name: list(chain) for name, chain in routes.items()},
        "cache": {"enabled": False, "path": str(state_dir / "cache.sqlite")},
        "usage": {"path": str(state_dir / "usage.sqlite")},
    }
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values}
    return config_from_mapping(raw, environ={}, source="bench")


class SwitchboardGateway:
    """`Gateway.ask` with the cache off: the router, provider client, usage accounting."""

    name = "switchboard"

    def __init__(self, config: Config, *, task: str = "fix") -> None:
        self.gateway = Gateway.create(config, environ={})
        self._task = task

    @classmethod
    def simple(cls, base_url: str, models: list[str], state_dir: Path) -> SwitchboardGateway:
        """One provider; each model is its own single-model route of the same name."""
        config = switchboard_config(
            {"fake": base_url},
            {m: {"provider": "fake"} for m in models},
            {m: [m] for m in models},
            state_dir,
        )
        return cls(config)

    async def complete(self, model: str) -> str:
        """`model` names the route to take."""
        answer = await self.gateway.ask(
            Ask(task=self._task, route=model, prompt=PROMPT, parse=_text, use_cache=False)
        )
        return answer.value

    async def aclose(self) -> None:
        await self.gateway.aclose()


def import_litellm() -> Any:
    """LiteLLM, set up to stay on this machine: the bundled model cost map instead of a
    download, no telemetry, no "give feedback" banners."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_LOG", "ERROR")
    import litellm  # a bench-only dependency (uv group `bench`)

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return litellm


def litellm_available() -> bool:
    try:
        import importlib.util

        return importlib.util.find_spec("litellm") is not None
    except (ImportError, ValueError):
        return False


def litellm_deployment(
    name: str, base_url: str, *, model_id: str | None = None, **params: Any
) -> dict[str, Any]:
    """One `model_list` entry: an OpenAI-compatible deployment at `base_url`."""
    return {
        "model_name": name,
        "litellm_params": {
            "model": f"openai/{model_id or name}",
            "api_base": base_url,
            "api_key": "sk-bench",  # the fake checks no key; LiteLLM wants one for openai/
            **params,
        },
    }


class LiteLLMRouter:
    """`litellm.Router.acompletion` over the same deployments."""

    name = "litellm"

    def __init__(self, model_list: list[dict[str, Any]], **router_kwargs: Any) -> None:
        litellm = import_litellm()
        router_kwargs.setdefault("num_retries", 0)  # a retry is Switchboard's re-route
        self.router = litellm.Router(model_list=model_list, **router_kwargs)

    @classmethod
    def simple(cls, base_url: str, models: list[str]) -> LiteLLMRouter:
        return cls([litellm_deployment(m, base_url) for m in models])

    async def complete(self, model: str) -> str:
        response = await self.router.acompletion(
            model=model, messages=MESSAGES, max_tokens=MAX_TOKENS
        )
        return response.choices[0].message.content

    async def aclose(self) -> None:
        # The Router owns cached clients; nothing else to close between runs.
        return None


def state_dir(prefix: str = "switchboard-bench-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
