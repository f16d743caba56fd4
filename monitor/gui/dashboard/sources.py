"""The sources pane: organization sync health and the proxy with its rate-limit headroom."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QProgressBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from monitor.gui import fmt, texts

if TYPE_CHECKING:  # the GUI starts without loading the sync client or the snapshot module
    from monitor.services.org_sync import SyncProgress
    from monitor.services.snapshot import DashboardSnapshot, RateLimitRow


ERROR_STYLE = "color: #c62828;"
NONE_STYLE = "color: #5f6368;"  # a neutral "none": no error is not an alarm


def _value(parent: QWidget, name: str) -> QLabel:
    label = QLabel(parent)
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class SourcesPane(QWidget):
    """Where the numbers come from and how fresh they are."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sources-pane")
        layout = QVBoxLayout(self)

        org = QGroupBox(self.tr("Organization usage (Usage and Costs APIs)"), self)
        form = QFormLayout(org)
        self.org_state = _value(org, "org-state")
        self.org_last = _value(org, "org-last-sync")
        self.org_next = _value(org, "org-next-sync")
        self.org_error = _value(org, "org-error")
        self.org_fresh = _value(org, "org-freshness")
        self.progress_box = QWidget(org)
        prow = QVBoxLayout(self.progress_box)
        prow.setContentsMargins(0, 0, 0, 0)
        self.progress_bar = QProgressBar(self.progress_box)
        self.progress_bar.setObjectName("sync-progress-bar")
        self.progress_text = _value(self.progress_box, "sync-progress")
        prow.addWidget(self.progress_bar)
        prow.addWidget(self.progress_text)
        self.progress_box.hide()
        form.addRow(self.tr("Status"), self.org_state)
        form.addRow(self.tr("Last sync"), self.org_last)
        form.addRow(self.tr("Next sync"), self.org_next)
        form.addRow(self.tr("Error"), self.org_error)
        form.addRow(self.tr("Freshness"), self.org_fresh)
        form.addRow(self.tr("Progress"), self.progress_box)
        self._progress_label = form.labelForField(self.progress_box)
        if self._progress_label is not None:
            self._progress_label.hide()
        layout.addWidget(org)

        proxy = QGroupBox(self.tr("Metering proxy"), self)
        pform = QFormLayout(proxy)
        self.proxy_address = _value(proxy, "proxy-address")
        self.proxy_requests = _value(proxy, "proxy-requests")
        self.proxy_error = _value(proxy, "proxy-error")
        pform.addRow(self.tr("Address"), self.proxy_address)
        self.proxy_metrics = _value(proxy, "proxy-metrics")
        pform.addRow(self.tr("Metrics"), self.proxy_metrics)
        pform.addRow(self.tr("Requests today"), self.proxy_requests)
        self.proxy_unmetered = _value(proxy, "proxy-unmetered")
        pform.addRow(self.tr("Without usage"), self.proxy_unmetered)
        self.proxy_spooled = _value(proxy, "proxy-spooled")
        pform.addRow(self.tr("Waiting to be stored"), self.proxy_spooled)
        pform.addRow(self.tr("Error"), self.proxy_error)
        self.proxy_notice = _value(proxy, "proxy-notice")  # e.g. OTLP export off: why
        self.proxy_notice.setStyleSheet("color: #8a5a00;")
        pform.addRow(self.tr("Note"), self.proxy_notice)
        self._proxy_form = pform
        self.limits = QTableWidget(0, 5, proxy)
        self.limits.setObjectName("rate-limits")
        self.limits.setHorizontalHeaderLabels([
            self.tr("Key"), self.tr("Model"), self.tr("Requests left"), self.tr("Tokens left"),
            self.tr("Resets in"),
        ])
        self.limits.verticalHeader().setVisible(False)
        self.limits.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.limits.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        pform.addRow(self.tr("Rate-limit headroom"), self.limits)
        layout.addWidget(proxy)
        layout.addStretch(1)

    def show_progress(self, progress: SyncProgress | None) -> None:
        """A running backfill's progress (windows, requests, elapsed); None hides it."""
        visible = progress is not None
        self.progress_box.setVisible(visible)
        if self._progress_label is not None:
            self._progress_label.setVisible(visible)
        if progress is None:
            return
        self.progress_bar.setRange(0, progress.windows_total)
        self.progress_bar.setValue(progress.windows_done)
        self.progress_text.setText(texts.sync_progress(progress))

    def show_snapshot(self, snap: DashboardSnapshot) -> None:
        now = snap.generated_at
        org = snap.org
        if not org.configured:
            self.org_state.setText(texts.org_status(org, now))
        elif org.syncing:
            self.org_state.setText(self.tr("Syncing…"))
        elif org.failing:
            self.org_state.setText(self.tr("Failing — showing the last data it had"))
        else:
            self.org_state.setText(self.tr("OK"))
        self.org_last.setText(fmt.when_text(org.last_success, now))
        self.org_next.setText(
            self.tr("now") if org.syncing else fmt.when_text(org.next_sync, now)
            if org.next_sync else "–")
        self._problem(self.org_error,
                      self.tr("%1 (at %2)").replace("%1", org.last_error or "")
                      .replace("%2", fmt.when_text(org.last_error_at, now))
                      if org.failing else None)
        self.org_fresh.setText(texts.complete_through(snap))

        p = snap.proxy
        if not p.enabled:
            self.proxy_address.setText(self.tr("Off (turn it on in Settings)"))
        elif p.address:
            self.proxy_address.setText(
                self.tr("%1 — set OPENAI_BASE_URL to this").replace("%1", p.address))
        else:
            self.proxy_address.setText(self.tr("starting…"))
        text = f"{p.requests_today:,}"
        if p.refused_or_failed_today:
            text += self.tr(" (%1 refused or failed)").replace(
                "%1", f"{p.refused_or_failed_today:,}")
        self.proxy_requests.setText(text)
        self.proxy_unmetered.setText(
            self.tr("%1 this cycle (%2 with input estimated from the request)")
            .replace("%1", f"{p.unmetered_cycle:,}").replace("%2", f"{p.estimated_cycle:,}")
            if p.unmetered_cycle else self.tr("none this cycle"))
        self._problem(self.proxy_spooled,
                      self.tr("%1 records in the spool (the database cannot take writes yet)")
                      .replace("%1", f"{p.spooled_records:,}") if p.spooled_records else None)
        self._problem(self.proxy_error, p.error)
        self.proxy_metrics.setText(p.metrics_url or "")
        self._proxy_form.setRowVisible(self.proxy_metrics, p.metrics_url is not None)
        self.proxy_notice.setText(p.notice or "")
        self._proxy_form.setRowVisible(self.proxy_notice, p.notice is not None)
        self._fill_limits(p.rate_limits)

    def _problem(self, label: QLabel, text: str | None) -> None:
        """Show `text` in red, or a grey "none" when there is nothing wrong (a red "–" read
        as an error)."""
        label.setText(text or self.tr("none"))
        label.setStyleSheet(ERROR_STYLE if text else NONE_STYLE)

    def _fill_limits(self, rows: tuple[RateLimitRow, ...]) -> None:
        self.limits.setRowCount(len(rows))
        for r, row in enumerate(rows):
            def left(rem: int | None, lim: int | None) -> str:
                if rem is None:
                    return "–"
                return f"{rem:,}" + (f" / {lim:,}" if lim is not None else "")

            resets = [s for s in (row.reset_requests_s, row.reset_tokens_s) if s is not None]
            cells = [row.key_label, row.model,
                     left(row.remaining_requests, row.limit_requests),
                     left(row.remaining_tokens, row.limit_tokens),
                     fmt.duration_s(max(resets)) if resets else "–"]
            for c, text in enumerate(cells):
                self.limits.setItem(r, c, QTableWidgetItem(text))
