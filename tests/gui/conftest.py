"""GUI test helpers: every test here is marked `gui`; a fixed clock and seeded stores."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QLocale
from pytestqt.qtbot import QtBot

from monitor.context import AppContext
from monitor.core.clock import fixed_clock
from monitor.gui.app import AppController
from monitor.gui.app_jobs import NO_ADMIN_KEY
from monitor.gui.state import AppState
from monitor.gui.tasks import TaskRunner
from monitor.paths import Paths
from tests.e2e.seed import seed_proxy_spend

# A Friday afternoon in the middle of a November cycle (limit $120 by default).
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
CYCLE_START = date(2026, 11, 1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.gui)


@pytest.fixture(autouse=True)
def english_locale() -> Iterator[None]:
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))
    yield
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))


@pytest.fixture
def ctx(paths: Paths) -> Iterator[AppContext]:
    """GUI tests run at `NOW` whatever the real date: the app's one clock is pinned."""
    context = AppContext(paths, clock=fixed_clock(NOW))
    yield context
    context.close()


@pytest.fixture
def utc_ctx(ctx: AppContext) -> AppContext:
    """The ctx with "today" in UTC, so the fixed clock gives fixed days."""
    ctx.save_settings(ctx.settings.replace(today_timezone="UTC"))
    return ctx


def seed_spend(ctx: AppContext, today_usd: str, earlier_usd: str, *,
               key_label: str = "laptop", now: datetime = NOW) -> None:
    """Proxy records: `earlier_usd` on Nov 5 and `today_usd` at `now` - 1 h."""
    spends = []
    if Decimal(earlier_usd):
        spends.append((datetime(2026, 11, 5, 12, tzinfo=UTC), Decimal(earlier_usd)))
    if Decimal(today_usd):
        spends.append((now - timedelta(hours=1), Decimal(today_usd)))
    seed_proxy_spend(ctx.store(), spends, key_label=key_label)


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[TaskRunner]:
    r = TaskRunner()
    yield r
    r.wait(5000)
    r.deleteLater()


def make_state(ctx: AppContext, runner: TaskRunner, now: datetime = NOW) -> AppState:
    return AppState(ctx, runner, clock=lambda: now)


def snapshot_of(qtbot: QtBot, state: AppState) -> object:
    with qtbot.waitSignal(state.snapshot_changed, timeout=10_000) as blocker:
        state.refresh()
    return blocker.args[0]


def fresh_ctx(paths: Paths) -> AppContext:
    """A second AppContext over the same files (a restart of the app)."""
    return AppContext(paths, clock=fixed_clock(NOW))


@pytest.fixture
def make_app(qtbot: QtBot, ctx: AppContext) -> Iterator[Callable[..., AppController]]:
    """Builds AppControllers on `ctx` (no org sync, no D-Bus, no tokenizer unless asked;
    Quit only sets `quit_called`) and shuts each down after the test."""
    made: list[AppController] = []

    def make(**kw: Any) -> AppController:
        kw.setdefault("sync", lambda: NO_ADMIN_KEY)
        kw.setdefault("use_freedesktop", False)
        kw.setdefault("with_tokenizer", False)
        c = AppController(ctx, **kw)
        c.quit_requested = lambda: setattr(c, "quit_called", True)
        made.append(c)
        return c

    yield make
    for c in made:
        c.shutdown()
        c.window.deleteLater()
