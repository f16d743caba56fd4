"""The running app follows settings.json: `budget --limit` or an editor's save reaches the tray,
the dashboard, the alerts and the embedded proxy within 5 s; the Settings dialog opens on the
file as it is and its Save never reverts a value changed elsewhere meanwhile."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from PySide6.QtCore import QFileSystemWatcher, QTimer
from PySide6.QtWidgets import QApplication, QLineEdit
from pytestqt.qtbot import QtBot

from monitor.cli import main
from monitor.context import AppContext
from monitor.gui import i18n
from monitor.gui.app import AppController
from monitor.gui.settings_dialog import SettingsDialog
from monitor.services.snapshot import DashboardSnapshot
from tests.fakes.fake_upstream import FakeUpstream
from tests.fakes.server import ServerThread
from tests.gui.conftest import CYCLE_START, seed_spend
from tests.integration.test_proxy_metrics import free_port

FOLLOW_MS = 5000  # the promise: a change reaches the running app within 5 s
FIRST_CAP_MS = 20_000  # a first hard cap loads the tokenizer (its reservations count tokens)


def _limit(app: AppController) -> Decimal | None:
    snap = app.state.snapshot
    return snap.cycle.limit_usd if isinstance(snap, DashboardSnapshot) else None


def _started(app: AppController, qtbot: QtBot) -> AppController:
    with qtbot.waitSignal(app.state.snapshot_changed, timeout=10_000):
        app.start(poll=False)
    return app


def _file(ctx: AppContext) -> dict[str, Any]:
    data = json.loads(ctx.paths.settings_file.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _editor_save(path: Path, **changes: object) -> None:
    """As vim/VS Code/most editors save: a new file written beside it, renamed over it."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(json.dumps(data, indent=4) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _in_dialog(app: AppController, act: Callable[[SettingsDialog], None]) -> None:
    """Open the Settings dialog the way the tray does (modal) and run `act` on it; `act`
    ends with accept() or reject() (a failure inside rejects and is raised here)."""
    errors: list[BaseException] = []

    def run() -> None:
        dialogs = [w for w in QApplication.topLevelWidgets()
                   if isinstance(w, SettingsDialog) and w.isVisible()]
        if not dialogs:
            QTimer.singleShot(20, run)
            return
        d = dialogs[0]
        try:
            act(d)
        except BaseException as exc:
            errors.append(exc)
        if d.isVisible():
            d.reject()

    QTimer.singleShot(0, run)
    app.open_settings()
    if errors:
        raise errors[0]


def _text(d: SettingsDialog, key: str) -> str:
    w = d.field(key)
    assert isinstance(w, QLineEdit)
    return w.text()


def test_budget_limit_from_the_cli_reaches_tray_dashboard_and_state(
        make_app: Callable[..., AppController], utc_ctx: AppContext, qtbot: QtBot,
        capsys: pytest.CaptureFixture[str]) -> None:
    seed_spend(utc_ctx, today_usd="1.23", earlier_usd="46.87")
    app = _started(make_app(tray=True), qtbot)
    assert app.tray is not None
    assert "of $120 (40 %)" in app.tray.icon.toolTip()

    assert main(["budget", "--limit", "90"]) == 0  # another process, as far as the app knows
    assert "saved." in capsys.readouterr().out

    qtbot.waitUntil(lambda: _limit(app) == Decimal(90), timeout=FOLLOW_MS)
    assert utc_ctx.settings.monthly_limit_usd == Decimal(90)
    assert "of $90 (53 %)" in app.tray.icon.toolTip()
    assert app.window.header.cycle_cost.text() == "$48.10 of $90"


def test_a_lower_limit_from_the_cli_fires_its_threshold_alerts(
        make_app: Callable[..., AppController], utc_ctx: AppContext, qtbot: QtBot,
        capsys: pytest.CaptureFixture[str]) -> None:
    seed_spend(utc_ctx, today_usd="1.23", earlier_usd="46.87")  # $48.10: 40 % of $120
    app = _started(make_app(tray=True), qtbot)
    qtbot.waitUntil(lambda: app.state.alerts_evaluated >= 1 and not app.state.busy,
                    timeout=10_000)
    assert utc_ctx.store().fired_alerts(CYCLE_START) == set()

    with qtbot.waitSignal(app.state.alerts_fired, timeout=FOLLOW_MS) as fired:
        assert main(["budget", "--limit", "60"]) == 0  # $48.10 is 80 % of $60
    assert sorted(a.key for a in fired.args[0] if a.kind == "threshold") == ["80"]


