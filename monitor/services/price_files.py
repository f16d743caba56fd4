"""The price table's files: the bundled `resources/prices.json` and the user's override.

Reading them is the only file I/O of pricing; the format, the merge and the table are in
`monitor.core.prices` (`schema`). The composition root (`AppContext.prices`) loads the table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from monitor.core.clock import Clock, system_clock
from monitor.core.local_files import read_local_text
from monitor.core.prices.schema import TableError, build_table, read_document, table_with_override
from monitor.core.prices.table import PriceTable
from monitor.errors import BugError

__all__ = ["bundled_document", "bundled_path", "load_price_table"]


def bundled_path() -> Path:
    from monitor import resources

    return resources.file_path("prices.json")


def load_price_table(override: Path | None = None, *, bundled: Path | None = None,
                     clock: Clock = system_clock) -> PriceTable:
    """The bundled price table, with the user's override file merged over it.

    Args:
        clock: the app's clock; it picks the prices in force when a caller gives no time.
        override: the user's prices.json (may not exist). A malformed override is ignored as a
            whole; `warnings` then names the file and the line/column or JSON path at fault.
        bundled: the table to start from (tests); default `resources/prices.json`.

    Raises:
        BugError: the bundled table is missing or invalid (a packaging bug, not the user's).
    """
    table = _load_table(override, bundled)
    table.clock = clock
    return table


def bundled_document(bundled: Path | None = None) -> dict[str, Any]:
    """The bundled table's checked document (what an override is merged over).

    Raises:
        BugError: the bundled table is missing or invalid.
    """
    return _bundled(bundled if bundled is not None else bundled_path())[0]


def _bundled(source: Path) -> tuple[dict[str, Any], PriceTable]:
    try:
        text = source.read_text(encoding="utf-8")
        doc = read_document(text, str(source))
        table = build_table(doc, str(source), "")
    except OSError as exc:
        raise BugError(f"bundled price table unreadable: {source}: {exc.strerror or exc}") from exc
    except TableError as exc:
        where = "" if str(exc).startswith(str(source)) else f"{source}: "
        raise BugError(f"bundled price table is invalid: {where}{exc}") from exc
    return doc, table


def _load_table(override: Path | None, bundled: Path | None) -> PriceTable:
    source = bundled if bundled is not None else bundled_path()
    doc, table = _bundled(source)
    if override is None or not override.exists():
        return table
    try:
        over_text = read_local_text(override)  # no FIFO, device or huge file
    except (OSError, UnicodeDecodeError) as exc:
        table.warnings.append(f"price override {override} could not be read ({exc}); "
                              "using the bundled prices")
        return table
    try:
        over = read_document(over_text, str(override))
        merged = table_with_override(doc, over, f"{source} + {override}", "user override")
    except TableError as exc:
        detail = str(exc)
        if not detail.startswith(str(override)):
            detail = f"{override}: {detail}"
        table.warnings.append(f"price override ignored, using the bundled prices: {detail}")
        return table
    return merged
