"""The configuration a language server works with: the user's config with the project's and
the editor's overlays on top, and the editor settings that came with them.

Three layers, applied in this order under the workspace trust rule (config/workspace.py): the
user's own file (the only trusted source of providers and keys), the project's
`.switchboard.toml`, then the editor's settings. Editor settings are layered themselves:
defaults, initializationOptions, then what the client sends later, key by key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import to_fs_path

from ..config import Config
from ..config.workspace import apply_overlay, load_project_overlay
from .settings import EditorSettings, parse_settings

log = logging.getLogger(__name__)

# Asks the editor for the `switchboard` settings section (`workspace/configuration`).
FetchSettings = Callable[[], Awaitable[Sequence[Any]]]

SETTINGS_WAIT_S = 2.0
_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


class ConfigLayers:
    """The layered configuration; `on_change` hears of every new merged config."""

    def __init__(
        self,
        user: Config,
        *,
        warn: Callable[[str], None],
        on_change: Callable[[Config], None],
    ) -> None:
        self.user = user
        self.config = user  # with the project's and the editor's overlays applied
        self.settings = EditorSettings()
        self._warn = warn
        self._on_change = on_change
        self._project: Mapping[str, Any] = {}
        self._editor: Mapping[str, Any] = {}
        self._initial_settings: Any = None
        self._first_pull: asyncio.Event | None = None
        self._pulls = 0  # a pull's answer is applied only if no later pull was started

    def set_root(self, root: Path | None) -> None:
        """Read the project's overlay from `root` (a workspace without one keeps none)."""
        if root is not None:
            overlay, error = load_project_overlay(root)
            if error:
                self._warn(error)
            self._project = overlay
        self._reconfigure()

    def apply_settings(self, raw: Any, *, initial: bool = False) -> None:
        """Take the editor's settings: `initial` ones (initializationOptions) are the base that
        later ones are merged into."""
        if initial:
            self._initial_settings = raw
        else:
            raw = deep_merge(self._initial_settings, raw)
        settings, overlay, warnings = parse_settings(raw)
        self.settings = settings
        self._editor = overlay
        for warning in warnings:
            self._warn(f"Switchboard: {warning}")
        logging.getLogger("switchboard").setLevel(_LEVELS.get(settings.log_level, logging.INFO))
        self._reconfigure()

    def _reconfigure(self) -> None:
        config, warnings = apply_overlay(self.user, self._project, ".switchboard.toml")
        config, more = apply_overlay(config, self._editor, "editor settings")
        for warning in (*warnings, *more):
            self._warn(f"Switchboard: {warning}")
        self.config = config
        self._on_change(config)

    # -- settings pulled from the editor (`workspace/configuration`) -----------------------------

    def expect_first_pull(self) -> None:
        """From now on, `settled()` waits for the first pull to end."""
        self._first_pull = asyncio.Event()

    async def settled(self) -> None:
        """Wait (briefly) for the first settings pull: clients may send requests before the
        answer to `workspace/configuration` arrives, and a hover must not reach a model that
        the user's settings would have kept it from."""
        event = self._first_pull
        if event is not None and not event.is_set():
            await event.wait()  # set within SETTINGS_WAIT_S: the pull gives up by then

    async def pull(self, fetch: FetchSettings | None) -> None:
        """Ask the editor for its settings (`fetch` is None when it cannot be asked)."""
        try:
            if fetch is not None:
                await self._pull(fetch)
        finally:
            if self._first_pull is not None:
                self._first_pull.set()

    async def _pull(self, fetch: FetchSettings) -> None:
        self._pulls += 1
        pull = self._pulls
        try:
            pulled = asyncio.ensure_future(fetch())
        except Exception as exc:  # the connection is going away
            log.info("could not ask for editor settings: %s", exc)
            return
        # Not cancelled on timeout (pygls #621): a late answer is still applied when it comes,
        # unless a newer pull has been started since.
        done, _ = await asyncio.wait({pulled}, timeout=SETTINGS_WAIT_S)
        if not done:
            log.info("The editor has not sent its settings yet; going on without them.")
            pulled.add_done_callback(lambda late: self._apply_pulled(late, pull))
            return
        self._apply_pulled(pulled, pull)

    def _apply_pulled(self, pulled: asyncio.Future[Sequence[Any]], pull: int) -> None:
        if pulled.cancelled() or pull != self._pulls:
            return
        if pulled.exception() is not None:  # a client that cannot answer keeps the settings
            log.info("could not read editor settings: %s", pulled.exception())
            return
        result = pulled.result()
        if result:
            self.apply_settings(result[0])


def deep_merge(base: Any, update: Any) -> Any:
    """`update` over `base`, mappings key by key; a None in `update` keeps what `base` had."""
    if isinstance(base, Mapping) and isinstance(update, Mapping):
        merged = dict(base)
        for key, value in update.items():
            merged[key] = deep_merge(base.get(key), value)
        return merged
    return base if update is None else update


def root_of(params: types.InitializeParams) -> Path | None:
    """The workspace's root folder: the first workspace folder, else the root URI or path."""
    uri = None
    if params.workspace_folders:
        uri = params.workspace_folders[0].uri
    elif params.root_uri:
        uri = params.root_uri
    if uri is not None:
        path = to_fs_path(uri)
        return Path(path) if path else None
    if params.root_path:
        return Path(params.root_path)
    return None