def test_an_editors_rename_and_an_in_place_write_are_both_followed(
        make_app: Callable[..., AppController], utc_ctx: AppContext, qtbot: QtBot) -> None:
    app = _started(make_app(tray=True), qtbot)
    path = utc_ctx.paths.settings_file

    _editor_save(path, monthly_limit_usd=75)
    qtbot.waitUntil(lambda: _limit(app) == Decimal(75), timeout=FOLLOW_MS)
    _editor_save(path, monthly_limit_usd=60)  # the watch survives the file being replaced
    qtbot.waitUntil(lambda: _limit(app) == Decimal(60), timeout=FOLLOW_MS)

    # In place, same length, same second: only the content tells.
    text = path.read_text(encoding="utf-8")
    assert '"monthly_limit_usd": 60' in text
    stat = path.stat()
    with path.open("r+", encoding="utf-8") as fh:
        fh.write(text.replace('"monthly_limit_usd": 60', '"monthly_limit_usd": 65'))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    qtbot.waitUntil(lambda: _limit(app) == Decimal(65), timeout=FOLLOW_MS)


def test_a_half_written_file_is_left_alone_and_the_finished_one_is_followed(
        make_app: Callable[..., AppController], utc_ctx: AppContext, qtbot: QtBot) -> None:
    app = _started(make_app(tray=True), qtbot)
    path = utc_ctx.paths.settings_file
    path.write_text('{"monthly_limit_usd": 5', encoding="utf-8")  # cut off mid-write
    app.refresh_now()
    assert utc_ctx.settings.monthly_limit_usd == Decimal(120)  # kept, not defaults
    assert path.read_text(encoding="utf-8") == '{"monthly_limit_usd": 5'  # not moved aside
    assert [p.name for p in path.parent.iterdir() if ".corrupt-" in p.name] == []

    path.write_text('{"monthly_limit_usd": 50, "today_timezone": "UTC"}\n', encoding="utf-8")
    qtbot.waitUntil(lambda: _limit(app) == Decimal(50), timeout=FOLLOW_MS)


