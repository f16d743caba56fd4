"""The tokenizer pane, driven like a user would: typing, pasting, dropping, toggling, copying."""

from __future__ import annotations

import gc
import itertools
import json
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QKeyEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

import monitor.gui.tokenizer.pane as pane_module
from monitor.commands.tokenizer import build_window
from monitor.context import AppContext
from monitor.core.chat_tokens import count_chat
from monitor.core.tokenizer_model import ChatAnalysis, TextAnalysis
from monitor.core.tokens import get_encoding
from monitor.core.usage import TokenUsage
from monitor.gui.tasks import TaskRunner
from monitor.gui.tokenizer import PaneLimits, TokenizerPane
from monitor.gui.tokenizer.compat import protect_none
from monitor.gui.tokenizer.money import cost_text

# PySide6 6.12.0 on CPython 3.11 drops a reference to None on every void call; without this a
# long GUI session (this module types thousands of keys) aborts the whole pytest process.
protect_none()

pytestmark = pytest.mark.gui

FIXTURES = Path(__file__).parent.parent / "fixtures"
WAIT_MS = 20_000


def n_tokens(text: str, encoding: str = "o200k_base") -> int:
    return len(get_encoding(encoding).encode_ordinary(text))


def make_pane(qtbot: QtBot, ctx: AppContext, runner: TaskRunner, **limits: Any) -> TokenizerPane:
    pane = TokenizerPane(ctx, runner, limits=PaneLimits(**limits))
    qtbot.addWidget(pane)
    pane.resize(1100, 750)
    pane.show()
    settle(qtbot, pane)
    return pane


def settle(qtbot: QtBot, pane: TokenizerPane) -> None:
    qtbot.waitUntil(lambda: not pane.busy, timeout=WAIT_MS)


def shown_count(pane: TokenizerPane) -> int:
    """The token count as the big label shows it."""
    return int(pane.tokens_label.text().split()[0].replace(",", ""))


