"""The blocking jobs the app controller runs on workers, and the factories it is built with.

The org sync pass and the key tester run on the TaskRunner; the proxy and tokenizer factories
build their objects only when first needed, so their modules load then.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from monitor.context import AppContext
from monitor.core.settings import Settings
from monitor.errors import KnownError
from monitor.gui.tasks import TaskRunner
from monitor.gui.window_state import TOKENIZER_MODEL_PREF, remember_combo

if TYPE_CHECKING:
    from monitor.core.records import ProxyRecord
    from monitor.services.key_meta import KeyMeta
    from monitor.services.org_sync import SyncProgress

NO_ADMIN_KEY = "no-admin-key"


class KeyTestFailed(KnownError):  # noqa: N818 - reads as a verdict
    """`Test` on a key did not come back valid; the text says why. `conclusive` is False for
    a network or server problem: that says nothing about the key (it is not marked)."""

    conclusive = True


class OrgSyncPass:
    """One org sync pass with the stored (or $OPENAI_ADMIN_KEY) admin key; blocking.

    `key_label` is the label of the key the latest pass used ("OPENAI_ADMIN_KEY" for the
    environment's key, None without a key), so an alert names the key that actually failed.
    `on_progress` receives the pass's SyncProgress (on the worker thread: emit a Qt signal
    from it).
    """

    def __init__(self, ctx: AppContext,
                 on_progress: Callable[[SyncProgress], None] | None = None) -> None:
        self.ctx = ctx
        self.on_progress = on_progress
        self.key_label: str | None = None

    def __call__(self) -> object:
        from monitor.services.admin_http import InvalidKeyError  # with the sync
        from monitor.services.openai_admin import AdminClient
        from monitor.services.org_sync import OrgSync

        ctx = self.ctx
        cred = ctx.keys().admin_credential(ctx.now().astimezone().date())
        if cred is None:
            self.key_label = None
        else:  # the environment's key has no label: name the variable, as alerts do
            self.key_label = cred.label if cred.label else "OPENAI_ADMIN_KEY"
        if cred is None:
            return NO_ADMIN_KEY
        settings = ctx.settings
        client = AdminClient(cred.secret, settings.openai_base_url, timeout_s=30.0)
        try:
            return OrgSync(ctx.store(), client, cycle_start_day=settings.cycle_start_day,
                           now=ctx.clock, on_progress=self.on_progress,
                           key_name=cred.describe()).sync_once()
        except InvalidKeyError:  # refused (401): marked, so sync moves to a usable key
            if cred.source == "stored" and cred.label:
                with contextlib.suppress(KnownError):
                    ctx.keys().mark_tested(cred.label, False, ctx.now())
            raise


def make_sync(ctx: AppContext) -> Callable[[], object]:
    return OrgSyncPass(ctx)


class ProgressRelay(QObject):
    """Carries SyncProgress from the sync's worker thread to the GUI thread (queued)."""

    progress = Signal(object)


def make_key_tester(ctx: AppContext) -> Callable[[KeyMeta, str], str]:
    def test(meta: KeyMeta, secret: str) -> str:
        from monitor.services.keyvault import CONCLUSIVE_OUTCOMES  # the data layer, on a worker
        from monitor.services.openai_admin import AdminClient, check_key

        result = check_key(AdminClient(secret, ctx.settings.openai_base_url, timeout_s=15.0),
                           meta.kind)
        if result.outcome != "valid":
            failed = KeyTestFailed(result.message)
            failed.conclusive = result.outcome in CONCLUSIVE_OUTCOMES
            raise failed
        return result.message

    return test


def make_proxy_factory(ctx: AppContext) -> Callable[[Callable[[ProxyRecord], None]], Any]:
    def factory(on_record: Callable[[ProxyRecord], None]) -> Any:
        from monitor.services.proxy.caps import gate_for  # the proxy's modules pull in aiohttp
        from monitor.services.proxy.exporters import build_exporters, export_options
        from monitor.services.proxy.server import MeteringProxy

        s = ctx.settings
        addons = build_exporters(export_options(s)[0], store_path=ctx.paths.db_file,
                                 prices=ctx.prices(), settings=lambda: ctx.settings,
                                 clock=ctx.clock)
        return MeteringProxy(upstream=s.openai_base_url, store_path=ctx.paths.db_file,
                             prices=ctx.prices(), port=s.proxy_port, on_record=on_record,
                             clock=ctx.clock, addons=addons, gate=gate_for(ctx))

    return factory


def proxy_config(s: Settings) -> tuple[object, ...]:
    """The settings a running embedded proxy must restart for."""
    return (s.proxy_port, s.metrics_enabled, s.metrics_port, s.otlp_endpoint)


def make_tokenizer_factory(ctx: AppContext, runner: TaskRunner) -> Callable[[QWidget], QWidget]:
    """Builds the tokenizer pane when its tab is first shown. Nothing loads an encoding
    before that (one costs ~80 MB resident, and most sessions never count a text): the pane
    loads it on a worker when it first counts."""

    def factory(parent: QWidget) -> QWidget:
        from monitor.gui.tokenizer.pane import TokenizerPane  # tiktoken (see the docstring)

        pane = TokenizerPane(ctx, runner, parent)
        remember_combo(pane.model_combo, ctx.paths.state_file, TOKENIZER_MODEL_PREF)
        return pane

    return factory