def test_where_the_folder_cannot_be_watched_a_slow_timer_checks_instead(
        make_app: Callable[..., AppController], utc_ctx: AppContext, qtbot: QtBot,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # As with no inotify watch left: every path is refused.
    monkeypatch.setattr(QFileSystemWatcher, "addPaths", lambda _self, paths: list(paths))
    app = _started(make_app(tray=True), qtbot)
    assert not app.settings_watch.watching
    _editor_save(utc_ctx.paths.settings_file, monthly_limit_usd=55)
    qtbot.waitUntil(lambda: _limit(app) == Decimal(55), timeout=FOLLOW_MS)


def test_a_language_set_in_the_file_switches_the_windows(
        make_app: Callable[..., AppController], utc_ctx: AppContext, qtbot: QtBot) -> None:
    app = _started(make_app(tray=True), qtbot)
    assert app.language == "en"
    old_window = app.window
    _editor_save(utc_ctx.paths.settings_file, language="zh_CN")
    try:
        qtbot.waitUntil(lambda: app.language == "zh_CN", timeout=FOLLOW_MS)
        assert app.translators, "the zh_CN catalogue must be installed"
        assert app.window is not old_window  # rebuilt in the new language
    finally:  # the next tests run in English
        qapp = QApplication.instance()
        assert qapp is not None
        i18n.remove(qapp, app.translators)
        app.translators = []


def test_refresh_now_and_the_dialog_read_the_file_at_once(
        make_app: Callable[..., AppController], utc_ctx: AppContext, qtbot: QtBot,
        capsys: pytest.CaptureFixture[str]) -> None:
    app = _started(make_app(tray=True), qtbot)
    assert main(["budget", "--limit", "90"]) == 0
    seen: list[str] = []
    # No waiting for the watch: opening the dialog reads the file as it is now.
    _in_dialog(app, lambda d: (seen.append(_text(d, "monthly_limit_usd")), d.reject()))
    assert seen == ["90"]

    _editor_save(utc_ctx.paths.settings_file, monthly_limit_usd=80)
    app.refresh_now()  # Refresh now reads it too
    assert utc_ctx.settings.monthly_limit_usd == Decimal(80)


def test_saving_the_dialog_writes_only_its_changes_and_keeps_the_clis_limit(
        make_app: Callable[..., AppController], utc_ctx: AppContext, qtbot: QtBot,
        capsys: pytest.CaptureFixture[str]) -> None:
    app = _started(make_app(tray=True), qtbot)

    def change_poll_while_the_cli_sets_the_limit(d: SettingsDialog) -> None:
        assert _text(d, "monthly_limit_usd") == "120"
        assert main(["budget", "--limit", "90"]) == 0
        # The app follows the file while the dialog is open...
        qtbot.waitUntil(lambda: utc_ctx.settings.monthly_limit_usd == Decimal(90),
                        timeout=FOLLOW_MS)
        # ...and the user, who still sees 120 there, changes another field and saves.
        w = d.field("poll_interval_s")
        assert isinstance(w, QLineEdit)
        w.setText("45")
        d.accept()

    _in_dialog(app, change_poll_while_the_cli_sets_the_limit)
    on_disk = _file(utc_ctx)
    assert on_disk["monthly_limit_usd"] == 90  # not reverted to the 120 the dialog showed
    assert on_disk["poll_interval_s"] == 45
    assert utc_ctx.settings.monthly_limit_usd == Decimal(90)
    assert utc_ctx.settings.poll_interval_s == 45
    qtbot.waitUntil(lambda: _limit(app) == Decimal(90), timeout=FOLLOW_MS)

    # The reported case: the app had already followed the CLI; a save of another field.
    assert main(["budget", "--limit", "70"]) == 0
    qtbot.waitUntil(lambda: _limit(app) == Decimal(70), timeout=FOLLOW_MS)

    def change_thresholds(d: SettingsDialog) -> None:
        assert _text(d, "monthly_limit_usd") == "70"
        w = d.field("alert_thresholds_pct")
        assert isinstance(w, QLineEdit)
        w.setText("50, 75, 100")
        d.accept()

    _in_dialog(app, change_thresholds)
    assert _file(utc_ctx)["monthly_limit_usd"] == 70
    assert _file(utc_ctx)["alert_thresholds_pct"] == [50, 75, 100]
    assert utc_ctx.settings.monthly_limit_usd == Decimal(70)


# -- the embedded proxy ------------------------------------------------------------------------


@pytest.fixture
def upstream() -> Iterator[ServerThread]:
    with ServerThread(FakeUpstream().make_app) as server:
        yield server


def _gauge(url: str, name: str) -> float | None:
    with urllib.request.urlopen(url, timeout=10) as resp:
        text = resp.read().decode()
    values = [s.value for fam in text_string_to_metric_families(text) for s in fam.samples
              if s.name == name]
    return values[0] if values else None


def _chat(proxy_url: str) -> int:
    body = json.dumps({"model": "gpt-4o", "max_tokens": 16,
                       "messages": [{"role": "user", "content": "hi"}]})
    req = urllib.request.Request(proxy_url + "/chat/completions", data=body.encode(),
                                 headers={"Authorization": "Bearer sk-test-0123456789abcd",
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_the_embedded_proxys_metrics_and_hard_cap_follow_the_file(
        make_app: Callable[..., AppController], utc_ctx: AppContext, qtbot: QtBot,
        upstream: ServerThread, capsys: pytest.CaptureFixture[str]) -> None:
    metrics_port = free_port()
    utc_ctx.save_settings(utc_ctx.settings.replace(
        proxy_enabled=True, proxy_port=free_port(), openai_base_url=upstream.base_url + "/v1",
        metrics_enabled=True, metrics_port=metrics_port))
    seed_spend(utc_ctx, today_usd="1.23", earlier_usd="46.87")
    app = make_app(tray=True)
    metrics = f"http://127.0.0.1:{metrics_port}/metrics"
    with qtbot.waitSignal(app.proxy.started, timeout=15_000) as started:
        app.start(poll=False)
    proxy_url = started.args[0]
    assert _gauge(metrics, "token_monitor_cycle_limit_usd") == 120
    assert _chat(proxy_url) == 200

    assert main(["budget", "--limit", "90"]) == 0
    qtbot.waitUntil(lambda: _gauge(metrics, "token_monitor_cycle_limit_usd") == 90,
                    timeout=FOLLOW_MS)

    # Under this cycle's spend, with the hard cap on: the proxy refuses. The settings reach
    # it at once (the caps re-read them when the app notices); the first hard cap then loads
    # the tokenizer for its reservations, which takes seconds on a loaded machine.
    assert main(["budget", "--limit", "10", "--hard-cap", "on"]) == 0
    qtbot.waitUntil(lambda: _gauge(metrics, "token_monitor_cycle_limit_usd") == 10,
                    timeout=FOLLOW_MS)
    qtbot.waitUntil(lambda: _chat(proxy_url) == 429, timeout=FIRST_CAP_MS)
    assert app.proxy.active  # followed in place: a limit is no reason to restart the proxy
