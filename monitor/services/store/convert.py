"""Conversions between Python values and the store's columns; exact money sums; span maths."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_FLOOR, Context, Decimal

from monitor.services.store.schema import DAY_S, SPAN_HOUR, SPAN_MONTH

_MONEY_CTX = Context(prec=60)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def _epoch_s(dt: datetime) -> int:
    """Integer UTC epoch seconds (floor); naive datetimes are taken as UTC."""
    delta = _aware(dt) - _EPOCH
    return delta.days * DAY_S + delta.seconds


def _epoch_us(dt: datetime) -> int:
    delta = _aware(dt) - _EPOCH
    return (delta.days * DAY_S + delta.seconds) * 1_000_000 + delta.microseconds


def _from_s(s: int) -> datetime:
    return _EPOCH + timedelta(seconds=s)


def _at_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _from_us(us: int | None) -> datetime | None:
    return None if us is None else _at_us(us)


def _day_s(d: date) -> int:
    return (d - date(1970, 1, 1)).days * DAY_S


def _s_day(s: int) -> date:
    return date(1970, 1, 1) + timedelta(days=s // DAY_S)


def _opt(value: str | None) -> str:
    return "" if value is None else value


def _none(value: str) -> str | None:
    return None if value == "" else value


def _batch_in(value: bool | None) -> int:
    return -1 if value is None else int(value)


def _batch_out(value: int) -> bool | None:
    return None if value < 0 else bool(value)


def _money_text(amount: Decimal) -> str:
    if not amount.is_finite():
        raise ValueError(f"money must be finite, got {amount}")
    return str(amount)


class _DecimalSum:
    """`dsum(text)`: exact sum of decimal TEXT values; NULL when every value is NULL."""

    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: str | None) -> None:
        if value is not None:
            d = Decimal(value)
            self.total = d if self.total is None else _MONEY_CTX.add(self.total, d)

    def finalize(self) -> str | None:
        return None if self.total is None else str(self.total)


def _decimal_add(a: str | None, b: str | None) -> str | None:
    """`dadd(a, b)`: exact decimal TEXT addition treating NULL as absent."""
    if a is None:
        return b
    if b is None:
        return a
    return str(_MONEY_CTX.add(Decimal(a), Decimal(b)))


_PICO = Decimal(10) ** 12


def _pico_split(cost: str | None) -> tuple[int, str | None]:
    """A decimal TEXT cost as (whole pico-dollars, exact remainder TEXT or None)."""
    if cost is None:
        return 0, None
    d = Decimal(cost)
    whole = _MONEY_CTX.multiply(d, _PICO).to_integral_value(rounding=ROUND_FLOOR)
    rest = _MONEY_CTX.subtract(d, _MONEY_CTX.divide(whole, _PICO))
    return int(whole), (None if rest == 0 else str(rest))


def _pico(cost: str | None) -> int | None:
    return None if cost is None else _pico_split(cost)[0]


def _pico_rest(cost: str | None) -> str | None:
    return _pico_split(cost)[1]


def _money_from(pico: int | None, rest: str | None) -> Decimal:
    total = Decimal(pico or 0).scaleb(-12)
    return total if rest is None else _MONEY_CTX.add(total, Decimal(rest))


def _month_floor(t: int) -> int:
    d = _s_day(t)
    return _day_s(d.replace(day=1))


def _month_next(m: int) -> int:
    d = _s_day(m)
    return _day_s(date(d.year + d.month // 12, d.month % 12 + 1, 1))


def _floor(t: int, span: int) -> int:
    if span == SPAN_MONTH:
        return _month_floor(t)
    size = 3600 if span == SPAN_HOUR else DAY_S
    return t - t % size


def _ceil(t: int, span: int) -> int:
    f = _floor(t, span)
    if f == t:
        return t
    return _month_next(f) if span == SPAN_MONTH else f + (3600 if span == SPAN_HOUR else DAY_S)


def _split(a: int, b: int, spans: Sequence[int]) -> list[tuple[int | None, int, int]]:
    """[a, b) as pieces (span, lo, hi): whole units of the coarsest span first, finer ones at
    the edges, and (None, lo, hi) for what no span covers."""
    if a >= b:
        return []
    if not spans:
        return [(None, a, b)]
    span, finer = spans[0], spans[1:]
    lo, hi = _ceil(a, span), _floor(b, span)
    if lo >= hi:
        return _split(a, b, finer)
    return [*_split(a, lo, finer), (span, lo, hi), *_split(hi, b, finer)]


def _table_for(tables: Sequence[tuple[str, tuple[str, ...]]], dims: Sequence[str]) -> str:
    wanted = set(dims) - {"day"}
    return next(t for t, cover in tables if wanted <= set(cover))
