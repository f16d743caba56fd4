"""The tokenizer pane's left side: mode and file buttons, the editor, the inline message, and
below it the shaded tokens (text mode) or the per-message table (chat mode).

Only widgets and how they show a result; the pane's controller (pane.py) decides what to
count and when.
"""

from __future__ import annotations

import html
import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetricsF, QTextCursor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QRadioButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from monitor.core.tokenizer_model import ChatAnalysis, TextAnalysis, TokenSample
from monitor.gui.tokenizer.editor import InputEdit
from monitor.gui.tokenizer.token_view import TokenView

ERROR_COLOUR = "#c62828"


class EditorSide(QWidget):
    """A splitter: editor and message above, tokens or chat messages below; plus `toolbar`
    (Text / Chat, Open file…, Clear), which the pane lays out above everything."""

    def __init__(self, direct_insert_chars: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tokenizer-editor-side")
        # -- top row: mode, file, clear. The pane places `toolbar` above the whole pane (it
        # would widen this side's minimum if it sat above the editor only).
        self.toolbar = QWidget(self)
        self.toolbar.setObjectName("tokenizer-toolbar")
        self.text_radio = QRadioButton(self.tr("Text"), self.toolbar)
        self.chat_radio = QRadioButton(self.tr("Chat messages (JSON)"), self.toolbar)
        self.text_radio.setChecked(True)
        self._mode_group = QButtonGroup(self)
        self._mode_group.addButton(self.text_radio)
        self._mode_group.addButton(self.chat_radio)
        self.open_button = QPushButton(self.tr("Open file…"), self.toolbar)
        self.clear_button = QPushButton(self.tr("Clear"), self.toolbar)
        top = QHBoxLayout(self.toolbar)
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.text_radio)
        top.addWidget(self.chat_radio)
        top.addStretch(1)
        top.addWidget(self.open_button)
        top.addWidget(self.clear_button)

        # -- editor and inline message
        self.editor = InputEdit(self)
        self.editor.direct_insert_max_chars = direct_insert_chars
        self.default_placeholder = self.tr(
            "Paste or type text here, or drop a UTF-8 text file. In chat mode, paste a JSON "
            'list of messages or {"messages": […], "tools": […]}.'
        )
        self.editor.setPlaceholderText(self.default_placeholder)
        self.editor.setTabStopDistance(QFontMetricsF(self.editor.font()).horizontalAdvance(" ") * 4)
        self.message_label = QLabel(self)
        self.message_label.setObjectName("tokenizer-message")
        self.message_label.setWordWrap(True)
        self.message_label.setTextFormat(Qt.TextFormat.RichText)
        self.message_label.setVisible(False)
        editor_box = QWidget(self)
        ev = QVBoxLayout(editor_box)
        ev.setContentsMargins(0, 0, 0, 0)
        ev.addWidget(self.editor, 1)
        ev.addWidget(self.message_label)

        self.lower_stack = QStackedWidget(self)
        self.lower_stack.addWidget(self._build_tokens_page())
        self.lower_stack.addWidget(self._build_chat_page())

        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(editor_box)
        split.addWidget(self.lower_stack)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(split, 1)

        self.whitespace_check.toggled.connect(self.token_view.set_show_whitespace)
        self.ids_check.toggled.connect(self.token_view.set_show_ids)

    def _build_tokens_page(self) -> QWidget:
        page = QWidget(self)
        tv = QVBoxLayout(page)
        tv.setContentsMargins(0, 0, 0, 0)
        header = QHBoxLayout()
        self.whitespace_check = QCheckBox(self.tr("Show whitespace"), page)
        self.ids_check = QCheckBox(self.tr("Show token IDs"), page)
        self.copy_ids_button = QPushButton(self.tr("Copy token IDs"), page)
        header.addWidget(QLabel("<b>" + self.tr("Tokens") + "</b>", page))
        header.addSpacing(8)
        header.addWidget(self.whitespace_check)
        header.addWidget(self.ids_check)
        header.addStretch(1)
        header.addWidget(self.copy_ids_button)
        self.shading_note = QLabel(page)
        self.shading_note.setObjectName("tokenizer-shading-note")
        self.shading_note.setWordWrap(True)
        self.shading_note.setVisible(False)
        self.token_view = TokenView(page)
        tv.addLayout(header)
        tv.addWidget(self.shading_note)
        tv.addWidget(self.token_view, 1)
        return page

    def _build_chat_page(self) -> QWidget:
        page = QWidget(self)
        cv = QVBoxLayout(page)
        cv.setContentsMargins(0, 0, 0, 0)
        cv.addWidget(QLabel("<b>" + self.tr("Messages") + "</b>", page))
        self.chat_table = QTableWidget(0, 3, page)
        self.chat_table.setObjectName("tokenizer-chat-table")
        self.chat_table.setHorizontalHeaderLabels(
            [self.tr("#"), self.tr("Role"), self.tr("Tokens")]
        )
        self.chat_table.verticalHeader().setVisible(False)
        self.chat_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.chat_table.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.Stretch
        )
        self.chat_summary = QLabel(page)
        self.chat_summary.setObjectName("tokenizer-chat-summary")
        self.chat_summary.setWordWrap(True)
        cv.addWidget(self.chat_table, 1)
        cv.addWidget(self.chat_summary)
        return page

    # ------------------------------------------------------------------------------------

    def show_chat_page(self, chat: bool) -> None:
        self.lower_stack.setCurrentIndex(1 if chat else 0)
        self.copy_ids_button.setEnabled(not chat)

    def show_message(self, text: str, *, error: bool = False, rich: bool = False) -> str:
        """Show (or, for "", hide) the inline message; returns it as plain text."""
        plain = html.unescape(re.sub(r"<[^>]+>", "", text)) if rich else text
        if not text:
            self.message_label.clear()
            self.message_label.setVisible(False)
        else:
            body = text if rich else html.escape(text)
            self.message_label.setText(f'<span style="color:{ERROR_COLOUR}">{body}</span>'
                                       if error else body)
            self.message_label.setVisible(True)
        return plain

    def show_sample(self, result: TextAnalysis) -> None:
        self.token_view.set_sample(result.sample)
        if result.shading_truncated:
            self.shading_note.setText(
                self.tr("Shading shows the first {shown} of {total} tokens; the count covers "
                        "all of them.").format(shown=f"{len(result.sample):,}",
                                               total=f"{result.tokens:,}")
            )
            self.shading_note.setVisible(True)
        else:
            self.shading_note.setVisible(False)

    def clear_sample(self) -> None:
        self.token_view.set_sample(TokenSample())
        self.shading_note.setVisible(False)

    def clear_chat(self) -> None:
        self.chat_table.setRowCount(0)
        self.chat_summary.setText("")

    def show_chat(self, result: ChatAnalysis) -> None:
        table = self.chat_table
        table.setRowCount(len(result.rows))
        for r, row in enumerate(result.rows):
            role = row.role + (f" ({row.name})" if row.name else "")
            for c, value in enumerate((str(row.index), role, f"{row.tokens:,}")):
                item = QTableWidgetItem(value)
                if c != 1:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                table.setItem(r, c, item)
        chat = result.chat
        parts = [
            self.tr("Messages: {n} (of which {overhead} per-message overhead)").format(
                n=f"{sum(chat.per_message):,}", overhead=f"{chat.message_overhead:,}"
            ),
            self.tr("Tools: {n}").format(n=f"{chat.tools_tokens:,}"),
            self.tr("Reply priming: {n}").format(n=f"{chat.reply_priming:,}"),
            "<b>" + self.tr("Total: {n}").format(n=f"{chat.total:,}") + "</b>",
        ]
        lines = [" · ".join(parts)]
        if chat.estimate:
            notes = "; ".join(chat.notes) or self.tr("rules not verified for this model")
            lines.append(self.tr("Estimate: {notes}").format(notes=html.escape(notes)))
        elif chat.notes:
            lines.append(html.escape("; ".join(chat.notes)))
        self.chat_summary.setText("<br>".join(lines))

    def set_detached(self, placeholder: str | None) -> None:
        """Read-only with `placeholder` while a text is counted outside the editor; None: back
        to normal editing."""
        self.editor.setReadOnly(placeholder is not None)
        self.editor.setPlaceholderText(self.default_placeholder if placeholder is None
                                       else placeholder)

    def go_to(self, line: int, column: int) -> None:
        """Put the cursor at 1-based `line`, `column` (e.g. where the JSON is broken)."""
        block = self.editor.document().findBlockByNumber(max(0, line - 1))
        if not block.isValid():
            return
        cursor = QTextCursor(block)
        cursor.movePosition(QTextCursor.MoveOperation.Right, QTextCursor.MoveMode.MoveAnchor,
                            max(0, min(column - 1, block.length() - 1)))
        self.editor.setTextCursor(cursor)
        self.editor.setFocus()
