"""The dashboard's header counters: today, the cycle against the limit, and prepaid credit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from monitor.gui import fmt, texts

if TYPE_CHECKING:
    from monitor.services.snapshot import DashboardSnapshot

BIG_STYLE = "font-size: 22px; font-weight: 600;"
SMALL_STYLE = "color: #5f6368;"


def _label(parent: QWidget, name: str, style: str = "", wrap: bool = False) -> QLabel:
    label = QLabel(parent)
    label.setObjectName(name)
    if style:
        label.setStyleSheet(style)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class _Card(QFrame):
    def __init__(self, title: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(8, 5, 8, 5)
        self.layout_.setSpacing(2)
        self.title = QLabel(title, self)
        self.title.setStyleSheet("font-weight: 600;")
        self.layout_.addWidget(self.title)


def _beside(card: _Card, big: QWidget, other: QWidget) -> None:
    """The big figure with `other` to its right: one row, not two (issue 25: at 800×500
    the header took half the window)."""
    row = QHBoxLayout()
    row.setSpacing(10)
    row.addWidget(big)
    row.addWidget(other, 1)
    card.layout_.addLayout(row)


class HeaderPanel(QWidget):
    """Counters at the top of the dashboard. `show_snapshot` fills every label.

    Kept to a strip: each card's big figure shares its row, the cycle's remaining and
    projection share a line, and so do the basis and the caching savings."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("header")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)

        today = _Card(self.tr("Today"), self)
        today.setObjectName("today-card")
        self.today_cost = _label(today, "today-cost", BIG_STYLE)
        self.today_requests = _label(today, "today-requests")
        self.today_tokens = QGridLayout()
        self.token_labels: dict[str, QLabel] = {}
        names = [("input", self.tr("Input")), ("cached", self.tr("Cached")),
                 ("output", self.tr("Output")), ("reasoning", self.tr("Reasoning"))]
        for i, (key, title) in enumerate(names):
            caption = QLabel(title, today)
            caption.setStyleSheet(SMALL_STYLE)
            value = _label(today, f"today-{key}")
            value.setAlignment(Qt.AlignmentFlag.AlignRight)
            self.token_labels[key] = value
            if i % 2:  # keep the second caption clear of the first column's number
                caption.setContentsMargins(14, 0, 0, 0)
            self.today_tokens.addWidget(caption, i // 2, (i % 2) * 2)
            self.today_tokens.addWidget(value, i // 2, (i % 2) * 2 + 1)
        self.today_requests.setWordWrap(True)
        _beside(today, self.today_cost, self.today_requests)
        today.layout_.addLayout(self.today_tokens)
        today.layout_.addStretch(1)
        self.today_card = today

        cycle = _Card(self.tr("This cycle"), self)
        cycle.setObjectName("cycle-card")
        self.cycle_title = cycle.title
        self.cycle_cost = _label(cycle, "cycle-cost", BIG_STYLE)
        self.cycle_bar = QProgressBar(cycle)
        self.cycle_bar.setObjectName("cycle-bar")
        self.cycle_bar.setRange(0, 1000)
        self.cycle_bar.setTextVisible(True)
        self.cycle_remaining = _label(cycle, "cycle-remaining", wrap=True)
        self.cycle_projection = _label(cycle, "cycle-projection", wrap=True)
        self.cycle_basis = _label(cycle, "cycle-basis", SMALL_STYLE, wrap=True)
        self.cycle_savings = _label(cycle, "cycle-savings", SMALL_STYLE, wrap=True)
        _beside(cycle, self.cycle_cost, self.cycle_bar)
        for left, right, share in ((self.cycle_remaining, self.cycle_projection, (2, 3)),
                                   (self.cycle_basis, self.cycle_savings, (3, 2))):
            line = QHBoxLayout()
            line.setSpacing(10)
            line.addWidget(left, share[0])
            line.addWidget(right, share[1])
            cycle.layout_.addLayout(line)
        cycle.layout_.addStretch(1)
        self.cycle_card = cycle

        credit = _Card(self.tr("Prepaid credit"), self)
        credit.setObjectName("credit-card")
        self.credit_remaining = _label(credit, "credit-remaining", BIG_STYLE)
        self.credit_detail = _label(credit, "credit-detail", wrap=True)
        credit.layout_.addWidget(self.credit_remaining)
        credit.layout_.addWidget(self.credit_detail)
        credit.layout_.addStretch(1)
        self.credit_card = credit

        row.addWidget(today, 3)
        row.addWidget(cycle, 4)
        row.addWidget(credit, 2)

    def show_snapshot(self, snap: DashboardSnapshot) -> None:
        t = snap.today
        self.today_card.title.setText(
            self.tr("Today (%1)").replace("%1", fmt.short_date(t.day)))
        self.today_cost.setText(fmt.usd(t.cost_usd))
        self.today_requests.setText(
            self.tr("%n request(s) · %1 tokens", "", t.requests)
            .replace(str(t.requests), f"{t.requests:,}", 1)
            .replace("%1", fmt.tokens(t.usage.total_tokens))
            + (f"\n{texts.unpriced_note(snap)}" if texts.unpriced_note(snap) else ""))
        u = t.usage
        for key, value in (("input", u.input_tokens), ("cached", u.cached_input_tokens),
                           ("output", u.output_tokens), ("reasoning", u.reasoning_tokens)):
            self.token_labels[key].setText(fmt.tokens(value))

        c = snap.cycle
        self.cycle_title.setText(
            self.tr("This cycle (%1 – %2)").replace("%1", fmt.short_date(c.start))
            .replace("%2", fmt.short_date(c.last_day)))
        self.cycle_cost.setText(
            self.tr("%1 of %2").replace("%1", fmt.usd(c.cost_usd))
            .replace("%2", fmt.usd(c.limit_usd, whole_if_integral=True)))
        frac = c.fraction if c.fraction is not None else 0.0
        self.cycle_bar.setValue(min(1000, round(frac * 1000)))
        self.cycle_bar.setFormat(fmt.percent(c.fraction))
        from monitor.gui import icons  # the tray's painter module: with the first figures

        colour = icons.fill_colour(c.state).name()
        self.cycle_bar.setStyleSheet(
            f"QProgressBar {{ border: 1px solid palette(mid); border-radius: 3px; "
            f"text-align: center; }} QProgressBar::chunk {{ background: {colour}; }}")
        if c.remaining_usd >= 0:
            self.cycle_remaining.setText(
                self.tr("Remaining: %1").replace("%1", fmt.usd(c.remaining_usd)))
        else:
            self.cycle_remaining.setText(
                self.tr("Over the limit by %1").replace("%1", fmt.usd(-c.remaining_usd)))
        self.cycle_projection.setText(texts.projection(c))
        if c.basis == "mixed":
            basis = (self.tr("Billed %1 + estimated %2 (days the Costs API has not billed yet)")
                     .replace("%1", fmt.usd(c.billed_usd)).replace("%2", fmt.usd(c.estimated_usd)))
        elif c.basis == "billed":
            basis = self.tr("All billed (Costs API)")
        else:
            basis = self.tr("Estimated from tokens × price (nothing billed yet)")
        self.cycle_basis.setText(basis)
        self.cycle_savings.setText(
            self.tr("Caching saved %1 this cycle").replace("%1", fmt.usd(c.cached_savings_usd)))

        cr = snap.credit
        self.credit_card.setVisible(cr is not None)
        if cr is not None:
            since = fmt.short_date(cr.purchased) if cr.purchased else "–"
            if cr.remaining_usd < 0:  # overspent: say so, never "-$123.12 of $100.00"
                self.credit_remaining.setText(self.tr("Used up"))
                lines = [self.tr("%1 over the %2 credit (spent %3 since %4)")
                         .replace("%1", fmt.usd(-cr.remaining_usd))
                         .replace("%2", fmt.usd(cr.amount_usd))
                         .replace("%3", fmt.usd(cr.spent_usd)).replace("%4", since)]
            else:
                self.credit_remaining.setText(fmt.usd(cr.remaining_usd))
                lines = [self.tr("of %1 (spent %2 since %3)")
                         .replace("%1", fmt.usd(cr.amount_usd))
                         .replace("%2", fmt.usd(cr.spent_usd))
                         .replace("%3", since)]
            if cr.days_to_expiry is not None:
                if cr.days_to_expiry < 0:
                    lines.append(self.tr("expired"))
                else:
                    lines.append(self.tr("expires in %n day(s)", "", cr.days_to_expiry))
            self.credit_detail.setText("\n".join(lines))
