"""Prices: how tokens become dollars, in one place (Qt-free, no file I/O).

`model` (rates, tiers, price rows, entries, costs), `resolve` (model names -> entries),
`charge` (the one charge function, the long-context rule and the bucket rules: estimate,
bounds, cached savings), `buckets` (`Pricer`: aggregated usage by those rules), `table`
(PriceTable: resolution, the cost of one request, a bucket's rates), `schema` (the file
format: validation, merging, building). The files are read by `monitor.services.price_files`.
"""

from monitor.core.prices.buckets import Priced, Pricer, pricer_for
from monitor.core.prices.charge import Charged, charge, charge_bucket, is_long_request, rates_for
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
    "charge_bucket",
    "check_model_entry",
    "is_long_request",
    "merged_table",
    "normalize_tier",
    "pricer_for",
    "rates_for",
]
