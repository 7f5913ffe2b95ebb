"""The language server: its state, the context features work in, and the server's own
lifecycle (initialize, settings, shutdown).

Handlers stay thin; the work is in `features/` (editor behaviour, wired in `wiring.py`) and in
the engine (the one path to the models). Nothing in the LSP layer makes routing decisions.

An editor waits for `initialize` before it shows anything of the server, so the engine (the
gateway, its HTTP stack, the cache files) and the features are loaded just after it is
answered, when `initialized` arrives, not before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Coroutine, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from .. import __version__
from ..config import Config
from ..config.secrets import secret_values
from ..logs import ScrubSecrets, setup_logging
from .configuration import ConfigLayers, root_of
from .context import ClientSupport, Feature
from .documents import Document, DocumentStore, LineShift
from .names import SECTION
from .protocol import SwitchboardProtocol
from .settings import EditorSettings
from .wiring import FEATURES, feature_class, wire

if TYPE_CHECKING:
    from ..engine import Engine
    from ..gateway import Answer, Ask
    from .notify import Notifier

log = logging.getLogger(__name__)

T = TypeVar("T")
F = TypeVar("F", bound=Feature)


class SwitchboardServer(LanguageServer):
    """pygls' server with Switchboard's state; features see it as a `FeatureContext`."""

    def __init__(self, config: Config, *, environ: Mapping[str, str] | None = None) -> None:
        super().__init__(
            "switchboard",
            __version__,
            protocol_cls=SwitchboardProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self._warned: set[str] = set()
        self.layers = ConfigLayers(config, warn=self.warn_once, on_change=self._config_changed)
        self.root: Path | None = None
        self.client_name = ""  # clientInfo.name from initialize
        self.documents = DocumentStore()
        self._environ = environ
        self._engine: Engine | None = None
        self._features: dict[type[Feature], Feature] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._engine_failed: str | None = None

    @property
    def config(self) -> Config:
        return self.layers.config

    @property
    def settings(self) -> EditorSettings:
        return self.layers.settings

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
                secrets = secret_values(self.layers.user, self._environ or os.environ)
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

    def get_feature(self, kind: type[F]) -> F:
        found = self._features.get(kind)
        if found is None:
            found = self._features[kind] = kind(self)
        return found  # type: ignore[return-value]

    def warm_up(self) -> None:
        """Load the engine and the features now, so the first request does not pay for it."""
        _ = self.notifier
        for name in FEATURES:
            self.get_feature(feature_class(name))
        with contextlib.suppress(RuntimeError):  # a broken gateway has been reported
            self.engine.gateway.warm()  # the team's Redis connects in the background

    # -- what the client can do -------------------------------------------------------------

    @property
    def encoding(self) -> str:
        return self.documents.encoding

    @property
    def supports(self) -> ClientSupport:
        return ClientSupport.of(self.client_capabilities, self.client_name)

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
            notifier.answered(ask.task, answer, self._spend())
            settled = True
            return answer
        except NoAnswer as failure:
            notifier.failed(ask.task, failure, quiet=quiet)
            settled = True
            raise
        finally:
            notifier.done(settled=settled)

    # -- configuration (the layers are in configuration.py) ---------------------------------------

    def set_root(self, root: Path | None) -> None:
        self.root = root
        if self._engine is not None:
            self._engine.root = root
        self.layers.set_root(root)

    def _config_changed(self, config: Config) -> None:
        if self._engine is not None:
            self._engine.reconfigure(config)

    async def settled(self) -> None:
        await self.layers.settled()

    def start_pulling_settings(self) -> None:
        self.layers.expect_first_pull()
        self.spawn(self.pull_settings())

    async def pull_settings(self) -> None:
        fetch = self._fetch_settings if self.supports.configuration else None
        await self.layers.pull(fetch)

    async def _fetch_settings(self) -> Any:
        return await self.workspace_configuration_async(
            types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
        )

    # -- document hooks (called by the protocol) ----------------------------------------------

    def document_opened(self, document: Document) -> None:
        for feature in list(self._features.values()):
            feature.document_opened(document)

    def document_saved(self, uri: str) -> None:
        for feature in list(self._features.values()):
            feature.document_saved(uri)

    def document_changed(self, document: Document, shifts: list[LineShift]) -> None:
        for feature in list(self._features.values()):  # a feature not built yet has nothing
            feature.document_changed(document, shifts)

    def document_closed(self, uri: str) -> None:
        for feature in list(self._features.values()):
            feature.document_closed(uri)

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _spend(self) -> dict[str, float] | None:
        """Today's and this month's spend, for the editor's status (None if it cannot be read:
        a figure is never a reason for an answer not to arrive)."""
        try:
            spend = self.engine.gateway.spend()
        except Exception:
            log.debug("could not read the spend", exc_info=True)
            return None
        return {"today_usd": round(spend.today_total, 6), "month_usd": round(spend.month_total, 6)}

    async def close(self) -> None:
        for feature in list(self._features.values()):
            feature.close()
        for task in list(self._background):
            task.cancel()
        if self._engine is not None:
            await self._engine.aclose()


def build_server(config: Config, *, environ: Mapping[str, str] | None = None) -> SwitchboardServer:
    server = SwitchboardServer(config, environ=environ)

    @server.feature(types.INITIALIZE)
    def initialize(ls: SwitchboardServer, params: types.InitializeParams) -> None:
        ls.set_root(root_of(params))
        ls.client_name = params.client_info.name if params.client_info else ""
        if params.initialization_options is not None:
            options = params.initialization_options
            if isinstance(options, dict) and SECTION in options:
                options = options[SECTION]
            ls.layers.apply_settings(options, initial=True)

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
            ls.layers.apply_settings(settings[SECTION])
        else:
            ls.spawn(ls.pull_settings())

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: SwitchboardServer, *_: Any) -> None:
        await ls.close()

    wire(server)
    return server


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


def _stop_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM (an editor stopping its server) ends the process at once, as it always did, but
    first removes the temporary files that running checks have beside the user's files."""
    runner = sys.modules.get("switchboard.checks.runner")  # imported once a check ran
    if runner is not None:
        runner.remove_staged()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def serve(config: Config, *, tcp: str | None = None) -> int:
    """Run the language server until the client exits it."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
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
