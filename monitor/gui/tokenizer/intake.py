"""Getting text into the tokenizer pane: the sizes it switches strategy at, large pastes
and files prepared off the GUI thread, and the message for a text that could not be loaded.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QByteArray, QCoreApplication

from monitor.core.tokenizer_model import (
    ENCODING_TITLES,
    SHADE_LIMIT_TOKENS,
    Generation,
    PreparedText,
    TextFileError,
    decode_text,
    prepare_text,
)
from monitor.gui.tokenizer.editor import DIRECT_INSERT_MAX_CHARS

log = logging.getLogger(__name__)

DEBOUNCE_MS = 150
_READ_BLOCK_BYTES = 4 << 20


@dataclass(frozen=True)
class PaneLimits:
    """Sizes at which the pane changes strategy (tests shrink them)."""

    debounce_ms: int = DEBOUNCE_MS
    shade_tokens: int = SHADE_LIMIT_TOKENS
    # Pastes/drops above this many characters are normalised off-thread and inserted in slices.
    direct_insert_chars: int = DIRECT_INSERT_MAX_CHARS
    # A line longer than this makes every keystroke in QPlainTextEdit slow: count, don't edit.
    long_line_chars: int = 50_000
    # Texts above this are counted without being put in the editor.
    editor_max_chars: int = 32_000_000
    # Files above this are refused with a message (the CLI `count` streams any size).
    max_file_bytes: int = 256 * 1024 * 1024


@dataclass(frozen=True)
class Detached:
    """Text counted without being in the editor (too large, or lines too long)."""

    text: str
    label: str


def advance_all(generations: tuple[Generation, ...], *_args: object) -> None:
    for generation in generations:
        generation.advance()


def prepare_for_editor(text: str | QByteArray, long_line_chars: int) -> PreparedText:
    """Worker: a large text, or the UTF-8 bytes of a paste, ready for the editor."""
    if isinstance(text, QByteArray):
        text = decode_text(bytes(text.data()), "pasted text", lenient=True)
    return prepare_text(text, long_line_chars)


def read_text_file(path: Path, max_bytes: int, long_line_chars: int) -> PreparedText:
    """Worker: a dropped/opened file as prepared text (TextFileError/OSError otherwise)."""
    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_bytes:
            raise TextFileError(f"{path.name} is too big ({size:,} bytes)", "too_big",
                                offset=size)
        # Read in blocks: each read releases the GIL (one 50 MB read() held it ~35 ms).
        buffer = bytearray(size)
        view = memoryview(buffer)
        pos = 0
        while pos < size:
            n = fh.readinto(view[pos : pos + _READ_BLOCK_BYTES])
            if not n:
                break
            pos += n
    data = buffer if pos == size else bytes(view[:pos])
    return prepare_text(decode_text(data, path.name), long_line_chars)


def load_failure_text(exc: BaseException, name: str, max_file_bytes: int) -> str:
    """What the pane says when `name` (a file, or "" for a paste) could not be loaded."""
    if isinstance(exc, TextFileError):
        if exc.reason == "too_big":
            return QCoreApplication.translate(
                "TokenizerPane",
                "{name} is too big to open here ({mb} MB; the limit is {limit} MB). "
                "Count it with `token-monitor count FILE`.").format(
                name=name, mb=f"{exc.offset / 1e6:,.1f}", limit=f"{max_file_bytes / 1e6:,.0f}")
        if exc.reason in ("utf16", "utf32"):
            return QCoreApplication.translate(
                "TokenizerPane",
                "{name} is {kind} text. Only UTF-8 text can be counted; save it "
                "as UTF-8.").format(name=name, kind=ENCODING_TITLES[exc.reason])
        return QCoreApplication.translate(
            "TokenizerPane",
            "{name} is not UTF-8 text (byte 0x{byte} at offset {offset}), so "
            "it cannot be counted. Drop a text file instead.").format(
            name=name, byte=f"{exc.byte:02x}", offset=f"{exc.offset:,}")
    if isinstance(exc, IsADirectoryError):
        return QCoreApplication.translate(
            "TokenizerPane", "{name} is a folder, not a file.").format(name=name)
    if isinstance(exc, OSError):
        return QCoreApplication.translate(
            "TokenizerPane", "Cannot read {name}: {problem}").format(
            name=name, problem=exc.strerror or str(exc))
    log.error("loading text failed", exc_info=exc)
    return QCoreApplication.translate(
        "TokenizerPane", "Loading failed: {problem}").format(
        problem=f"{type(exc).__name__}: {exc}")
