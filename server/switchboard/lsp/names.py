"""The names editors rely on (docs/DESIGN.md, The language server), in one place."""

from __future__ import annotations

from lsprotocol import types

SECTION = "switchboard"  # the settings section

REVIEW_COMMAND = "switchboard.review"
STATS_COMMAND = "switchboard.stats"
# What the background checks keep for a document (see features/checked.py).
CHECKED_COMMAND = "switchboard.checkedDiagnostics"
CLEAR_CACHE_COMMAND = "switchboard.clearCache"
# For clients without codeAction/resolve: computes an action's edit and applies it.
APPLY_COMMAND = "switchboard.applyAction"
# Sent by the client when the user takes a suggestion (each item's `command`): the stats count it.
ACCEPT_COMPLETION_COMMAND = "switchboard.acceptCompletion"

STATUS_METHOD = "switchboard/status"  # what the gateway is doing, for a status bar

CODE_ACTION_KINDS = [
    types.CodeActionKind.QuickFix,
    types.CodeActionKind.RefactorRewrite,
    types.CodeActionKind.Source,
]
