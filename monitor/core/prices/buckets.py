"""Pricing aggregated usage: the rates a bucket is priced at, looked up once per model, day
and tier; the rules that turn them into dollars are `charge.charge_bucket`'s.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from monitor.core.prices.charge import Priced, charge_bucket
from monitor.core.prices.model import Rates, normalize_tier
from monitor.core.prices.table import PriceTable
from monitor.core.usage import TokenUsage

__all__ = ["Priced", "Pricer", "pricer_for"]  # Priced: charge's, named here for callers

_ZERO = Decimal(0)


_UNKNOWN = Priced(None)


class Pricer:
    """Prices aggregated usage: `PriceTable.bucket_rates()` (cached per model, UTC day and
    tier)
    through `charge_bucket`, the bucket rules beside the one `charge` function."""

    def __init__(self, prices: PriceTable) -> None:
        self.prices = prices
        self.threshold = prices.long_context_threshold

    def rates(self, model: str, day: date, tier: str) -> tuple[Rates, Rates | None] | None:
        """(standard-context rates, long-context rates or None) of `model` on table tier
        `tier` in force on UTC `day`; None when the model has no price."""
        return self.prices.bucket_rates(model, day, tier)

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
        """Price `usage` made by `requests` requests on UTC `day` (the rules: `charge_bucket`)."""
        if usage.is_zero():
            return Priced(_ZERO, _ZERO, _ZERO)
        if model is None:
            return _UNKNOWN
        tier, _ = normalize_tier(service_tier, batch)
        rates = self.rates(model, day, tier)
        if rates is None:
            return _UNKNOWN
        return charge_bucket(usage, requests, rates[0], rates[1], self.threshold)


def pricer_for(prices: PriceTable) -> Pricer:
    """The Pricer of `prices` (cheap: the rates it looks up are cached in the table)."""
    return Pricer(prices)