def mixed_text(n_chars: int) -> str:
    unit = (
        "The quick brown fox jumps over the lazy dog; costs are per 1M tokens.\n"
        "def total(xs: list[int]) -> int:\n    return sum(x * 2 for x in xs)  # <|endoftext|>\n"
        "我们今天讨论令牌计数器如何在大型文本中保持流畅。人工智能模型按令牌收费。\n"
    )
    return (unit * (n_chars // len(unit) + 1))[:n_chars]


def type_text(qtbot: QtBot, widget: Any, text: str) -> None:
    """Type like a keyboard would; QTest.keyClicks asserts on non-ASCII characters, so those
    arrive as key events carrying their text (as an input method delivers them)."""
    for ch in text:
        if ch.isascii():
            qtbot.keyClicks(widget, ch)
            continue
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(
                widget, QKeyEvent(kind, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, ch)
            )


def drop_urls(widget: Any, paths: list[Path]) -> None:
    """A real drag-enter + drop of local files onto `widget`."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(20, 20)
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)


# ------------------------------------------------------------------------------------------


def test_typing_gives_tiktokens_count(qtbot: QtBot, ctx: AppContext, runner: TaskRunner) -> None:
    pane = make_pane(qtbot, ctx, runner)
    assert pane.model() == ctx.prices().default_model == "gpt-4o"
    assert pane.encoding_label.text() == "o200k_base"
    text = "Hello, world! Counting tokens: 12345 <|endoftext|> café 你好"
    type_text(qtbot, pane.editor, text)
    assert pane.editor.toPlainText() == text
    settle(qtbot, pane)
    result = pane.result
    assert isinstance(result, TextAnalysis)
    assert result.tokens == n_tokens(text) == shown_count(pane)
    assert result.characters == len(text)
    assert pane.characters_label.text() == f"{len(text):,}"
    assert pane.per_word_label.text() == f"{result.tokens / result.words:.2f}"
    assert pane.message == ""


def test_switching_model_or_encoding_recounts(
    qtbot: QtBot, ctx: AppContext, runner: TaskRunner
) -> None:
    pane = make_pane(qtbot, ctx, runner)
    text = "Tokenizers differ: 東京タワー and naïve résumé — 3.14159 <|fim_prefix|>"
    pane.set_text(text)
    settle(qtbot, pane)
    assert shown_count(pane) == n_tokens(text, "o200k_base")

    with qtbot.waitSignal(pane.analysis_updated, timeout=WAIT_MS) as blocker:
        pane.model_combo.setCurrentIndex(pane.model_combo.findData("gpt-4"))
    assert blocker.args[0].encoding == "cl100k_base"
    assert pane.encoding_label.text() == "cl100k_base"
    assert shown_count(pane) == n_tokens(text, "cl100k_base") != n_tokens(text, "o200k_base")

    with qtbot.waitSignal(pane.analysis_updated, timeout=WAIT_MS):
        pane.encoding_combo.setCurrentIndex(pane.encoding_combo.findData("o200k_base"))
    assert shown_count(pane) == n_tokens(text, "o200k_base")

    with qtbot.waitSignal(pane.analysis_updated, timeout=WAIT_MS):
        pane.encoding_combo.setCurrentIndex(0)  # back to the model's own encoding
    assert shown_count(pane) == n_tokens(text, "cl100k_base")


def test_chat_mode_equals_engine(qtbot: QtBot, ctx: AppContext, runner: TaskRunner) -> None:
    pane = make_pane(qtbot, ctx, runner)
    messages = (FIXTURES / "cookbook_messages.json").read_text(encoding="utf-8")
    tools = (FIXTURES / "cookbook_tools.json").read_text(encoding="utf-8")
    pane.set_chat_mode(True)
    pane.set_text(messages)
    settle(qtbot, pane)
    result = pane.result
    assert isinstance(result, ChatAnalysis)
    engine = count_chat(messages, "gpt-4o", ctx.prices())
    assert result.chat == engine and shown_count(pane) == engine.total == 124
    assert pane.chat_table.rowCount() == len(engine.per_message)
    assert [pane.chat_table.item(r, 2).text() for r in range(6)] == [
        f"{n:,}" for n in engine.per_message
    ]
    assert pane.chat_table.item(1, 1).text() == "system (example_user)"
    assert "Total: 124" in pane.chat_summary.text()
    assert "Reply priming: 3" in pane.chat_summary.text()

    pane.set_text(tools)
    settle(qtbot, pane)
    engine = count_chat(tools, "gpt-4o", ctx.prices())
    assert shown_count(pane) == engine.total == 101
    assert f"Tools: {engine.tools_tokens}" in pane.chat_summary.text()

    with qtbot.waitSignal(pane.analysis_updated, timeout=WAIT_MS):
        pane.set_model("gpt-4")  # the cookbook's overheads differ per model family
    assert shown_count(pane) == count_chat(tools, "gpt-4", ctx.prices()).total == 105


def test_chat_json_error_is_shown_inline(
    qtbot: QtBot, ctx: AppContext, runner: TaskRunner
) -> None:
    pane = make_pane(qtbot, ctx, runner)
    pane.set_chat_mode(True)
    pane.set_text('[{"role": "user", "content": "hi"},\n {"role": "user", "content": }]')
    settle(qtbot, pane)
    assert pane.result is None
    assert "line 2, column" in pane.message and pane.message_label.isVisible()
    assert pane.tokens_label.text() == "–"
    # no dollars for a prompt that could not be counted (issue 16)
    assert pane.budget.estimate is None and "$" not in pane.budget.result.text()
    assert pane.budget.result.text() == "No estimate until the text can be counted."
    pane.message_label.linkActivated.emit("goto")
    assert pane.editor.textCursor().blockNumber() == 1

    pane.set_text('[{"role": "user", "content": "hi"}]')
    settle(qtbot, pane)
    assert pane.message == "" and not pane.message_label.isVisible()
    assert shown_count(pane) == count_chat('[{"role": "user", "content": "hi"}]', "gpt-4o").total
    assert pane.budget.estimate is not None and "$" in pane.budget.result.text()


def test_token_view_shows_ids_whitespace_and_tooltips(
    qtbot: QtBot, ctx: AppContext, runner: TaskRunner
) -> None:
    pane = make_pane(qtbot, ctx, runner)
    text = "Shading tokens\tlike the tokenizer page.\nSecond line: 42 + 58 = 100"
    ids = get_encoding("o200k_base").encode_ordinary(text)
    pane.set_text(text)
    settle(qtbot, pane)
    view = pane.token_view
    view.finish_layout()
    assert view.sample.ids == tuple(ids)
    assert "".join(view.sample.texts) == text
    assert view.line_count() == 2
    assert "\t" not in "".join(view.drawn_texts())  # tabs are drawn as spaces

    qtbot.mouseClick(pane.ids_check, Qt.MouseButton.LeftButton)
    assert pane.ids_check.isChecked()
    view.finish_layout()
    assert view.drawn_texts() == [str(i) for i in ids]

    pane.ids_check.setChecked(False)
    pane.whitespace_check.setChecked(True)
    view.finish_layout()
    drawn = "".join(view.drawn_texts())
    assert "Shading·tokens→like" in drawn and "page.↵" in drawn

    # Hovering the first token: its id, text and byte length.
    index = view.token_at(view.viewport().rect().topLeft() + QPointF(8, 8).toPoint())
    assert index == 0
    tip = view.tooltip_text(0)
    assert f"ID: {ids[0]}" in tip and "“Sh" in tip and "bytes" in tip


def test_stale_results_never_overwrite_newer(
    qtbot: QtBot, ctx: AppContext, runner: TaskRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    pane = make_pane(qtbot, ctx, runner)
    first, second = "an old text", "the newer text, which is counted quickly and shown"
    gate = threading.Event()
    real = pane_module.analyze_text

    def slow_for_first(text: str, encoding: str, **kw: Any) -> TextAnalysis:
        if text == first:
            gate.wait(WAIT_MS / 1000)
            kw["cancelled"] = None  # a worker that does not notice it was superseded
        return real(text, encoding, **kw)

    monkeypatch.setattr(pane_module, "analyze_text", slow_for_first)
    pane.set_text(first)
    qtbot.waitUntil(lambda: not pane._debounce.isActive() and runner.active == 1,
                    timeout=WAIT_MS)  # the first count is running (and held)
    pane.set_text(second)
    settle(qtbot, pane)
    assert shown_count(pane) == n_tokens(second)
    gate.set()
    qtbot.waitUntil(lambda: pane.stale_results_dropped >= 1, timeout=WAIT_MS)
    assert shown_count(pane) == n_tokens(second) != n_tokens(first)
    assert isinstance(pane.result, TextAnalysis) and pane.result.tokens == n_tokens(second)


def test_fast_typing_ends_on_the_final_count(
    qtbot: QtBot, ctx: AppContext, runner: TaskRunner
) -> None:
    pane = make_pane(qtbot, ctx, runner, debounce_ms=1)  # a request after nearly every key
    updates: list[int] = []
    pane.analysis_updated.connect(lambda r: updates.append(r.tokens))
    text = "Typing quickly: every keystroke supersedes the last count. 12 34 56!"
    qtbot.keyClicks(pane.editor, text, delay=1)
    settle(qtbot, pane)
    assert shown_count(pane) == n_tokens(text)
    assert updates and updates[-1] == n_tokens(text)


@pytest.mark.no_faketime  # an event-loop timing test, no date logic (see pyproject: no_faketime)
def test_large_paste_keeps_event_loop_running(
    qtbot: QtBot, ctx: AppContext, runner: TaskRunner
) -> None:
    pane = make_pane(qtbot, ctx, runner)  # the encoding is loaded now (that stall is once)
    text = mixed_text(3_000_000)
    expected = n_tokens(text)
    QGuiApplication.clipboard().setText(text)
    gc.collect()  # garbage other tests left (a full pass over it took 0.58 s once): not ours
    ticks: list[float] = []
    probe = QTimer()
    probe.setObjectName("test-probe-timer")
    probe.setInterval(5)
    probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
    probe.start()
    try:
        ticks.append(time.perf_counter())
        pane.editor.paste()
        qtbot.waitUntil(lambda: not pane.busy and pane.result is not None
                        and pane.result.tokens == expected, timeout=60_000)
        ticks.append(time.perf_counter())
    finally:
        probe.stop()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 20
    assert max(gaps) < 0.25, f"event loop stalled {max(gaps) * 1000:.0f} ms"
    assert pane.editor.document().characterCount() == len(text) + 1
    assert shown_count(pane) == expected
    assert pane.shading_note.isVisible()
    assert f"{expected:,}" in pane.shading_note.text()


def test_dropping_files(qtbot: QtBot, ctx: AppContext, runner: TaskRunner,
                        tmp_path: Path) -> None:
    pane = make_pane(qtbot, ctx, runner)
    binary = tmp_path / "photo.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    with qtbot.waitSignal(pane.message_changed, timeout=WAIT_MS):
        drop_urls(pane.editor.viewport(), [binary])
    assert "photo.png is not UTF-8 text (byte 0x89 at offset 0)" in pane.message
    assert pane.editor.toPlainText() == ""

    utf16 = tmp_path / "notes.txt"
    utf16.write_text("hello", encoding="utf-16")
    with qtbot.waitSignal(pane.message_changed, timeout=WAIT_MS):
        drop_urls(pane.editor.viewport(), [utf16])
    assert "UTF-16" in pane.message

    good = tmp_path / "readme.md"
    content = "# Title\r\nSome *markdown* text.\r\nWith CRLF line ends and NUL \x00.\r\n"
    good.write_bytes(content.encode("utf-8"))
    drop_urls(pane.editor.viewport(), [good, binary])
    settle(qtbot, pane)
    normalized = content.replace("\r\n", "\n")
    assert pane.editor.toPlainText() == normalized
    assert shown_count(pane) == n_tokens(normalized)
    assert "Only the first of 2 files is opened." in pane.message
    assert "Line endings were converted" in pane.message


def test_bad_input_never_crashes(qtbot: QtBot, ctx: AppContext, runner: TaskRunner) -> None:
    pane = make_pane(qtbot, ctx, runner)
    assert shown_count(pane) == 0  # the empty text

    specials = "<|endoftext|><|endofprompt|> <|fim_prefix|>"
    pane.set_text(specials)
    settle(qtbot, pane)
    assert shown_count(pane) == n_tokens(specials) > 3 and pane.message == ""

    nul = "a\x00b\x00\x00c"
    pane.set_text(nul)
    settle(qtbot, pane)
    assert shown_count(pane) == n_tokens(nul)
    pane.token_view.finish_layout()
    assert "␀" in "".join(pane.token_view.drawn_texts())

    pane.set_text("lone \ud800 surrogate \udfff here")  # Qt drops lone surrogates
    settle(qtbot, pane)
    assert shown_count(pane) == n_tokens(pane.editor.toPlainText())

    pane.set_text("")
    settle(qtbot, pane)
    assert shown_count(pane) == 0 and pane.per_word_label.text() == "–"


def test_whitespace_run_tiktoken_cannot_split(
    qtbot: QtBot, ctx: AppContext, runner: TaskRunner
) -> None:
    """tiktoken 0.14 panics on ~1 M spaces in one piece: a message (or a count), no crash."""
    pane = make_pane(qtbot, ctx, runner)
    pane.set_text(" " * 1_000_000)  # one line of 1 M characters: counted outside the editor
    settle(qtbot, pane)
    assert pane.editor.isReadOnly()
    if pane.result is None:
        assert "tiktoken could not tokenize" in pane.message
    else:
        assert pane.result.tokens > 0
    pane.clear_button.click()
    pane.set_text("fine again")
    settle(qtbot, pane)
    assert shown_count(pane) == n_tokens("fine again") and pane.message == ""


def test_long_lines_and_huge_texts_are_counted_outside_the_editor(
    qtbot: QtBot, ctx: AppContext, runner: TaskRunner, tmp_path: Path
) -> None:
    pane = make_pane(qtbot, ctx, runner, direct_insert_chars=100, long_line_chars=1000,
                     max_file_bytes=50_000)
    minified = "var a=1;" * 2000  # one 16,000-character line
    path = tmp_path / "app.min.js"
    path.write_text(minified, encoding="utf-8")
    pane.open_file(path)
    settle(qtbot, pane)
    assert shown_count(pane) == n_tokens(minified)
    assert pane.editor.isReadOnly() and pane.editor.toPlainText() == ""
    assert "16,000 characters" in pane.message and "not shown in the editor" in pane.message

    small = tmp_path / "small.txt"
    small.write_text("dropped while the editor is read-only", encoding="utf-8")
    drop_urls(pane, [small])  # the pane itself takes file drops
    settle(qtbot, pane)
    assert pane.editor.toPlainText() == small.read_text(encoding="utf-8")
    assert not pane.editor.isReadOnly()
    assert shown_count(pane) == n_tokens(small.read_text(encoding="utf-8"))

    pane.open_file(path)
    settle(qtbot, pane)
    assert pane.editor.isReadOnly()
    pane.clear_button.click()
    settle(qtbot, pane)
    assert not pane.editor.isReadOnly() and shown_count(pane) == 0

    big = tmp_path / "big.txt"
    big.write_text("x\n" * 30_000, encoding="utf-8")
    with qtbot.waitSignal(pane.message_changed, timeout=WAIT_MS):
        pane.open_file(big)
    assert "too big" in pane.message and "token-monitor count" in pane.message

    missing = tmp_path / "gone.txt"
    with qtbot.waitSignal(pane.message_changed, timeout=WAIT_MS):
        pane.open_file(missing)
    assert "Cannot read gone.txt" in pane.message


def test_paste_over_the_limit_is_loaded_in_slices(
    qtbot: QtBot, ctx: AppContext, runner: TaskRunner
) -> None:
    pane = make_pane(qtbot, ctx, runner, direct_insert_chars=1000)
    pane.editor.setPlainText("head ")
    settle(qtbot, pane)
    cursor = pane.editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.End)
    pane.editor.setTextCursor(cursor)
    pasted = mixed_text(400_000)
    QGuiApplication.clipboard().setText(pasted)
    pane.editor.paste()
    assert pane.busy
    settle(qtbot, pane)
    assert pane.editor.toPlainText() == "head " + pasted
    assert shown_count(pane) == n_tokens("head " + pasted)
    pane.editor.undo()  # one undo step takes the whole paste back
    settle(qtbot, pane)
    assert pane.editor.toPlainText() == "head "


def test_costs_context_bar_and_budget(qtbot: QtBot, ctx: AppContext, runner: TaskRunner) -> None:
    pane = make_pane(qtbot, ctx, runner)
    table = ctx.prices()
    text = "hello " * 9000  # 9,000 tokens: past gpt-4's 8,192-token window
    pane.set_text(text)
    settle(qtbot, pane)
    n = shown_count(pane)
    assert n == n_tokens(text)
    usd: Callable[..., Decimal | None] = lambda usage, **kw: table.cost(  # noqa: E731
        "gpt-4o", usage, **kw).usd
    assert pane.cost_labels["input/standard"].text() == cost_text(
        usd(TokenUsage(input_tokens=n)))
    assert pane.cost_labels["output/standard"].text().rstrip("*") == cost_text(
        usd(TokenUsage(output_tokens=n)))
    assert pane.cost_labels["input/batch"].text().rstrip("*") == cost_text(
        usd(TokenUsage(input_tokens=n), batch=True))
    assert pane.cost_labels["cached_input/standard"].text().rstrip("*") == cost_text(
        usd(TokenUsage(input_tokens=n, cached_input_tokens=n)))
    assert pane.context_bar.property("over") is False

    with qtbot.waitSignal(pane.analysis_updated, timeout=WAIT_MS):
        pane.set_model("gpt-4")
    assert pane.context_bar.property("over") is True
    assert "over the context window" in pane.context_label.text()
    assert pane.cost_labels["cached_input/standard"].text() == "–"  # gpt-4 has no cache price

    pane.set_model("gpt-4o")
    settle(qtbot, pane)
    budget = pane.budget
    budget.calls_per_day.setValue(200)
    budget.tier.setCurrentIndex(budget.tier.findData("batch"))
    budget.cached_pct.setValue(50)
    monthly = usd(TokenUsage(input_tokens=n * 6000, cached_input_tokens=n * 3000), batch=True)
    assert budget.estimate is not None and budget.estimate.monthly_usd == monthly
    assert "of the $120.00 monthly limit" in budget.result.text()  # no remaining figure yet
    pane.remaining_budget_usd = Decimal("25")
    assert "of the $25.00 left this month" in budget.result.text()
    assert budget.estimate.share_of_remaining == monthly / Decimal(25)

    pane.set_model("gpt-realtime")  # no Batch API for realtime models
    settle(qtbot, pane)
    assert "Batch API is not offered for gpt-realtime" in budget.result.text()


def test_copy_buttons(qtbot: QtBot, ctx: AppContext, runner: TaskRunner) -> None:
    pane = make_pane(qtbot, ctx, runner, shade_tokens=5)
    text = "Copy the count and the token ids of this little text, please."
    ids = get_encoding("o200k_base").encode_ordinary(text)
    pane.set_text(text)
    settle(qtbot, pane)
    clipboard = QGuiApplication.clipboard()
    pane.copy_count_button.click()
    assert clipboard.text() == str(len(ids))
    assert pane.shading_note.isVisible() and len(pane.token_view.sample) == 5

    clipboard.setText("")
    pane.copy_ids_button.click()  # more ids than the sample: prepared off-thread
    qtbot.waitUntil(lambda: clipboard.text() != "", timeout=WAIT_MS)
    assert json.loads(clipboard.text()) == ids
    assert f"Copied {len(ids)} token IDs" in pane.message


def test_tokenizer_command_window(qtbot: QtBot, ctx: AppContext, tmp_path: Path) -> None:
    path = tmp_path / "sample.txt"
    path.write_text("Open me from the command line.\n", encoding="utf-8")
    window, pane, runner = build_window(ctx, path)
    qtbot.addWidget(window)
    settle(qtbot, pane)
    assert shown_count(pane) == n_tokens("Open me from the command line.\n")
    assert window.windowTitle().startswith("Tokenizer")
    pane.shutdown()
    runner.wait(5000)


def test_counted_in_line_says_when_the_count_also_loaded_the_encoding(
    qtbot: QtBot, ctx: AppContext, runner: TaskRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.core import encodings, tokens

    monkeypatch.setattr(encodings, "_encodings", {})  # as in a fresh process
    pane = TokenizerPane(ctx, runner, limits=PaneLimits())
    qtbot.addWidget(pane)
    pane.show()
    # Opening the pane starts loading the encoding off the GUI thread, before any text.
    qtbot.waitUntil(lambda: tokens.encoding_ready("o200k_base"), timeout=WAIT_MS)
    settle(qtbot, pane)
    assert isinstance(pane.result, TextAnalysis) and pane.result.load_s > 0
    assert "loaded the encoding first" in pane.status_label.text()
    pane.set_text("a short paste, counted with the encoding already loaded")
    settle(qtbot, pane)
    status = pane.status_label.text()
    assert "counted in" in status and "loaded the encoding" not in status
    assert pane.result is not None and pane.result.load_s == 0


def test_a_paste_counts_without_the_typing_debounce(
    qtbot: QtBot, ctx: AppContext, runner: TaskRunner
) -> None:
    pane = make_pane(qtbot, ctx, runner, debounce_ms=5_000)
    QGuiApplication.clipboard().setText("pasted words count at once")
    pane.editor.paste()
    qtbot.waitUntil(lambda: not pane.busy, timeout=2_000)  # far less than the debounce
    assert shown_count(pane) == n_tokens("pasted words count at once")
    qtbot.keyClicks(pane.editor, "x")
    qtbot.wait(300)
    assert pane._debounce.isActive()  # a keystroke waits for the (long) debounce


def test_special_token_strings_get_a_note(qtbot: QtBot, ctx: AppContext,
                                          runner: TaskRunner) -> None:
    """Issue 25: `<|endoftext|>` in the text is counted as plain text (as the API counts it in
    a request), and the pane says so; a string special only in another encoding is not."""
    pane = make_pane(qtbot, ctx, runner)
    note = pane.results.special_note
    pane.editor.setPlainText("a <|fim_prefix|> b <|endoftext|> c <|endofprompt|> <|endoftext|>")
    settle(qtbot, pane)
    assert isinstance(pane.result, TextAnalysis) and pane.result.encoding == "o200k_base"
    assert pane.result.tokens == n_tokens(pane.editor.toPlainText())  # as plain text
    assert not note.isHidden()
    assert "<|endoftext|>, <|endofprompt|>" in note.text() and "fim_prefix" not in note.text()
    assert "plain text" in note.text() and "API" in note.text()
    pane.editor.setPlainText("no special tokens <| here |>")
    settle(qtbot, pane)
    assert note.isHidden()
