"""The language server: state, capabilities, and the wiring of LSP methods to features.

Handlers here stay thin; the work is in `features/` (editor behaviour) and in the engine (the
one path to the models). Nothing in the LSP layer makes routing decisions.

An editor waits for `initialize` before it shows anything of the server, so the engine (the
gateway, its HTTP stack, the cache files) and the features are loaded just after it is
answered, when `initialized` arrives, not before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from .. import __version__
from ..config import Config
from ..config.secrets import secret_values
from ..config.workspace import apply_overlay, load_project_overlay
from ..logs import ScrubSecrets, setup_logging
from .documents import Document, DocumentStore, LineShift
from .names import (
    APPLY_COMMAND,
    CLEAR_CACHE_COMMAND,
    CODE_ACTION_KINDS,
    REVIEW_COMMAND,
    SECTION,
    STATS_COMMAND,
)
from .protocol import SwitchboardProtocol
from .settings import EditorSettings, parse_settings

if TYPE_CHECKING:
    from ..engine import Engine
    from ..gateway import Answer, Ask
    from .features.hover import HoverBudget
    from .features.review import ReviewFeature
    from .notify import Notifier

log = logging.getLogger(__name__)

T = TypeVar("T")


class SwitchboardServer(LanguageServer):
    def __init__(self, config: Config, *, environ: Mapping[str, str] | None = None) -> None:
        super().__init__(
            "switchboard",
            __version__,
            protocol_cls=SwitchboardProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.user_config = config  # the user's own file: the only trusted source of providers
        self.config = config  # with the workspace's and editor's overlays applied
        self.root: Path | None = None
        self.documents = DocumentStore()
        self.settings = EditorSettings()
        self._environ = environ
        self._engine: Engine | None = None
        self._project_overlay: Mapping[str, Any] = {}
        self._editor_overlay: Mapping[str, Any] = {}
        self._initial_settings: Any = None
        self._warned: set[str] = set()
        self._background: set[asyncio.Task[Any]] = set()
        self._settings_pulled: asyncio.Event | None = None
        self._pulls = 0  # a pull's answer is applied only if no later pull was started
        self._engine_failed: str | None = None

    # -- parts loaded after `initialize` (see the module's docstring) --------------------------

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            if self._engine_failed is not None:
                raise RuntimeError(self._engine_failed)
            from ..engine import Engine

            try:
                self._engine = Engine.create(self.config, environ=self._environ, root=self.root)
            except Exception as exc:
                # Said once; later requests fail at once instead of building it again.
                secrets = secret_values(self.user_config, self._environ or os.environ)
                what = ScrubSecrets(secrets).scrub(f"{type(exc).__name__}: {exc}")
                self._engine_failed = (
                    f"Switchboard cannot start its gateway ({what}); "
                    "check the configuration and restart the server."
                )
                log.exception("building the gateway failed")
                self.warn_once(self._engine_failed)
                raise RuntimeError(self._engine_failed) from None
        return self._engine

    @cached_property
    def notifier(self) -> Notifier:
        from .notify import Notifier

        return Notifier(self)

    @cached_property
    def review(self) -> ReviewFeature:
        from .features.review import ReviewFeature

        return ReviewFeature(self)

    @cached_property
    def hover_budget(self) -> HoverBudget:
        from .features.hover import HoverBudget

        return HoverBudget()

    def warm_up(self) -> None:
        """Load the engine and the features now, so the first request does not pay for it."""
        from .features import code_actions, hover, review  # noqa: F401

        _ = self.notifier, self.review, self.hover_budget
        with contextlib.suppress(RuntimeError):  # a broken gateway has been reported
            self.engine.gateway.warm()  # the team's Redis connects in the background

    # -- what the client can do -------------------------------------------------------------

    @property
    def encoding(self) -> str:
        return self.documents.encoding

    @property
    def client_resolves_edits(self) -> bool:
        caps = self.client_capabilities.text_document
        support = caps.code_action.resolve_support if caps and caps.code_action else None
        return bool(support and "edit" in support.properties)

    @property
    def client_document_changes(self) -> bool:
        workspace = self.client_capabilities.workspace
        edit = workspace.workspace_edit if workspace else None
        return bool(edit and edit.document_changes)

    @property
    def client_supports_progress(self) -> bool:
        window = self.client_capabilities.window
        return bool(window and window.work_done_progress)

    @property
    def client_pulls_configuration(self) -> bool:
        workspace = self.client_capabilities.workspace
        return bool(workspace and workspace.configuration)

    # -- messages (the notifier's messenger) --------------------------------------------------

    def show(self, kind: types.MessageType, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def notify(self, method: str, params: Any) -> None:
        self.protocol.notify(method, params)

    def warn_once(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            log.warning("%s", message)
            self.show(types.MessageType.Warning, message)

    def first_model(self, route: str) -> str | None:
        chain = self.config.route(route)
        return chain[0] if chain else None

    async def ask(self, ask: Ask[T], *, quiet: bool = False) -> Answer[T]:
        """The engine's answer, with the editor kept informed: the status while it works (and
        back to idle if the request is cancelled), one message per outage; `quiet` keeps
        failures that are no outage out of the user's way. Raises NoAnswer, already reported."""
        from ..gateway import NoAnswer

        notifier = self.notifier
        notifier.working(ask.task, self.first_model(ask.route))
        settled = False
        try:
            answer = await self.engine.ask(ask)
            notifier.answered(ask.task, answer)
            settled = True
            return answer
        except NoAnswer as failure:
            notifier.failed(ask.task, failure, quiet=quiet)
            settled = True
            raise
        finally:
            notifier.done(settled=settled)

    # -- configuration --------------------------------------------------------------------------

    def set_root(self, root: Path | None) -> None:
        self.root = root
        if self._engine is not None:
            self._engine.root = root
        if root is not None:
            overlay, error = load_project_overlay(root)
            if error:
                self.warn_once(error)
            self._project_overlay = overlay
        self._reconfigure()

    def apply_settings(self, raw: Any, *, initial: bool = False) -> None:
        """Settings are layered: defaults, then initializationOptions, then what the client
        sends later (`workspace/configuration`, `didChangeConfiguration`), key by key."""
        if initial:
            self._initial_settings = raw
        else:
            raw = deep_merge(self._initial_settings, raw)
        settings, overlay, warnings = parse_settings(raw)
        self.settings = settings
        self._editor_overlay = overlay
        for warning in warnings:
            self.warn_once(f"Switchboard: {warning}")
        logging.getLogger("switchboard").setLevel(_LEVELS.get(settings.log_level, logging.INFO))
        self._reconfigure()

    def _reconfigure(self) -> None:
        config, warnings = apply_overlay(
            self.user_config, self._project_overlay, ".switchboard.toml"
        )
        config, more = apply_overlay(config, self._editor_overlay, "editor settings")
        for warning in (*warnings, *more):
            self.warn_once(f"Switchboard: {warning}")
        self.config = config
        if self._engine is not None:
            self._engine.reconfigure(config)

    async def settled(self) -> None:
        """Wait (briefly) for the first settings pull: clients may send requests before the
        answer to `workspace/configuration` arrives, and a hover must not reach a model that
        the user's settings would have kept it from."""
        event = self._settings_pulled
        if event is not None and not event.is_set():
            await event.wait()  # set within _SETTINGS_WAIT_S: the pull gives up by then

    def start_pulling_settings(self) -> None:
        self._settings_pulled = asyncio.Event()
        self.spawn(self.pull_settings())

    async def pull_settings(self) -> None:
        try:
            await self._pull_settings()
        finally:
            if self._settings_pulled is not None:
                self._settings_pulled.set()

    async def _pull_settings(self) -> None:
        if not self.client_pulls_configuration:
            return
        self._pulls += 1
        pull = self._pulls
        try:
            pulled = asyncio.ensure_future(
                self.workspace_configuration_async(
                    types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
                )
            )
        except Exception as exc:  # the connection is going away
            log.info("could not ask for editor settings: %s", exc)
            return
        # Not cancelled on timeout (pygls #621): a late answer is still applied when it comes,
        # unless a newer pull has been started since.
        done, _ = await asyncio.wait({pulled}, timeout=_SETTINGS_WAIT_S)
        if not done:
            log.info("The editor has not sent its settings yet; going on without them.")
            pulled.add_done_callback(lambda late: self._apply_pulled(late, pull))
            return
        self._apply_pulled(pulled, pull)

    def _apply_pulled(self, pulled: asyncio.Future[Any], pull: int) -> None:
        if pulled.cancelled() or pull != self._pulls:
            return
        if pulled.exception() is not None:  # a client that cannot answer keeps the settings
            log.info("could not read editor settings: %s", pulled.exception())
            return
        result = pulled.result()
        if result:
            self.apply_settings(result[0])

    # -- document hooks (called by the protocol) ----------------------------------------------

    def document_changed(self, document: Document, shifts: list[LineShift]) -> None:
        if "review" in self.__dict__:  # no review yet, no findings to move
            self.review.document_changed(document, shifts)

    def document_closed(self, uri: str) -> None:
        if "review" in self.__dict__:
            self.review.document_closed(uri)

    def spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        if self._engine is not None:
            await self._engine.aclose()


