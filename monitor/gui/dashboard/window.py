"""The dashboard window: header counters, tabs (overview charts, tables, sources, tokenizer).

Renders `DashboardSnapshot`s and emits requests; it does no I/O of its own except writing
the CSV file the user asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSortFilterProxyModel, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QHideEvent,
    QKeySequence,
    QPaintEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from monitor.gui import fmt, texts
from monitor.gui.dashboard.header import HeaderPanel
from monitor.gui.dashboard.overview import OverviewCharts
from monitor.gui.dashboard.period import PeriodPicker
from monitor.gui.dashboard.sources import SourcesPane
from monitor.gui.dashboard.tables import (
    RowTableModel,
    group_columns,
    recon_columns,
    sorted_proxy,
)
from monitor.gui.dashboard.what_if import WhatIfPanel, compact_rows
from monitor.gui.welcome import WelcomePanel
from monitor.services.desktop_notify import Notification

if TYPE_CHECKING:  # QtCharts loads when the charts are first shown; data comes with snapshots
    from monitor.gui.dashboard.charts import CumulativeChart, DailySpendChart
    from monitor.services.snapshot import DashboardSnapshot, GroupRow, ReconRow

NOTICE_STYLE = "background: #e8f0fe; color: #174ea6; padding: 6px; border-radius: 4px;"
BANNER_STYLE = "background: #fff4e5; color: #5d4037; padding: 6px; border-radius: 4px;"
GROUP_TEXT_COLUMNS = (0, 7)  # group_columns: the name and the basis
CHARTS_AT_THE_LATEST_MS = 500  # if no paint event comes (e.g. a fully covered window)
FAILING_STYLE = "background: #fdecea; color: #8a1c1c; padding: 6px; border-radius: 4px;"


class _Banner(QWidget):
    """A one-line coloured message with a dismiss button."""

    def __init__(self, name: str, style: str, parent: QWidget, closable: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(self)
        self.label.setObjectName(f"{name}-text")
        self.label.setWordWrap(True)
        self.label.setStyleSheet(style)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.label, 1)
        if closable:
            close = QPushButton("✕", self)
            close.setObjectName(f"{name}-close")
            close.setFlat(True)
            close.setFixedWidth(28)
            close.clicked.connect(self.hide)
            row.addWidget(close)
        self.hide()

    def show_text(self, text: str) -> None:
        self.label.setText(text)
        self.show()


def _table(parent: QWidget, name: str, model: QSortFilterProxyModel, column: int,
           stretch: tuple[int, ...] = ()) -> QTableView:
    """A sortable table of `model`, sorted by `column` (largest first, newest first);
    `stretch`: the text columns that share the width and elide (else the last one fills
    it)."""
    view = QTableView(parent)
    view.setObjectName(name)
    view.setSortingEnabled(True)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.verticalHeader().setVisible(False)
    compact_rows(view)
    view.setModel(model)  # before the per-section modes: they need the columns
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(not stretch)
    for c in stretch:  # they share what is left and elide: no horizontal scrollbar at 800 px
        header.setSectionResizeMode(c, QHeaderView.ResizeMode.Stretch)
    if stretch:
        view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    view.sortByColumn(column, Qt.SortOrder.DescendingOrder)
    return view


class DashboardWindow(QMainWindow):
    """The main window.

    Signals:
        refresh_requested(): "Refresh now".
        settings_requested(): "Settings…".
        keys_requested(): "API keys…".
        close_requested(): the user closed the window while no tray exists (quit the app).
        hidden(): the window was just hidden or closed (the owner remembers its geometry).
    """

    refresh_requested = Signal()
    settings_requested = Signal()
    keys_requested = Signal()
    close_requested = Signal()
    hidden = Signal()
    what_if_requested = Signal(str)  # a model chosen in "What if everything ran on"; "" = none
    period_requested = Signal(str)  # the period picker's choice, a `usage --period` name
    first_painted = Signal()  # the window's first frame is on screen (once per window)
    welcome_path_requested = Signal(str)  # the welcome panel's path_requested
    welcome_dismissed = Signal()  # the welcome panel's dismissed

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        tokenizer_factory: Callable[[QWidget], QWidget] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("dashboard")
        self.setWindowTitle(self.tr("Token Monitor"))
        self.resize(1100, 780)
        self.hide_on_close = True  # tray mode; False: closing quits (no tray to come back to)
        self.painted_once = False
        self.snapshot: DashboardSnapshot | None = None
        self._export_dir: Path | None = None  # the last export's folder (this session)
        self._tokenizer_factory = tokenizer_factory
        self.tokenizer: QWidget | None = None

        toolbar = QToolBar(self.tr("Actions"), self)
        toolbar.setObjectName("toolbar")
        toolbar.setMovable(False)
        self.addToolBar(toolbar)
        self.refresh_action = self._add_action(toolbar, self.tr("Refresh now"), "refresh",
                                               self.refresh_requested.emit)
        self.refresh_action.setShortcut(QKeySequence.StandardKey.Refresh)
        self.export_action = self._add_action(toolbar, self.tr("Export CSV…"), "export",
                                              self._ask_export)
        toolbar.addSeparator()
        self._add_action(toolbar, self.tr("Settings…"), "settings", self.settings_requested.emit)
        self._add_action(toolbar, self.tr("API keys…"), "keys", self.keys_requested.emit)
        toolbar.addSeparator()
        self.period_picker = PeriodPicker(toolbar)  # the tables, what-if and CSV export
        self.period_picker.setToolTip(self.tr(
            "The period of the tables, the what-if and the CSV export (the header and the "
            "charts show the billing cycle)"))
        self.period_picker.period_requested.connect(self.period_requested)
        toolbar.addWidget(self.period_picker)

        central = QWidget(self)
        layout = QVBoxLayout(central)
        self.notice = _Banner("notice", NOTICE_STYLE, central)
        self.banner = _Banner("banner", BANNER_STYLE, central)
        self.failing = _Banner("failing", FAILING_STYLE, central, closable=False)
        for b in (self.notice, self.banner, self.failing):
            layout.addWidget(b)
        self.header = HeaderPanel(central)
        layout.addWidget(self.header)
        self.freshness = QLabel(central)
        self.freshness.setObjectName("freshness")
        self.freshness.setStyleSheet("color: #5f6368;")
        layout.addWidget(self.freshness)

        self.tabs = QTabWidget(central)
        self.tabs.setObjectName("tabs")
        layout.addWidget(self.tabs, 1)

        overview = QWidget(self.tabs)
        ov_outer = QVBoxLayout(overview)
        ov_outer.setContentsMargins(0, 0, 0, 0)
        self._overview_layout = ov_outer
        self._welcome: WelcomePanel | None = None  # built when first needed (fresh installs)
        self.charts = OverviewCharts(overview)  # the charts exist only while shown
        ov_outer.addWidget(self.charts, 1)
        self._charts_due = False
        self._overview_index = self.tabs.addTab(overview, self.tr("Overview"))

        models = QWidget(self.tabs)
        mv = QVBoxLayout(models)
        self.model_rows: RowTableModel[GroupRow] = RowTableModel(
            group_columns(self.tr("Model")), self)
        self.model_proxy = sorted_proxy(self.model_rows, self)
        # The tables' views are built when their tab is first shown (`_build_page`): the first
        # frame shows one tab. The row models exist from the start and take every snapshot.
        self._page_builders: dict[int, Callable[[], None]] = {}
        self.model_view: QTableView | None = None
        self.project_view: QTableView | None = None
        self.key_view: QTableView | None = None
        self.recon_view: QTableView | None = None
        self.unpriced = QLabel(models)
        self.unpriced.setObjectName("unpriced")
        self.unpriced.setWordWrap(True)
        self.unpriced.setStyleSheet("color: #8a5300;")
        self.unpriced.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        mv.addWidget(self.unpriced)
        self.what_if = WhatIfPanel(models)
        self.what_if.what_if_requested.connect(self.what_if_requested)
        self.what_if_model = self.what_if.model  # the model choice (tests, screenshots)
        self.what_if_result = self.what_if.result
        mv.addWidget(self.what_if)

        def build_models() -> None:
            self.model_view = _table(models, "model-table", self.model_proxy, 6,
                                     GROUP_TEXT_COLUMNS)
            mv.insertWidget(0, self.model_view, 3)

        self._page_builders[self.tabs.addTab(models, self.tr("By model"))] = build_models

        owners = QSplitter(Qt.Orientation.Vertical, self.tabs)
        self.project_rows: RowTableModel[GroupRow] = RowTableModel(
            group_columns(self.tr("Project")), self)
        self.project_proxy = sorted_proxy(self.project_rows, self)
        self.key_rows: RowTableModel[GroupRow] = RowTableModel(
            group_columns(self.tr("API key")), self)
        self.key_proxy = sorted_proxy(self.key_rows, self)

        def build_owners() -> None:
            self.project_view = _table(owners, "project-table", self.project_proxy, 6,
                                       GROUP_TEXT_COLUMNS)
            self.key_view = _table(owners, "key-table", self.key_proxy, 6, GROUP_TEXT_COLUMNS)
            owners.addWidget(self.project_view)
            owners.addWidget(self.key_view)

        self._page_builders[self.tabs.addTab(owners, self.tr("By project and key"))] = \
            build_owners

        recon = QWidget(self.tabs)
        rv = QVBoxLayout(recon)
        explain = QLabel(self.tr(
            "Billed: the Costs API's dollars for the UTC day. Estimated: tokens × the price "
            "table. They differ by cached-input share, service tier, unpriced models and data "
            "that arrives late."), recon)
        explain.setWordWrap(True)
        rv.addWidget(explain)
        self.recon_rows: RowTableModel[ReconRow] = RowTableModel(recon_columns(), self)
        self.recon_proxy = sorted_proxy(self.recon_rows, self)

        def build_recon() -> None:
            self.recon_view = _table(recon, "recon-table", self.recon_proxy, 0)
            rv.addWidget(self.recon_view, 1)

        self._page_builders[self.tabs.addTab(recon, self.tr("Billed vs estimated"))] = \
            build_recon
        self.tabs.currentChanged.connect(self._build_page)

        self.sources_page = QWidget(self.tabs)  # holds the SourcesPane once it is built
        self.sources_page.setObjectName("sources-page")
        QVBoxLayout(self.sources_page).setContentsMargins(0, 0, 0, 0)
        self._sources: SourcesPane | None = None
        self.tabs.addTab(self.sources_page, self.tr("Sources"))

        self._tokenizer_index = -1
        if tokenizer_factory is not None:
            holder = QWidget(self.tabs)
            holder.setObjectName("tokenizer-holder")
            QVBoxLayout(holder).setContentsMargins(0, 0, 0, 0)
            self._tokenizer_index = self.tabs.addTab(holder, self.tr("Tokenizer"))
            self.tabs.currentChanged.connect(self._maybe_build_tokenizer)

        self.setCentralWidget(central)

    def _add_action(self, toolbar: QToolBar, text: str, name: str,
                    slot: Callable[[], object]) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        action.triggered.connect(lambda _checked=False: slot())
        toolbar.addAction(action)
        return action

    @property
    def sources(self) -> SourcesPane:
        """The Sources tab's pane, built on first use: the first snapshot (after the first
        frame), a sync's progress, or the tab shown."""
        if self._sources is None:
            # In a vertical scroll area: its forms must not set the window's minimum height
            # (issue 25: the window could not be made 800×500).
            scroll = QScrollArea(self.sources_page)
            scroll.setObjectName("sources-scroll")
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self._sources = SourcesPane(scroll)
            scroll.setWidget(self._sources)
            layout = self.sources_page.layout()
            assert layout is not None
            layout.addWidget(scroll)
        return self._sources

    def _build_page(self, index: int) -> None:
        """Build a table tab's view the first time the tab is shown."""
        build = self._page_builders.pop(index, None)
        if build is not None:
            build()
        elif self.tabs.widget(index) is self.sources_page:
            self.sources.show()

    # tokenizer (built when first shown: it loads an encoding) ---------------------------

    @property
    def tokenizer_factory(self) -> Callable[[QWidget], QWidget] | None:
        return self._tokenizer_factory

    def _maybe_build_tokenizer(self, index: int) -> None:
        if index == self._tokenizer_index:
            self.ensure_tokenizer()

    def ensure_tokenizer(self) -> QWidget | None:
        if self.tokenizer is None and self._tokenizer_factory is not None:
            holder = self.tabs.widget(self._tokenizer_index)
            assert holder is not None
            self.tokenizer = self._tokenizer_factory(holder)
            layout = holder.layout()
            assert layout is not None
            layout.addWidget(self.tokenizer)
        return self.tokenizer

    def show_tokenizer(self) -> None:
        if self._tokenizer_index >= 0:
            self.tabs.setCurrentIndex(self._tokenizer_index)
            self.ensure_tokenizer()
        self.bring_forward()

    # data -------------------------------------------------------------------------------

    def show_snapshot(self, snap: DashboardSnapshot) -> None:
        self.snapshot = snap
        self.header.show_snapshot(snap)
        self.freshness.setText(texts.complete_through(snap))
        self.charts.show_snapshot(snap)
        tables = snap.tables
        self.period_picker.set_today(snap.generated_at.astimezone(UTC).date())
        self.period_picker.adopt(tables.period.name)  # a new window: keep the period
        self.period_picker.show_period(tables.period)
        self.model_rows.set_rows(tables.by_model)
        self.project_rows.set_rows(tables.by_project)
        self.key_rows.set_rows(tables.by_key)
        self.recon_rows.set_rows(snap.recon)
        self.what_if.show_snapshot(snap)
        if snap.unpriced_models:
            self.unpriced.setText(
                self.tr("No price known for: %1. Their tokens are counted; their dollars "
                        "only where the Costs API billed them, never in estimates. Add prices "
                        "in %2.")
                .replace("%1", ", ".join(snap.unpriced_models))
                .replace("%2", snap.prices_override))
            self.unpriced.show()
        else:
            self.unpriced.hide()
        self.sources.show_snapshot(snap)
        if snap.failing:
            parts = []
            if snap.org.failing:
                parts.append(self.tr("Organization sync failing: %1 — last success %2.")
                             .replace("%1", snap.org.last_error or "?")
                             .replace("%2", fmt.when_text(snap.org.last_success,
                                                                snap.generated_at)))
            elif snap.org.key_lost:
                parts.append(self.tr("Organization sync stopped: no admin key is stored any "
                                     "more (add one under API keys…) — last success %1.")
                             .replace("%1", fmt.when_text(snap.org.last_success,
                                                          snap.generated_at)))
            if snap.proxy.error:
                parts.append(self.tr("Proxy: %1").replace("%1", snap.proxy.error))
            self.failing.show_text(" ".join(parts) + " " +
                                   self.tr("The numbers shown are the last ones it had."))
        else:
            self.failing.hide()

    @property
    def welcome(self) -> WelcomePanel:
        """The welcome panel (hidden until `set_welcome(True)`), built on first use: most
        starts never show it, so the first frame does not pay for its widgets."""
        if self._welcome is None:
            overview = self._overview_layout.parentWidget()
            panel = WelcomePanel(overview)
            panel.hide()
            panel.path_requested.connect(self.welcome_path_requested)
            panel.dismissed.connect(self.welcome_dismissed)
            self._overview_layout.insertWidget(0, panel, 1)
            self._welcome = panel
        return self._welcome

    def set_welcome(self, active: bool) -> None:
        """Show the welcome panel in place of the (empty) charts and zero counters, or the
        charts and counters again."""
        if active or self._welcome is not None:
            self.welcome.setVisible(active)
        self.charts.setVisible(not active)
        self.header.setVisible(not active)
        self.freshness.setVisible(not active)
        if active:
            self.tabs.setCurrentIndex(self._overview_index)
        else:
            self._build_overview()  # not built while the welcome panel stood in their place

    @property
    def welcome_active(self) -> bool:
        return self._welcome is not None and not self._welcome.isHidden()

    def set_notice(self, text: str | None) -> None:
        if text:
            self.notice.show_text(text)
        else:
            self.notice.hide()

    def show_banner(self, n: Notification) -> None:
        self.banner.show_text(f"<b>{_escape(n.title)}</b> — {_escape(n.body)}")

    # export -----------------------------------------------------------------------------

    def export_folder(self) -> Path:
        """Where the save dialog opens: the last export's folder, else Documents, else home
        (never the folder the app happened to be started from)."""
        if self._export_dir is not None and self._export_dir.is_dir():
            return self._export_dir
        docs = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DocumentsLocation)
        if docs and Path(docs).is_dir():
            return Path(docs)
        return Path.home()

    def _ask_export(self) -> None:
        if self.snapshot is None:
            return
        period = self.snapshot.tables.period
        today = self.snapshot.today.day  # the user's day, as the header's "Today"
        label = {"today": today.isoformat(),
                 "yesterday": (today - timedelta(days=1)).isoformat()}.get(
            period.name, period.name.replace("..", "_to_") if period.name[:1].isdigit()
            else period.first_day.isoformat())  # a month or range; else a cycle's first day
        name = f"token-monitor-{label}.csv"
        default = self.export_folder() / name
        path, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Export CSV"), str(default), self.tr("CSV files (*.csv)"))
        if not path:
            return
        target = Path(path)
        try:
            self.export_csv(target)
        except OSError as exc:
            self.show_banner(Notification(self.tr("Export CSV"), self.tr(
                "Could not write %1: %2").replace("%1", str(target))
                .replace("%2", exc.strerror or str(exc))))
            return
        self._export_dir = target.parent
        self.show_banner(Notification(self.tr("Export CSV"), self.tr(
            "Saved %1 – %2 to %3").replace("%1", fmt.short_date(period.first_day))
            .replace("%2", fmt.short_date(period.last_day)).replace("%3", str(target))))

    def export_csv(self, path: Path) -> None:
        """Write the shown period (the period picker's) as CSV to `path`."""
        if self.snapshot is None:
            return
        from monitor.services.snapshot_csv import snapshot_csv  # the data layer, with the data

        path.write_text(snapshot_csv(self.snapshot), encoding="utf-8", newline="")

    # window chores ----------------------------------------------------------------------

    def bring_forward(self) -> None:
        self.show()
        self.setWindowState((self.windowState() & ~Qt.WindowState.WindowMinimized)
                            | Qt.WindowState.WindowActive)
        self.raise_()
        self.activateWindow()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._charts_due = True  # built once this frame has been painted ...
        QTimer.singleShot(CHARTS_AT_THE_LATEST_MS, self, self._build_overview)  # ... or by then

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self.painted_once:
            self.painted_once = True
            self.first_painted.emit()
        if self._charts_due:
            self._charts_due = False
            QTimer.singleShot(0, self, self._build_overview)

    @property
    def daily_chart(self) -> DailySpendChart:
        """The daily-spend chart (built now if the window has not built it yet)."""
        self.charts.build()
        assert self.charts.daily_chart is not None
        return self.charts.daily_chart

    @property
    def cumulative_chart(self) -> CumulativeChart:
        self.charts.build()
        assert self.charts.cumulative_chart is not None
        return self.charts.cumulative_chart

    def _build_overview(self) -> None:
        if self.isVisible() and not self.welcome_active:  # the welcome panel hides them
            self.charts.build()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        if not event.spontaneous():  # not a minimize by the window manager
            self.charts.release()  # closed to the tray: the charts go until it reopens
            self.hidden.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.hide_on_close:
            event.ignore()
            self.hide()
        else:
            event.accept()
            self.close_requested.emit()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
