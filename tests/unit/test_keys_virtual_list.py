"""`keys virtual list` states dollars and the used share by the owners every surface calls
(`core.money`, `core.limit_share.percent_text`), not by its own rounding."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from monitor.commands._keys_virtual import run_list
from monitor.context import AppContext
from monitor.core.clock import fixed_clock
from monitor.core.limit_share import percent_text
from monitor.core.money import usd
from monitor.services.keyring_vault import MemoryVault
from monitor.services.keyvault import KeyStore
from monitor.services.virtual_keys import VirtualKeys
from tests.e2e.seed import seed_proxy_spend

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)  # mid-month: in the cap period in any zone


@pytest.mark.parametrize("spent", ["0.996", "0.00068", "0.5"])
def test_used_share_and_spend_are_the_shared_rules(
        ctx: AppContext, capsys: pytest.CaptureFixture[str], spent: str) -> None:
    ctx.clock = fixed_clock(NOW)
    ctx._keys = KeyStore.open(ctx.paths.keys_file, vault=MemoryVault())
    ctx.keys().add("team", "project", "sk-proj-LISTteam0123456789abcdefghijKLMN")
    VirtualKeys(ctx.store()).add("notes-bot", "team", now=NOW, cap_usd=Decimal(1),
                                 per="month", hard=True)
    seed_proxy_spend(ctx.store(), [(NOW - timedelta(hours=1), Decimal(spent))],
                     key_label="notes-bot")
    assert run_list(argparse.Namespace(json=False), ctx) == 0
    row = capsys.readouterr().out.splitlines()[2].split()
    # LABEL FOR SPENT CAP PER KIND USED(n %) REQUESTS
    assert row[2] == usd(Decimal(spent), unknown="unknown")
    assert " ".join(row[6:8]) == percent_text(Decimal(spent))
    assert row[6] != "100"  # short of the cap is never shown as all of it
