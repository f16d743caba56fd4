"""How tokens become dollars: the one charge function, the rates it is given, and the rules
for a bucket of many requests.

`charge` prices one usage at one set of rates (pricing-sources.md §6); `rates_for` picks
those rates from a price row for a tier and long context; `is_long_request` is the one
long-context rule. `charge_bucket` applies that rule to aggregated usage (an org usage row,
a day of proxy records), where it cannot say which requests were long: exact where the bucket
proves it, else an estimate between bounds, with cached input's savings beside it. Both the
per-request cost (`PriceTable.cost`) and the per-bucket pricing (`buckets.Pricer`) go through
these functions, so the same tokens give the same dollars.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from monitor.core.prices.model import RATE_FIELDS, PriceRow, Rates
from monitor.core.usage import TokenUsage

__all__ = ["Charged", "Priced", "cached_savings", "charge", "charge_bucket", "is_long_request",
           "rates_for"]

_ZERO = Decimal(0)


def rates_for(row: PriceRow, tier: str, long_context: bool) -> tuple[Rates, str, tuple[str, ...]]:
    """(rates, tier actually used, row tiers whose derivation marks apply)."""
    tier_rates = row.tier(tier)
    used = tier if tier_rates is not None else "standard"
    base = tier_rates if tier_rates is not None else row.standard
    if not long_context or row.long_context is None:
        return base, used, (used,)
    if used == "standard":
        return row.long_context, used, ("long_context",)
    # Long context on a non-standard tier: keep the tier's discount/uplift per field.
    values: dict[str, Decimal | None] = {}
    for name in RATE_FIELDS:
        lc: Decimal | None = getattr(row.long_context, name)
        std: Decimal | None = getattr(row.standard, name)
        t: Decimal | None = getattr(base, name)
        if t is None:
            values[name] = None
        elif lc is None:
            values[name] = t
        elif std:
            values[name] = lc * t / std
        else:
            values[name] = lc
    return Rates(**values), used, (used, "long_context")  # type: ignore[arg-type]


class Charged(NamedTuple):
    """`charge`'s answer: exact USD, the tokens of each priced part, clamp reasons (a tuple:
    it is made for every priced row, and tuples are the cheapest records)."""

    usd: Decimal
    tokens: tuple[int, ...]  # per part of `PARTS`
    rates: Rates
    reasons: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[tuple[str, int], ...]:
        """(rate field that priced it, tokens) per part."""
        return tuple((name, n) for (name, _), n in zip(self.rates.parts, self.tokens,
                                                        strict=True))


def charge(usage: TokenUsage, rates: Rates) -> Charged:
    """Price `usage` at `rates`: the one place the cost rules live (pricing-sources.md §6).

    Subsets are carved out of their totals: cached input (its audio part at the cached-audio
    rate), cache writes, uncached audio input and image input out of `input_tokens`; audio and
    image output out of `output_tokens`; reasoning is output and never billed twice. A rate
    the model lacks falls back to the text rate of its side (cached audio -> cached -> input).
    A subset larger than what is left of its total is clamped (never a negative charge) and
    the reason returned.
    """
    inp, out = usage.input_tokens, usage.output_tokens
    cached, cached_audio = usage.cached_input_tokens, usage.audio_cached_input_tokens
    written, audio_in = usage.cache_write_tokens, usage.audio_input_tokens
    image_in, audio_out = usage.image_input_tokens, usage.audio_output_tokens
    image_out = usage.image_output_tokens
    consistent = (
        min(inp, out, cached, cached_audio, written, audio_in, image_in, audio_out,
            image_out, usage.reasoning_tokens) >= 0
        and cached_audio <= cached and cached + written + audio_in + image_in <= inp
        and usage.reasoning_tokens <= out and audio_out + image_out <= out
    )
    reasons: tuple[str, ...] = ()
    if consistent:
        text_in = inp - cached - written - audio_in - image_in
        text_out = out - audio_out - image_out
    else:
        (cached, cached_audio, written, audio_in, image_in, text_in, audio_out, image_out,
         text_out), reasons = _clamped(usage)
    tokens = (cached - cached_audio, cached_audio, written, audio_in, image_in, text_in,
              audio_out, image_out, text_out)
    total = Decimal(0)
    for (_, rate), n in zip(rates.parts, tokens, strict=True):
        if n:
            total += rate * n
    return Charged(total.scaleb(-6), tokens, rates, reasons)


def _clamped(usage: TokenUsage) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """`charge`'s parts when a subset exceeds what is left of its total: clamped, with why."""
    reasons: list[str] = []

    def take(tokens: int, left: int, what: str, of: str) -> int:
        if tokens <= 0:
            return 0
        if tokens > left:
            reasons.append(f"{what} ({tokens:,}) exceeded {of} ({left:,}): clamped")
            return left
        return tokens

    left = max(usage.input_tokens, 0)
    cached = take(usage.cached_input_tokens, left, "cached input", "input")
    left -= cached
    cached_audio = take(usage.audio_cached_input_tokens, cached, "cached audio input",
                        "cached input")
    written = take(usage.cache_write_tokens, left, "cache write", "the uncached input left")
    left -= written
    audio_in = take(usage.audio_input_tokens, left, "audio input", "the uncached input left")
    left -= audio_in
    image_in = take(usage.image_input_tokens, left, "image input", "the uncached input left")
    out_left = max(usage.output_tokens, 0)
    take(usage.reasoning_tokens, out_left, "reasoning", "output")
    audio_out = take(usage.audio_output_tokens, out_left, "audio output", "output")
    image_out = take(usage.image_output_tokens, out_left - audio_out, "image output",
                     "the output left")
    return ((cached, cached_audio, written, audio_in, image_in, left - image_in, audio_out,
             image_out, out_left - audio_out - image_out), tuple(reasons))



