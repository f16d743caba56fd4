"""How every dollar amount is written: one rounding rule for the CLI, the GUI and CSV export.

The rule: amounts are rounded **half up** (away from zero on a tie, as people round by hand
and as invoices do) to whole cents, so $48.105 reads `$48.11` everywhere. A non-zero amount
under a cent keeps two significant digits (at least four places: `$0.0042`, `$0.0000025`) so
it never reads as $0. Callers may ask for more places (`places=4`) but never another rounding.

JSON is different: it carries the exact amount as a plain decimal number (never `Infinity`,
`NaN` or exponent notation; see `json_number`), and readers round it themselves.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal

ROUNDING = ROUND_HALF_UP
CENT_PLACES = 2
SUBCENT_MIN_PLACES = 4
# Prices are per 1M tokens; no model costs anywhere near this. Keeps `1e999999999` out.
MAX_PRICE_PER_M = Decimal(10_000)


def _quantize(amount: Decimal, places: int) -> Decimal:
    # Enough precision for any finite amount: quantize raises when the result needs more
    # digits than the context holds (28 by default, i.e. $1e26 at cents).
    digits = max(28, amount.adjusted() + places + 2)
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUNDING,
                           context=Context(prec=digits))


def display_places(amount: Decimal, places: int = CENT_PLACES) -> int:
    """Places `amount` is shown with: `places`, or enough for two significant digits of a
    non-zero amount that would otherwise round to zero."""
    if amount == 0 or abs(amount) >= Decimal(1).scaleb(-places):
        return places
    return max(places, SUBCENT_MIN_PLACES, -abs(amount).adjusted() + 1)


def round_money(amount: Decimal, places: int = CENT_PLACES) -> Decimal:
    """`amount` rounded by the rule (half up) to the places it is displayed with."""
    return _quantize(amount, display_places(amount, places))


def usd(amount: Decimal | None, *, places: int = CENT_PLACES, unknown: str = "?",
        whole_if_integral: bool = False) -> str:
    """`$1,234.57`, `-$3.10`, `$0.0042`; `$120` for an integral amount when
    `whole_if_integral` (limits); `unknown` for None or a non-finite amount."""
    if amount is None or not amount.is_finite():
        return unknown
    sign = "-" if amount < 0 else ""
    a = abs(amount)
    if whole_if_integral and a == a.to_integral_value():
        return f"{sign}${int(a):,}"
    return f"{sign}${round_money(a, places):,f}"


def is_nil_difference(difference: Decimal) -> bool:
    """A difference that rounds to $0.00 (under half a cent): "matches", never `-$0.000000075`."""
    return _quantize(difference, CENT_PLACES) == 0


def signed_usd(difference: Decimal | None, *, minus: str = "-", unknown: str = "?") -> str:
    """A difference in whole cents with its sign: `+$1.20`, `-$35.76`; `$0.00` under half a
    cent (float noise and rounding never show as a tiny non-zero difference)."""
    if difference is None or not difference.is_finite():
        return unknown
    if is_nil_difference(difference):
        return "$0.00"
    sign = "+" if difference > 0 else minus
    return f"{sign}${_quantize(abs(difference), CENT_PLACES):,f}"


def usd_whole(amount: Decimal | None, *, unknown: str = "?") -> str:
    """Whole dollars, same rounding (projections: `$131`)."""
    if amount is None or not amount.is_finite():
        return unknown
    return f"${int(_quantize(amount, 0)):,}"


def plain(amount: Decimal | None, places: int = CENT_PLACES) -> str:
    """The amount as `usd` rounds it, without `$` or grouping, for CSV (`1234.57`);
    empty for None or a non-finite amount."""
    if amount is None or not amount.is_finite():
        return ""
    return f"{round_money(amount, places):f}"


JSON_PLACES = 9  # nano-dollars: exact for every per-token price in the table


def json_usd(amount: Decimal | None) -> Decimal | None:
    """A dollar figure for the JSON contracts (`usage`, `status`): half up to JSON_PLACES, the
    same for every run, so no float noise or trailing digits of a division reach the output."""
    return None if amount is None else amount.quantize(Decimal(1).scaleb(-JSON_PLACES),
                                                       rounding=ROUNDING)


def json_number(value: Decimal, places: int | None = None) -> str | None:
    """The value as JSON number text in plain notation (`0.0000025`, `1000000`), rounded half
    up to `places` decimals when given (else exact), or None when it has no JSON form (NaN,
    infinity): the caller writes `null`."""
    if not value.is_finite():
        return None
    if places is not None:
        value = _quantize(value, places)
    text = f"{value:f}"  # plain notation at full precision (no context rounding)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
