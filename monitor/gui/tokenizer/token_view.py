"""The shaded token view: each token's text on a pastel background, ids on a toggle, hover info.

A custom-painted scroll area rather than a QTextEdit: laying out 20 000 tokens is a flat
Python loop over cached string widths, and painting touches only the visible lines, so neither
a new sample nor scrolling ever stalls the event loop the way 20 000 char formats in a
QTextDocument would.
"""

from __future__ import annotations

import bisect

from PySide6.QtCore import QEvent, QPoint, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QFontMetricsF,
    QHelpEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QToolTip, QWidget

from monitor.core.tokenizer_model import TokenSample

# OpenAI's tokenizer page colours (purple, green, orange, red, blue) as translucent fills, so
# they read as pastels on a light base and stay legible on a dark one.
PASTELS = (
    QColor(107, 64, 216, 77),
    QColor(104, 222, 122, 102),
    QColor(244, 172, 54, 102),
    QColor(239, 65, 70, 102),
    QColor(39, 181, 234, 102),
)
_MARGIN_PX = 6
# Tokens laid out per event-loop turn (~3 ms each on the reference machine; a screenful is
# a few hundred tokens, so the first slice fills the view).
LAYOUT_SLICE_TOKENS = 1500
_ID_GAP_PX = 6
_TAB = "    "
_REPLACEMENT = "\ufffd"

# Shown instead of characters that draw as nothing (controls) in both modes.
_CONTROL = {c: chr(0x2400 + c) for c in range(0x20)} | {0x7F: "\u2421"}
_CONTROL_NO_NL = {k: v for k, v in _CONTROL.items() if k not in (0x0A, 0x09)}
_PLAIN = str.maketrans(_CONTROL_NO_NL | {0x09: _TAB})
_WHITESPACE = str.maketrans(
    _CONTROL_NO_NL | {0x20: "\u00b7", 0x09: "\u2192", 0xA0: "\u237d", 0x0A: "\u21b5\n"}
)


def display_text(text: str, *, show_whitespace: bool) -> str:
    """What the view draws for a token's text ("\\n" still breaks the line)."""
    if not text:
        return _REPLACEMENT  # the trailing bytes of a character the previous token started
    return text.translate(_WHITESPACE if show_whitespace else _PLAIN)


