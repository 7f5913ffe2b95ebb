"""5. Cost growth: the prompt tokens Switchboard sends for a one-line fix (a bounded window
around the line: flat whatever the file's size) and for a whole-file review (grows with the
file, up to what the review model's context window takes), counted from the requests the
fake provider recorded."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

from bench.contenders import switchboard_config
from bench.upstream import FakeUpstream, reply
from switchboard.engine import Engine
from switchboard.gateway import NoAnswer
from switchboard.tasks import Source

SIZES = (100, 1_000, 10_000, 20_000)
FAST_WINDOW = 32_768
STRONG_WINDOW = 128_000


def python_file(lines: int) -> str:
    """A plausible Python module of exactly `lines` lines: small functions, one after another."""
    out: list[str] = []
    i = 0
    while len(out) < lines:
        out += [
            f"def scale_{i}(items, factor={i % 7 + 2}):",
            '    """Scale every item by the factor and add them up."""',
            "    total = 0",
            "    for item in items:",
            "        total += item * factor",
            "    return total",
            "",
        ]
        i += 1
    return "\n".join(out[:lines]) + "\n"


def tokens(request: dict[str, Any]) -> int:
    """Prompt tokens as the fake provider reports them in `usage` (4 characters a token)."""
    messages = (request.get("json") or {}).get("messages") or []
    text = "\n".join(m["content"] for m in messages if isinstance(m.get("content"), str))
    return math.ceil(len(text) / 4)


async def run(upstream: FakeUpstream, state: Path, *, sizes: tuple[int, ...] = SIZES) -> dict:
    upstream.reset()
    config = switchboard_config(
        {"fake": upstream.base_url},
        {
            "fast": {"provider": "fake", "context_window": FAST_WINDOW},
            "strong": {"provider": "fake", "context_window": STRONG_WINDOW, "json_mode": True},
        },
        {"fix": ["fast"], "explain": ["fast"], "review": ["strong"]},
        state,
    )
    engine = Engine.create(config, environ={})
    rows = []
    try:
        for size in sizes:
            source = Source(python_file(size), path=str(state / f"module_{size}.py"))
            line = size // 2 - (size // 2) % 7 + 4  # a `total += item * factor` line
            assert source.line_text(line) == "        total += item * factor"
            upstream.reset()
            upstream.default("fast", reply("```python\n        total += item * factor * 1\n```"))
            upstream.default("strong", reply('{"findings": []}'))
            await engine.fix(source, line, line, "possible missing scale")
            fix = [r for r in upstream.requests() if r["model"] == "fast"]
            upstream.reset()
            upstream.default("strong", reply('{"findings": []}'))
            refused = None
            try:
                await engine.review(source)
            except NoAnswer as exc:
                refused = str(exc)
            review = [r for r in upstream.requests() if r["model"] == "strong"]
            rows.append(
                {
                    "lines": size,
                    "file_bytes": len(source.text.encode()),
                    "fix_requests": len(fix),
                    "fix_prompt_tokens": sum(tokens(r) for r in fix),
                    "review_requests": len(review),
                    "review_prompt_tokens": sum(tokens(r) for r in review),
                    "review_refused": refused,
                }
            )
    finally:
        await engine.aclose()
    return {
        "windows": {"fix (fast)": FAST_WINDOW, "review (strong)": STRONG_WINDOW},
        "token_rule": "ceil(characters of the messages / 4), as the fake reports usage",
        "rows": rows,
    }


if __name__ == "__main__":  # a quick look: python -m bench.cost
    import json
    import tempfile

    async def _main() -> None:
        with FakeUpstream() as upstream:
            print(json.dumps(await run(upstream, Path(tempfile.mkdtemp())), indent=1))

    asyncio.run(_main())