def is_long_request(input_tokens: int, threshold: int) -> bool:
    """Whether one request is priced at long-context rates: its input is over the table's
    `long_context_threshold` (pricing-sources.md §6.4)."""
    return input_tokens > threshold


class Priced(NamedTuple):
    """The price of aggregated usage (a tuple: one is made for every priced row).

    `usd` None = the price is unknown. `long_context` is "none" (the model has no long-context
    rates), "exact" (the bucket proves which rates apply: one request, or total input at most
    the threshold so no request can be long) or "estimated" (which requests were long cannot
    be known from a bucket): then `low` prices every request at standard-context rates and
    `high` at long-context rates, and `usd` is the estimate between them (`charge_bucket`).
    `savings` is what cached input saved: cached x (input rate - cached rate), standard context.
    """

    usd: Decimal | None
    low: Decimal | None = None
    high: Decimal | None = None
    long_context: str = "none"
    savings: Decimal = _ZERO


def cached_savings(usage: TokenUsage, rates: Rates) -> Decimal:
    """What cached input saved against the input rate: cached x (input - cached rate), exact
    (cached tokens beyond the input are not counted)."""
    if usage.cached_input_tokens <= 0:
        return _ZERO
    cached = min(usage.cached_input_tokens, max(usage.input_tokens, 0))
    cached_rate = rates.cached_input if rates.cached_input is not None else rates.input
    return (cached * (rates.input - cached_rate)).scaleb(-6)


def charge_bucket(usage: TokenUsage, requests: int, std: Rates, long_rates: Rates | None,
                  threshold: int) -> Priced:
    """Price `usage` made by `requests` requests at standard-context rates `std` and, when the
    model has them, long-context rates `long_rates`.

    Long context: with a total input of T tokens over n requests and threshold t, a bucket
    with n <= 1 or T <= t is exact (the per-request rule, `is_long_request`, decides). Otherwise
    the estimate is standard-context pricing when T <= n x t (every request may be short: the
    lower bound), else it moves the share (T - (n - 1) x t) / T of the bucket - the least input
    that must sit in a long request - to long-context rates. Bounds: all standard (low), all
    long-context (high).
    """
    savings = cached_savings(usage, std)
    low = charge(usage, std).usd
    if long_rates is None or not is_long_request(usage.input_tokens, threshold):
        return Priced(low, low, low, "none" if long_rates is None else "exact", savings)
    high = charge(usage, long_rates).usd
    n = max(requests, 1)
    if n == 1:
        return Priced(high, high, high, "exact", savings)
    total_in = Decimal(usage.input_tokens)
    must_be_long = total_in - (n - 1) * threshold
    share = must_be_long / total_in if total_in > n * threshold else _ZERO
    return Priced(low + share * (high - low), low, high, "estimated", savings)
