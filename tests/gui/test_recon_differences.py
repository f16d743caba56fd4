"""Billed vs estimated: a difference under half a cent reads `$0.00` beside "matches"."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pytestqt.qtbot import QtBot

from monitor.gui.dashboard.tables import recon_columns
from monitor.services.snapshot import ReconRow


def test_float_noise_in_a_difference_reads_zero(qtbot: QtBot) -> None:
    [diff] = [c for c in recon_columns() if c.title == "Difference"]
    noise = ReconRow(date(2026, 11, 3), "gpt-4o", Decimal("1.000000000"),
                     Decimal("1.000000075"), "matches")
    real = ReconRow(date(2026, 11, 3), "gpt-4o", Decimal("2.50"), Decimal("1.25"), "")
    assert diff.display(noise) == "$0.00"
    assert diff.display(real) == "+$1.25"
    assert diff.display(ReconRow(date(2026, 11, 3), "x", None, Decimal(1), "")) == "–"
