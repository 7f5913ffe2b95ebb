"""The gateway's figures and cache as commands: `switchboard.stats`, `switchboard.clearCache`."""

from __future__ import annotations

import asyncio
from typing import Any

from ..context import Feature


class Housekeeping(Feature):
    def stats(self, *_: Any) -> dict[str, Any]:
        """The stats report (as `switchboard stats --json` prints it), plus the live task count,
        which lets a test (or a curious user) see that nothing leaks."""
        return {
            **self.context.engine.stats().to_json(),
            "runtime": {"tasks": len(asyncio.all_tasks())},
        }

    def clear_cache(self, *_: Any) -> dict[str, Any]:
        self.context.engine.clear_cache()
        return {"cleared": True}
