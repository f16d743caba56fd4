"""What a hard-cap refusal says: the figures behind it, in the one money format.

The texts of caps.SpendGate's 429s. Amounts go through core.money (half up, a non-zero amount
under a cent keeps two significant digits), so a refusal never reads "could cost up to
$0.0000" and agrees with every other surface to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from monitor.core.budget import Period
from monitor.core.money import usd
from monitor.services.virtual_keys import CYCLE_SCOPE


class CapFigures(Protocol):
    """One hard cap's figures in its current period (caps._Account)."""

    scope: str
    label: str
    cap: Decimal
    per: str
    period: Period
    spent: Decimal
    reserved: Decimal
    recording: Decimal

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Estimate:
    """A request's worst-case cost and what it is made of (for the refusal's wording)."""

    model: str | None
    usd: Decimal | None  # None: cannot be priced (a hard cap refuses it)
    input_tokens: int = 0
    output_tokens: int = 0
    output_named: bool = False
    unseen: str = ""  # input the proxy cannot see, reserved at the context window
    free: bool = False  # nothing to hold: moderations, endpoints not billed per request


def refusal_message(acc: CapFigures, est: Estimate) -> str:
    """Why a hard cap refuses a request, in figures (money in the one money format).

    When the worst-case reservation is the reason (the cap is not reached yet), it says what
    the reservation is made of and how to lower it; reservations of requests still running
    and of finished ones waiting to be recorded are named apart."""
    reached = acc.spent >= acc.cap
    head = (f"{acc.describe()} is reached" if reached
            else f"this request could take spend past {acc.describe()}")
    text = (f"Token Monitor refused this request: {head}. Spent {usd(acc.spent)} of "
            f"{usd(acc.cap)} this {'day' if acc.per == 'day' else 'period'}")
    running = acc.reserved - acc.recording
    if running > 0:
        text += f"; {usd(running)} more is reserved by requests in progress"
    if acc.recording > 0:
        text += f"; {usd(acc.recording)} by finished requests not yet recorded"
    if not reached and est.usd is not None:
        text += f"; this request could cost up to {usd(est.usd)}"
        if est.unseen:
            text += (f": it uses input the proxy cannot see ({est.unseen}), reserved at "
                     f"{est.input_tokens:,} input tokens (the model's context window)")
        if est.output_tokens:
            tokens = "token" if est.output_tokens == 1 else "tokens"
            text += (f" at {est.output_tokens:,} output {tokens}; set max_tokens / "
                     "max_output_tokens to lower that")
    return f"{text}. The cap resets at {acc.period.end:%Y-%m-%d %H:%M} UTC."


def unpriced_message(acc: CapFigures, model: str | None) -> str:
    """Why a hard cap refuses a request it cannot price (reserving $0 would let unlimited
    spend through), and how to fix it."""
    off = ("turn the hard cap off with `token-monitor budget --hard-cap off`"
           if acc.scope == CYCLE_SCOPE else
           f"use a virtual key without --hard instead of {acc.label!r}")
    if model is None:
        return (
            "Token Monitor refused this request: the proxy cannot tell which model it is "
            "for (its body is not JSON, names no model, or is over 16 MiB), so its cost "
            f"cannot be held against {acc.describe()}. Send the model in a JSON body, or "
            f"{off}."
        )
    return (
        f"Token Monitor refused this request: the price table has no price for model "
        f"{model!r}, so its cost cannot be held against {acc.describe()}. Add the "
        "model's price (`token-monitor price import FILE --apply`, or a row in the "
        f"price override file), or {off}."
    )