_SETTINGS_WAIT_S = 2.0
_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def build_server(config: Config, *, environ: Mapping[str, str] | None = None) -> SwitchboardServer:
    server = SwitchboardServer(config, environ=environ)

    @server.feature(types.INITIALIZE)
    def initialize(ls: SwitchboardServer, params: types.InitializeParams) -> None:
        ls.set_root(_root_of(params))
        if params.initialization_options is not None:
            options = params.initialization_options
            if isinstance(options, dict) and SECTION in options:
                options = options[SECTION]
            ls.apply_settings(options, initial=True)

    @server.feature(types.INITIALIZED)
    def initialized(ls: SwitchboardServer, params: types.InitializedParams) -> None:
        ls.start_pulling_settings()
        ls.warm_up()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(
        ls: SwitchboardServer, params: types.DidChangeConfigurationParams
    ) -> None:
        settings = params.settings
        if isinstance(settings, dict) and isinstance(settings.get(SECTION), dict):
            ls.apply_settings(settings[SECTION])
        else:
            ls.spawn(ls.pull_settings())

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=CODE_ACTION_KINDS, resolve_provider=True),
    )
    def code_action(ls: SwitchboardServer, params: types.CodeActionParams):
        from .features import code_actions

        return code_actions.list_actions(ls, params)

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def code_action_resolve(ls: SwitchboardServer, action: types.CodeAction):
        from .features import code_actions

        await ls.settled()
        return await code_actions.resolve_action(ls, action)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def on_hover(ls: SwitchboardServer, params: types.HoverParams):
        from .features import hover

        await ls.settled()
        return await hover.hover(ls, params)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: SwitchboardServer, params: types.DidSaveTextDocumentParams) -> None:
        if ls.settings.review.on_save and ls.documents.get(params.text_document.uri):
            ls.spawn(ls.review.run(params.text_document.uri))

    @server.command(REVIEW_COMMAND)
    async def review(ls: SwitchboardServer, uri: Any = None, *_: Any) -> dict[str, Any]:
        await ls.settled()
        return await ls.review.run(uri)

    @server.command(APPLY_COMMAND)
    async def apply_action(ls: SwitchboardServer, data: Any = None, *_: Any) -> bool:
        from .features import code_actions

        await ls.settled()
        return await code_actions.apply_action(ls, data)

    @server.command(STATS_COMMAND)
    def stats(ls: SwitchboardServer, *_: Any) -> dict[str, Any]:
        # The live task count lets a test (or a curious user) see that nothing leaks.
        return {**ls.engine.stats(), "runtime": {"tasks": len(asyncio.all_tasks())}}

    @server.command(CLEAR_CACHE_COMMAND)
    def clear_cache(ls: SwitchboardServer, *_: Any) -> dict[str, Any]:
        ls.engine.clear_cache()
        return {"cleared": True}

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: SwitchboardServer, *_: Any) -> None:
        await ls.close()

    return server


