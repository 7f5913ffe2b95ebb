"""Which feature answers which LSP method or command: the one place that names the features.

A feature is a class in `features/` built from a `FeatureContext`; adding one is its module
plus its rows below. Features are imported when first needed (after `initialize`, see
server.py), so the table names them by module and class rather than importing them.

Handlers stay thin: an async one first waits for the editor's settings (they may keep a
request from reaching a model), then calls the feature; a sync one calls it at once, in
message order.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from .names import (
    ACCEPT_COMPLETION_COMMAND,
    APPLY_COMMAND,
    CHECKED_COMMAND,
    CLEAR_CACHE_COMMAND,
    CODE_ACTION_KINDS,
    REVIEW_COMMAND,
    STATS_COMMAND,
)

if TYPE_CHECKING:
    from .context import Feature
    from .server import SwitchboardServer


@dataclass(frozen=True)
class Handler:
    """`method` (an LSP method, or a command's name) is answered by `call` of `feature`."""

    method: str
    feature: str  # "module:Class" in switchboard.lsp.features
    call: str
    is_async: bool
    command: bool = False
    options: Any = None  # the method's registration options (what capabilities announce)


CODE_ACTIONS = "code_actions:CodeActions"
HOVER = "hover:Hover"
REVIEW = "review:ReviewFeature"
HOUSEKEEPING = "housekeeping:Housekeeping"
CHECKED = "checked:CheckedDiagnostics"
COMPLETION = "completion:Completion"

HANDLERS = (
    Handler(
        types.TEXT_DOCUMENT_CODE_ACTION,
        CODE_ACTIONS,
        "list_actions",
        is_async=False,  # listing never calls a model: answered at once
        options=types.CodeActionOptions(code_action_kinds=CODE_ACTION_KINDS, resolve_provider=True),
    ),
    Handler(types.CODE_ACTION_RESOLVE, CODE_ACTIONS, "resolve_action", is_async=True),
    Handler(APPLY_COMMAND, CODE_ACTIONS, "apply_action", is_async=True, command=True),
    Handler(types.TEXT_DOCUMENT_HOVER, HOVER, "hover", is_async=True),
    Handler(REVIEW_COMMAND, REVIEW, "run", is_async=True, command=True),
    # Both advertised only to the clients that should use them (protocol.py).
    Handler(
        types.TEXT_DOCUMENT_INLINE_COMPLETION,
        COMPLETION,
        "inline",
        is_async=True,
        options=types.InlineCompletionOptions(),
    ),
    Handler(
        types.TEXT_DOCUMENT_COMPLETION,
        COMPLETION,
        "items",
        is_async=True,
        options=types.CompletionOptions(),
    ),
    Handler(ACCEPT_COMPLETION_COMMAND, COMPLETION, "accept", is_async=False, command=True),
    Handler(
        types.TEXT_DOCUMENT_DID_SAVE,
        REVIEW,
        "did_save",
        is_async=False,
        options=types.SaveOptions(include_text=False),
    ),
    Handler(STATS_COMMAND, HOUSEKEEPING, "stats", is_async=False, command=True),
    Handler(CHECKED_COMMAND, CHECKED, "report", is_async=False, command=True),
    Handler(CLEAR_CACHE_COMMAND, HOUSEKEEPING, "clear_cache", is_async=False, command=True),
)

# Every feature, in the order `warm_up` builds them.
FEATURES = tuple(dict.fromkeys(handler.feature for handler in HANDLERS))


@functools.cache
def feature_class(name: str) -> type[Feature]:
    """The class a "module:Class" name stands for (importing its module)."""
    module, _, cls = name.partition(":")
    return getattr(importlib.import_module(f"{__package__}.features.{module}"), cls)


def wire(server: SwitchboardServer) -> None:
    """Register every handler of the table with `server`."""
    for handler in HANDLERS:
        register = (
            server.command(handler.method)
            if handler.command
            else server.feature(handler.method, handler.options)
        )
        register(_bind(handler))


def _bind(handler: Handler) -> Callable[..., Any]:
    # pygls passes the server as the first argument when it is named `ls`.
    def call(ls: SwitchboardServer) -> Callable[..., Any]:
        return getattr(ls.get_feature(feature_class(handler.feature)), handler.call)

    if handler.is_async:

        async def answer_async(ls: SwitchboardServer, *args: Any) -> Any:
            await ls.settled()
            return await call(ls)(*args)

        return answer_async

    def answer(ls: SwitchboardServer, *args: Any) -> Any:
        return call(ls)(*args)

    return answer