class TokenView(QAbstractScrollArea):
    """Read-only, scrollable view of a `TokenSample`, one pastel box per token.

    Hovering a token outlines it and shows a tooltip with its position, id, text and byte
    length. No signals: the pane pushes state in with `set_sample` and the two toggles.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("token-view")
        self.viewport().setMouseTracking(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.viewport().setBackgroundRole(QPalette.ColorRole.Base)
        self.viewport().setAutoFillBackground(True)
        self._sample = TokenSample()
        self._show_ids = False
        self._show_whitespace = False
        self._hover = -1
        self._widths: dict[str, float] = {}
        self._laid_out_width = -1
        # Flat layout arrays, one entry per drawn run (a token may span several runs).
        self._run_x: list[float] = []
        self._run_w: list[float] = []
        self._run_token: list[int] = []
        self._run_text: list[str] = []
        # Index of each line's first run; the last line is open (ends at len(runs)).
        self._line_first_run: list[int] = [0]
        self._line_height = 1.0
        self._fm = QFontMetricsF(self.font())
        self._avail = 40.0
        self._x = 0.0
        self._next_token = 0
        self._layout_timer = QTimer(self)
        self._layout_timer.setObjectName("token-view-layout-timer")
        self._layout_timer.setSingleShot(True)
        self._layout_timer.setInterval(0)
        self._layout_timer.timeout.connect(self._layout_step)

    # -- state ----------------------------------------------------------------------------

    @property
    def sample(self) -> TokenSample:
        return self._sample

    def set_sample(self, sample: TokenSample) -> None:
        self._sample = sample
        self._hover = -1
        self._relayout()

    def set_show_ids(self, on: bool) -> None:
        if on != self._show_ids:
            self._show_ids = on
            self._relayout()

    def set_show_whitespace(self, on: bool) -> None:
        if on != self._show_whitespace:
            self._show_whitespace = on
            self._relayout()

    def token_display(self, index: int) -> str:
        """What is drawn for token `index` (its id in id mode, else its text as shown)."""
        if self._show_ids:
            return str(self._sample.ids[index])
        return display_text(self._sample.texts[index], show_whitespace=self._show_whitespace)

    def drawn_texts(self) -> list[str]:
        """The text of every drawn run, in order (tests and accessibility)."""
        return list(self._run_text)

    def line_count(self) -> int:
        return len(self._line_first_run) if self._run_x else 0

    def _line_runs(self, line: int) -> range:
        first = self._line_first_run
        end = first[line + 1] if line + 1 < len(first) else len(self._run_x)
        return range(first[line], end)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._widths.clear()
            self._relayout()

    def sizeHint(self) -> QSize:
        return QSize(400, 160)

    # -- layout ---------------------------------------------------------------------------

    def _width(self, text: str) -> float:
        w = self._widths.get(text)
        if w is None:
            w = self._widths[text] = self._fm.horizontalAdvance(text)
        return w

    def _relayout(self) -> None:
        """Start laying out from the first token; the first slice is done now, the rest in
        later event-loop turns (`_layout_timer`), so no sample size ever stalls the loop."""
        self._layout_timer.stop()
        self._fm = QFontMetricsF(self.font())
        if len(self._widths) > 200_000:
            self._widths.clear()
        self._line_height = self._fm.height() + 4
        self._avail = max(40.0, self.viewport().width() - 2 * _MARGIN_PX)
        self._laid_out_width = self.viewport().width()
        self._run_x, self._run_w, self._run_token, self._run_text = [], [], [], []
        self._line_first_run = [0]
        self._next_token = 0
        self._x = 0.0
        self._layout_step()

    def is_laid_out(self) -> bool:
        return self._next_token >= len(self._sample)

    def finish_layout(self) -> None:
        """Lay out every remaining token now (tests; callers that need all runs)."""
        while not self.is_laid_out():
            self._layout_step()

    def _place(self, token: int, seg: str, w: float) -> None:
        """Append run `seg` of `token`, wrapping first if it does not fit the line."""
        avail = self._avail
        while True:
            if self._x + w <= avail:
                self._run_x.append(self._x)
                self._run_w.append(w)
                self._run_token.append(token)
                self._run_text.append(seg)
                self._x += w
                return
            if self._x > 0:
                self._line_first_run.append(len(self._run_x))
                self._x = 0.0
                continue
            # A run wider than the whole line: cut it where it fits, go on with the rest.
            cut = max(1, int(len(seg) * avail / w))
            while cut > 1 and self._width(seg[:cut]) > avail:
                cut -= 1
            head = seg[:cut]
            self._run_x.append(0.0)
            self._run_w.append(self._width(head))
            self._run_token.append(token)
            self._run_text.append(head)
            self._line_first_run.append(len(self._run_x))
            seg = seg[cut:]
            if not seg:
                return
            w = self._width(seg)

    def _layout_step(self) -> None:
        start = self._next_token
        stop = min(len(self._sample), start + LAYOUT_SLICE_TOKENS)
        width = self._width
        xs, ws, toks, texts = self._run_x, self._run_w, self._run_token, self._run_text
        first = self._line_first_run
        avail = self._avail
        x = self._x
        if self._show_ids:
            ids = self._sample.ids
            for i in range(start, stop):
                seg = str(ids[i])
                w = width(seg)
                if x > 0 and x + w > avail:
                    first.append(len(xs))
                    x = 0.0
                xs.append(x)
                ws.append(w)
                toks.append(i)
                texts.append(seg)
                x += w + _ID_GAP_PX
            self._x = x
        else:
            table = _WHITESPACE if self._show_whitespace else _PLAIN
            sample_texts = self._sample.texts
            for i in range(start, stop):
                raw = sample_texts[i]
                shown = raw.translate(table) if raw else _REPLACEMENT
                if "\n" not in shown:
                    w = width(shown)
                    if x + w <= avail:  # the common case, inlined
                        xs.append(x)
                        ws.append(w)
                        toks.append(i)
                        texts.append(shown)
                        x += w
                        continue
                    self._x = x
                    self._place(i, shown, w)
                    x = self._x
                    continue
                self._x = x
                for j, seg in enumerate(shown.split("\n")):
                    if j:
                        first.append(len(xs))
                        self._x = 0.0
                    if seg:
                        self._place(i, seg, width(seg))
                x = self._x
            self._x = x
        self._next_token = stop
        self._update_scroll_range()
        self.viewport().update()
        if not self.is_laid_out():
            self._layout_timer.start()

    def _update_scroll_range(self) -> None:
        total_h = len(self._line_first_run) * self._line_height + 2 * _MARGIN_PX
        bar = self.verticalScrollBar()
        bar.setPageStep(max(1, self.viewport().height()))
        bar.setSingleStep(max(1, int(self._line_height)))
        bar.setRange(0, max(0, int(total_h - self.viewport().height())))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.viewport().width() != self._laid_out_width:
            self._relayout()
        else:
            self._update_scroll_range()

    # -- painting and hit testing ---------------------------------------------------------

    def _visible_lines(self, top: float, bottom: float) -> range:
        lh = self._line_height
        n_lines = len(self._line_first_run)
        first = max(0, int((top - _MARGIN_PX) // lh))
        last = min(n_lines, int((bottom - _MARGIN_PX) // lh) + 1)
        return range(first, last)

    def _run_rect(self, run: int, line: int, scroll: int) -> QRectF:
        y = _MARGIN_PX + line * self._line_height - scroll
        return QRectF(_MARGIN_PX + self._run_x[run], y + 1, self._run_w[run], self._line_height - 2)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self.viewport())
        painter.setFont(self.font())
        scroll = self.verticalScrollBar().value()
        rect = event.rect()
        text_pen = QPen(self.palette().color(QPalette.ColorRole.Text))
        hover_pen = QPen(self.palette().color(QPalette.ColorRole.Highlight), 1.5)
        pastels = PASTELS
        flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        for line in self._visible_lines(rect.top() + scroll, rect.bottom() + scroll):
            for run in self._line_runs(line):
                box = self._run_rect(run, line, scroll)
                token = self._run_token[run]
                painter.fillRect(box, pastels[token % len(pastels)])
                painter.setPen(text_pen)
                painter.drawText(box, flags, self._run_text[run])
                if token == self._hover:
                    painter.setPen(hover_pen)
                    painter.drawRect(box.adjusted(0.5, 0.5, -0.5, -0.5))
        painter.end()

    def token_at(self, pos: QPoint) -> int:
        """Index of the token drawn at viewport position `pos`, or -1."""
        if not self._run_x:
            return -1
        scroll = self.verticalScrollBar().value()
        line = int((pos.y() + scroll - _MARGIN_PX) // self._line_height)
        if not 0 <= line < len(self._line_first_run):
            return -1
        runs = self._line_runs(line)
        lo, hi = runs.start, runs.stop
        if lo >= hi:
            return -1
        x = pos.x() - _MARGIN_PX
        run = bisect.bisect_right(self._run_x, x, lo, hi) - 1
        if run < lo or x > self._run_x[run] + self._run_w[run]:
            return -1
        return self._run_token[run]

    def tooltip_text(self, index: int) -> str:
        """Position, id, text (escaped) and UTF-8 byte length of token `index`."""
        s = self._sample
        text = s.texts[index]
        if text:
            shown = "".join(
                c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
            )
            what = self.tr("Text: “{text}”").format(text=shown)
        else:
            what = self.tr("Text: the last bytes of the character before")
        return "\n".join(
            (
                self.tr("Token {n} of {total}").format(n=f"{index + 1:,}", total=f"{len(s):,}"),
                self.tr("ID: {id}").format(id=s.ids[index]),
                what,
                self.tr("{n} bytes").format(n=s.byte_lengths[index]),
            )
        )

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            index = self.token_at(event.pos())
            if index >= 0:
                QToolTip.showText(event.globalPos(), self.tooltip_text(index), self.viewport())
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        if event.type() == QEvent.Type.Leave and self._hover != -1:
            self._hover = -1
            self.viewport().update()
        return super().viewportEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        index = self.token_at(event.position().toPoint())
        if index != self._hover:
            self._hover = index
            self.viewport().update()
        super().mouseMoveEvent(event)

    def scrollContentsBy(self, _dx: int, _dy: int) -> None:
        self.viewport().update()
