"""Prices: how tokens become dollars, in one place (Qt-free, no file I/O).

`model` (rates, tiers, price rows, entries, costs), `resolve` (model names -> entries),
`charge` (the one charge function and the rates it is given), `buckets` (aggregated usage:
the long-context estimate and cached savings per bucket), `table` (PriceTable: resolution +
the cost of one request), `schema` (the file format: validation, merging, building). The
files themselves are read by `monitor.services.price_files`.
"""

from monitor.core.prices.buckets import Priced, Pricer, pricer_for
from monitor.core.prices.charge import Charged, charge, rates_for
from monitor.core.prices.model import (
    LAUNCH,
    RATE_FIELDS,
    TIERS,
    Cost,
    ModelInfo,
    PriceRow,
    Rates,
    Resolution,
    normalize_tier,
    quantize_usd,
)
from monitor.core.prices.schema import check_model_entry, merged_table
from monitor.core.prices.table import PriceTable

__all__ = [
    "LAUNCH",
    "RATE_FIELDS",
    "TIERS",
    "Charged",
    "Cost",
    "ModelInfo",
    "PriceRow",
    "PriceTable",
    "Priced",
    "Pricer",
    "Rates",
    "Resolution",
    "charge",
    "check_model_entry",
    "merged_table",
    "normalize_tier",
    "pricer_for",
    "quantize_usd",
    "rates_for",
]
