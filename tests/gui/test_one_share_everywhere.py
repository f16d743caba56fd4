"""One share of the limit everywhere: the same percent and the same state on every surface.

One seeded store at 79.6 %, 92.4 % and 929 % of the $120 limit, with the default thresholds
and with 80/95/100: the tray tooltip and menu line, the drawn gauge, the number icon, the
dashboard header, `status` (text, waybar, i3blocks), `budget` and `usage` must all say the same
whole percent (rounded down) and be coloured by the same state.
"""

from __future__ import annotations

import json
import re

import pytest
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from monitor.cli import main
from monitor.context import AppContext
from monitor.core.limit_share import STATE_COLOURS
from monitor.gui import icon_numbers, icons, texts, tray
from monitor.gui.dashboard.header import HeaderPanel
from monitor.gui.tasks import TaskRunner
from monitor.services.snapshot import DashboardSnapshot
from tests.gui.conftest import NOW, make_state, seed_spend, snapshot_of

CUSTOM = (80, 95, 100)


@pytest.mark.parametrize(("earlier", "thresholds", "pct", "state"), [
    ("90", None, 79, "warn"),            # 95.52 of 120 = 79.6 %
    ("105.36", None, 92, "critical"),    # 110.88 = 92.4 %
    ("1109.28", None, 929, "over"),      # 1,114.80 = 929 %
    ("90", CUSTOM, 79, "ok"),
    ("105.36", CUSTOM, 92, "warn"),
    ("1109.28", CUSTOM, 929, "over"),
])
def test_every_surface_says_the_same_share(
        utc_ctx: AppContext, runner: TaskRunner, qtbot: QtBot,
        capsys: pytest.CaptureFixture[str], earlier: str, thresholds: tuple[int, ...] | None,
        pct: int, state: str) -> None:
    settings = utc_ctx.settings.replace(poll_interval_s=86_400)  # the records are never stale
    if thresholds is not None:
        settings = settings.replace(alert_thresholds_pct=thresholds)
    utc_ctx.save_settings(settings)
    seed_spend(utc_ctx, today_usd="5.52", earlier_usd=earlier)
    utc_ctx.close()  # the CLI below opens the same files
    now = ["--now", NOW.isoformat()]

    assert main(["status", *now]) == 0
    status_text = capsys.readouterr().out
    assert main(["status", "--format", "waybar", *now]) == 0
    waybar = json.loads(capsys.readouterr().out)
    assert main(["status", "--format", "i3blocks", *now]) == 0
    i3_full, i3_short, i3_colour = capsys.readouterr().out.splitlines()
    assert main(["budget", *now]) == 0
    budget_text = capsys.readouterr().out
    assert main(["usage", *now]) == 0
    usage_text = capsys.readouterr().out

    snap = snapshot_of(qtbot, make_state(utc_ctx, runner))
    assert isinstance(snap, DashboardSnapshot)
    header = HeaderPanel()
    qtbot.addWidget(header)
    header.show_snapshot(snap)
    look = tray.look_of(snap)
    gauge = icons.draw_gauge(32, look).toImage().convertToFormat(QImage.Format.Format_ARGB32)
    number = icon_numbers.number_look(snap, "cycle_pct", settings.alert_thresholds_pct,
                                      settings.poll_interval_s)
    assert number is not None

    # The percent, whole and rounded down, on every surface.
    shown = f"{pct} %"
    assert f"({shown})" in texts.tooltip(snap).splitlines()[0]
    assert texts.cycle_line(snap).endswith(f"({shown})")
    assert header.cycle_bar.format() == shown
    assert number.text == str(pct)
    assert f"({shown})" in status_text
    assert waybar["percentage"] == pct and f"({shown})" in waybar["text"]
    assert f"({shown})" in i3_full and i3_short.endswith(shown)
    assert re.search(rf"^Used +{pct} %$", budget_text, re.M), budget_text
    assert f"({shown})" in usage_text

    # The state, from the user's thresholds, colours everything.
    colour = STATE_COLOURS[state]
    assert snap.cycle.state == state
    assert look.state == state
    fill = gauge.pixelColor(int(32 * 0.62), int(32 * 0.30))
    assert fill.name() == QColor(colour).name()
    assert colour.lower() in header.cycle_bar.styleSheet().lower()
    assert number.state == state
    assert waybar["class"] == state and i3_colour == colour
