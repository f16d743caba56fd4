"""How the tokenizer writes tiny costs: enough digits that a $0.000025 text never reads as $0."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from monitor.gui import fmt


def cost_text(amount: Decimal | None) -> str:
    """`$12.34` from a cent up; below it two significant digits (`$0.0000025`, the one money
    rule of monitor.core.money); `$0` for nothing; `?` unknown."""
    if amount is not None and amount == 0:
        return "$0"
    return fmt.usd(amount)


def share_text(share: Decimal | None) -> str:
    """A fraction as a percentage with sensible precision: `0.042 %`, `3.1 %`, `250 %`."""
    if share is None:
        return "?"
    if share.is_infinite():
        return "∞"
    pct = share * 100
    if pct == 0:
        return "0 %"
    if pct >= 10:
        return f"{pct.quantize(Decimal(1), rounding=ROUND_HALF_UP):,f} %"
    places = max(1, -pct.adjusted() + 1)
    return f"{pct.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):f} %"
