"""The one money rule (monitor/core/money.py) and money in the JSON contract."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from monitor.commands._output import to_json
from monitor.core import money

D = Decimal


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("48.105", "$48.11"),  # a tie rounds half up (half-even would give $48.10)
        ("48.115", "$48.12"),
        ("48.1049999", "$48.10"),
        ("-48.105", "-$48.11"),  # away from zero, sign first
        ("0", "$0.00"),
        ("0.005", "$0.0050"),  # under a cent: two significant digits, never $0.00
        ("0.0000025449", "$0.0000025"),
        ("1234567.895", "$1,234,567.90"),
        ("1E+30", "$1,000,000,000,000,000,000,000,000,000,000.00"),  # no InvalidOperation
    ],
)
def test_usd_rounds_half_up_to_cents(amount: str, shown: str) -> None:
    assert money.usd(D(amount)) == shown
    assert money.plain(D(amount)) == shown.replace("$", "").replace(",", "")


def test_unknown_and_non_finite_amounts() -> None:
    assert money.usd(None) == "?" and money.usd(None, unknown="unknown") == "unknown"
    assert money.usd(D("NaN")) == "?" and money.usd(D("Infinity")) == "?"
    assert money.plain(None) == "" and money.plain(D("-Infinity")) == ""
    assert money.usd(D(120), whole_if_integral=True) == "$120"
    assert money.usd(D("120.5"), whole_if_integral=True) == "$120.50"
    assert money.usd_whole(D("130.5")) == "$131" and money.usd_whole(D("130.49")) == "$130"


def test_more_places_same_rule() -> None:
    assert money.usd(D("0.0072255"), places=6) == "$0.007226"  # half up at the 6th place
    assert money.usd(D("2.00005"), places=4) == "$2.0001"


def test_json_money_is_plain_never_exponent_nan_or_infinity() -> None:
    doc = {"tiny": D("0.0000025"), "float_tiny": 1e-7, "big": D("1E+15"), "float_big": 1e16,
           "nan": D("NaN"), "inf": float("inf"), "neg": D("-2.50"), "exact": D("48.105"),
           "int": 3, "flag": True, "none": None, "nested": [D("0.1"), {"x": D("1E-10")}],
           "text": "1e-07 NaN Infinity"}
    text = to_json(doc)
    numbers = re.sub(r'"[^"]*"', '""', text)  # everything outside string literals
    assert not re.search(r"[eE][+-]?\d|NaN|Infinity", numbers), text
    back = json.loads(text)
    assert back["tiny"] == 0.0000025 and back["float_tiny"] == 1e-7
    assert back["big"] == 10**15 and back["float_big"] == 10**16
    assert back["nan"] is None and back["inf"] is None
    assert back["neg"] == -2.5 and back["exact"] == 48.105
    assert back["nested"] == [0.1, {"x": 0}] and back["text"] == doc["text"]
    assert back["int"] == 3 and back["flag"] is True and back["none"] is None


def test_json_numbers_carry_at_most_nine_decimals() -> None:
    # A Decimal division (a projection, a used fraction) has 28 digits; the contract has nine,
    # rounded half up, and never writes "-0".
    doc = {"projected": D("206.0122190457684356809247204"), "fraction": D(2) / D(3),
           "float": 0.1 + 0.2, "half": D("0.0000000005"), "neg_tiny": D("-0.0000000001"),
           "big": D("123456789012345678901234567890.123456789012")}
    text = to_json(doc, one_line=True)
    assert '"projected":206.012219046' in text
    assert '"fraction":0.666666667' in text
    assert '"float":0.3,' in text
    assert '"half":0.000000001' in text
    assert '"neg_tiny":0,' in text
    assert '"big":123456789012345678901234567890.123456789}' in text


def test_a_string_cannot_forge_a_number() -> None:
    # Whatever a string holds, it stays a string (the placeholders are unguessable).
    tricky = {"model": '@0@', "cost": D("1.5"), "other": "\"@0@\""}
    assert json.loads(to_json(tricky)) == {"model": "@0@", "cost": 1.5, "other": "\"@0@\""}


def test_a_difference_under_half_a_cent_is_zero() -> None:
    assert money.signed_usd(D("-0.000000075")) == "$0.00"
    assert money.signed_usd(D("0.00000010")) == "$0.00"
    assert money.signed_usd(D("0.0049")) == "$0.00"
    assert money.signed_usd(D("0.005")) == "+$0.01"  # half up, as every amount
    assert money.signed_usd(D("-35.755")) == "-$35.76"
    assert money.signed_usd(D("-2"), minus="−") == "−$2.00"
    assert money.signed_usd(None) == "?"
    assert money.is_nil_difference(D("-0.0049")) and not money.is_nil_difference(D("0.005"))
