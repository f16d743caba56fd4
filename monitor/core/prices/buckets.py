"""Pricing aggregated usage: a bucket of many requests (an org usage row, a day of proxy
records), where the per-request long-context rule cannot be applied as it stands.

The rule (pricing-sources.md §6.4) is applied per bucket: exact where the bucket proves it,
else an estimate between bounds; cached input's savings beside it. Dollars come from the
one `charge` function at the rates `PriceTable.rates` gives.
"""

from __future__ import annotations

import weakref
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from monitor.core.prices.charge import charge
from monitor.core.prices.model import Rates, normalize_tier
from monitor.core.prices.table import PriceTable
from monitor.core.usage import TokenUsage

__all__ = ["Priced", "Pricer", "pricer_for"]

_ZERO = Decimal(0)


class Priced(NamedTuple):
    """The price of aggregated usage (a tuple: one is made for every priced row).

    `usd` None = the price is unknown. `long_context` is "none" (the model has no long-context
    rates), "exact" (the bucket proves which rates apply: one request, or total input at most
    the threshold so no request can be long) or "estimated" (which requests were long cannot
    be known from a bucket): then `low` prices every request at standard-context rates and
    `high` at long-context rates, and `usd` is the estimate between them (see `Pricer.price`).
    `savings` is what cached input saved: cached x (input rate - cached rate), standard context.
    """

    usd: Decimal | None
    low: Decimal | None = None
    high: Decimal | None = None
    long_context: str = "none"
    savings: Decimal = _ZERO


_UNKNOWN = Priced(None)


class Pricer:
    """Prices aggregated usage with `PriceTable.rates()` and the one `charge` function.

    A bucket of many requests cannot say which were long-context, so the long-context rule
    (pricing-sources.md §6.4) is applied per bucket as `Priced` documents: exact where the
    bucket proves it, else an estimate with its bounds. Rates are cached per (model, price
    row, tier, long context).
    """

    def __init__(self, prices: PriceTable) -> None:
        self.prices = prices
        self.threshold = prices.long_context_threshold
        self._rates: dict[tuple[str, date, str], tuple[Rates, Rates | None] | None] = {}

    def rates(self, model: str, day: date, tier: str) -> tuple[Rates, Rates | None] | None:
        """(standard-context rates, long-context rates or None) of `model` on table tier
        `tier` in force on UTC `day`; None when the model has no price."""
        key = (model, day, tier)
        hit = self._rates.get(key, False)
        if hit is not False:
            return hit  # type: ignore[return-value]
        info = self.prices.resolve(model).info
        row = info.price_at(day) if info is not None else None
        value: tuple[Rates, Rates | None] | None = None
        if row is not None:
            std = self.prices.rates(model, at=day, tier=tier)
            assert std is not None
            long = (self.prices.rates(model, at=day, tier=tier, long_context=True)
                    if row.long_context is not None else None)
            value = (std, long)
        self._rates[key] = value
        return value

    def cost(
        self,
        model: str | None,
        usage: TokenUsage,
        requests: int,
        day: date,
        service_tier: str | None = None,
        batch: bool = False,
    ) -> Decimal | None:
        """USD of `usage` made by `requests` requests on UTC `day`; None = unknown price."""
        return self.price(model, usage, requests, day, service_tier, batch).usd

    def price(
        self,
        model: str | None,
        usage: TokenUsage,
        requests: int,
        day: date,
        service_tier: str | None = None,
        batch: bool = False,
    ) -> Priced:
        """Price `usage` made by `requests` requests on UTC `day`.

        Long context: with a total input of T tokens over n requests and threshold t, a bucket
        with n <= 1 or T <= t is exact. Otherwise the estimate is standard-context pricing when
        T <= n x t (every request may be short: the lower bound), else it moves the share
        (T - (n - 1) x t) / T of the bucket - the least input that must sit in a long request -
        to long-context rates. Bounds: all standard (low), all long-context (high).
        """
        if usage.is_zero():
            return Priced(_ZERO, _ZERO, _ZERO)
        if model is None:
            return _UNKNOWN
        tier, _ = normalize_tier(service_tier, batch)
        rates = self.rates(model, day, tier)
        if rates is None:
            return _UNKNOWN
        std, long_rates = rates
        savings = _ZERO
        if usage.cached_input_tokens > 0:
            cached = min(usage.cached_input_tokens, max(usage.input_tokens, 0))
            cached_rate = std.cached_input if std.cached_input is not None else std.input
            savings = (cached * (std.input - cached_rate)).scaleb(-6)
        low = charge(usage, std).usd
        if long_rates is None or usage.input_tokens <= self.threshold:
            return Priced(low, low, low, "none" if long_rates is None else "exact", savings)
        high = charge(usage, long_rates).usd
        n = max(requests, 1)
        if n == 1:
            return Priced(high, high, high, "exact", savings)
        total_in = Decimal(usage.input_tokens)
        must_be_long = total_in - (n - 1) * self.threshold
        share = must_be_long / total_in if total_in > n * self.threshold else _ZERO
        return Priced(low + share * (high - low), low, high, "estimated", savings)


_PRICERS: dict[int, tuple[weakref.ref[PriceTable], Pricer]] = {}


def pricer_for(prices: PriceTable) -> Pricer:
    """A Pricer shared by every report on the same price table (its probes are cached)."""
    hit = _PRICERS.get(id(prices))
    if hit is not None and hit[0]() is prices:
        return hit[1]
    for key, (ref, _) in list(_PRICERS.items()):
        if ref() is None:
            del _PRICERS[key]
    pricer = Pricer(prices)
    _PRICERS[id(prices)] = (weakref.ref(prices), pricer)
    return pricer