def deep_merge(base: Any, update: Any) -> Any:
    if isinstance(base, Mapping) and isinstance(update, Mapping):
        merged = dict(base)
        for key, value in update.items():
            merged[key] = deep_merge(base.get(key), value)
        return merged
    return base if update is None else update


def _root_of(params: types.InitializeParams) -> Path | None:
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


class LspLogHandler(logging.Handler):
    """Switchboard's own log records, also shown in the editor's log (`window/logMessage`)."""

    _TYPES: ClassVar[dict[int, types.MessageType]] = {
        logging.ERROR: types.MessageType.Error,
        logging.WARNING: types.MessageType.Warning,
        logging.INFO: types.MessageType.Info,
    }

    def __init__(self, server: SwitchboardServer) -> None:
        super().__init__(logging.INFO)
        self.server = server

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith("switchboard") or self.server.protocol.writer is None:
            return
        try:
            kind = next(
                (value for level, value in self._TYPES.items() if record.levelno >= level),
                types.MessageType.Log,
            )
            self.server.window_log_message(
                types.LogMessageParams(type=kind, message=self.format(record))
            )
            record.shown_in_editor = True  # stderr need not repeat it (see ShownInEditor)
        except Exception:  # logging must never take the server down
            pass


class ShownInEditor(logging.Filter):
    """Keeps stderr from repeating what the editor's log already shows: clients such as VS
    Code put a server's stderr in the same output channel as `window/logMessage`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "shown_in_editor", False)


def serve(config: Config, *, tcp: str | None = None) -> int:
    """Run the language server until the client exits it."""
    server = build_server(config)
    handler = LspLogHandler(server)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(ScrubSecrets(secret_values(config, os.environ)))
    logging.getLogger("switchboard").addHandler(handler)
    for existing in logging.getLogger().handlers:  # the stderr handler from setup_logging
        existing.addFilter(ShownInEditor())
    if tcp:
        host, _, port = tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io()
    return 0


__all__ = ["SwitchboardServer", "build_server", "serve", "setup_logging"]
