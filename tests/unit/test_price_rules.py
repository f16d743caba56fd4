"""One owner for how tokens become dollars: the per-request cost and the per-bucket rules give
the same dollars for the same tokens, and the pricing core reads no file."""

from __future__ import annotations

import ast
import subprocess
import sys
from datetime import UTC, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest

import monitor
from monitor.core.prices import Pricer, PriceTable
from monitor.core.prices.charge import cached_savings
from monitor.core.usage import TokenUsage
from monitor.services.price_files import bundled_path, load_price_table

CORE = Path(monitor.__file__).parent / "core"
TIER_CASES = ((None, False), ("flex", False), ("priority", False), ("default", True))


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return load_price_table()


def _usages(threshold: int) -> list[TokenUsage]:
    return [
        TokenUsage(input_tokens=1_234, output_tokens=567, reasoning_tokens=200),
        TokenUsage(input_tokens=10_000, cached_input_tokens=6_000, output_tokens=1),
        TokenUsage(input_tokens=threshold, cached_input_tokens=1_000, output_tokens=50),
        TokenUsage(input_tokens=threshold + 1, output_tokens=50),
        TokenUsage(input_tokens=2 * threshold, cached_input_tokens=threshold, output_tokens=9),
        TokenUsage(input_tokens=3_000, audio_input_tokens=1_000, cached_input_tokens=1_500,
                   audio_cached_input_tokens=500, output_tokens=800, audio_output_tokens=300),
        TokenUsage(input_tokens=900, image_input_tokens=400, output_tokens=4_000,
                   image_output_tokens=4_000),
        TokenUsage(output_tokens=77),
    ]


def test_one_request_costs_the_same_per_request_and_as_a_bucket(table: PriceTable) -> None:
    """Every model of the bundled table, on the first day of each of its price rows, on each
    tier, for text, cached, audio, image and long-context usage (at and just over the
    threshold): `PriceTable.cost` and a one-request bucket agree to the last digit."""
    pricer = Pricer(table)
    checked = long_checked = 0
    for name, info in table.models.items():
        days = {max(row.effective_from, table.as_of.replace(year=2024)) for row in info.prices}
        for day in days:
            at = datetime.combine(day, time(12), UTC)
            row = info.price_at(day)
            assert row is not None
            for usage in _usages(table.long_context_threshold):
                for tier, batch in TIER_CASES:
                    per_request = table.cost(name, usage, at=at, service_tier=tier, batch=batch)
                    bucket = pricer.price(name, usage, 1, day, tier, batch)
                    assert bucket.usd == per_request.usd, (name, day, usage, tier, batch)
                    assert (bucket.long_context == "exact") == (row.long_context is not None)
                    checked += 1
                    long_checked += per_request.long_context
    assert checked > 2_000 and long_checked > 100


def test_a_bucket_of_many_requests_is_bounded_by_the_per_request_rules(
        table: PriceTable) -> None:
    """A bucket that cannot say which requests were long: its bounds are the per-request cost
    at standard and at long-context rates; within the threshold it is the standard cost."""
    pricer = Pricer(table)
    t = table.long_context_threshold
    at = datetime(2026, 11, 23, 12, tzinfo=UTC)
    day = at.date()
    for name in ("gpt-5.4", "gpt-5.6-sol", "gpt-6-astra"):
        for tier, batch in TIER_CASES:
            def cost(usage: TokenUsage, long: bool, n: str = name, tr: str | None = tier,
                     b: bool = batch) -> Decimal | None:
                return table.cost(n, usage, at=at, service_tier=tr, batch=b,
                                  long_context=long).usd

            within = TokenUsage(input_tokens=t, output_tokens=100)
            assert pricer.price(name, within, 5, day, tier, batch).usd == cost(within, False)
            over = TokenUsage(input_tokens=3 * t, cached_input_tokens=t, output_tokens=100)
            p = pricer.price(name, over, 2, day, tier, batch)
            assert p.long_context == "estimated"
            assert (p.low, p.high) == (cost(over, False), cost(over, True))
            assert p.low is not None and p.high is not None and p.usd is not None
            assert p.low < p.usd < p.high


def test_cached_savings_are_the_difference_the_charge_makes(table: PriceTable) -> None:
    """What a bucket reports as saved by cached input is what `charge` bills less for it."""
    pricer = Pricer(table)
    at = datetime(2026, 11, 23, 12, tzinfo=UTC)
    seen = 0
    for name, info in table.models.items():
        row = info.price_at(at)
        assert row is not None
        if row.standard.cached_input is None:
            continue
        cached = TokenUsage(input_tokens=50_000, cached_input_tokens=30_000, output_tokens=10)
        plain = TokenUsage(input_tokens=50_000, output_tokens=10)
        full, less = (table.cost(name, u, at=at).usd for u in (plain, cached))
        assert full is not None and less is not None
        saved = pricer.price(name, cached, 1, at.date()).savings
        assert saved == full - less == cached_savings(cached, row.standard), name
        seen += saved > 0
    assert seen > 20


# -- the core reads no file -------------------------------------------------------------------

_READS = {"open", "read_text", "read_bytes", "read_local_text", "read_local_file", "file_path",
          "exists", "stat", "is_file"}
_IO_MODULES = {"pathlib", "os", "io", "monitor.resources", "monitor.core.local_files",
               "monitor.services", "shutil"}


def _pricing_core() -> list[Path]:
    return sorted([*(CORE / "prices").glob("*.py"), *CORE.glob("pric*.py")])


def _file_access(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name in _READS:
                found.append(f"{path.name}:{node.lineno} calls {name}")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            mods = ([a.name for a in node.names] if isinstance(node, ast.Import)
                    else [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names])
            found += [f"{path.name}:{node.lineno} imports {m}" for m in mods
                      if m in _IO_MODULES or m.startswith("monitor.services")]
    return found


def test_the_pricing_core_has_no_file_access() -> None:
    files = _pricing_core()
    assert {p.name for p in files} >= {"charge.py", "table.py", "schema.py", "price_import.py"}
    assert [f for p in files for f in _file_access(p)] == []


def test_the_check_sees_a_file_read(tmp_path: Path) -> None:
    """The check above can fail: the loader as it was in core (pathlib, read_text and the
    local-files reader) is caught."""
    bad = tmp_path / "loader.py"
    bad.write_text("from pathlib import Path\n"
                   "from monitor.core.local_files import read_local_text\n"
                   "def load(p: Path) -> str:\n    return p.read_text() + read_local_text(p)\n")
    assert len(_file_access(bad)) == 4


def test_the_core_builds_and_prices_a_table_with_file_reads_disabled() -> None:
    """Text in, table out: with open() and Path's readers raising, importing the pricing core,
    building the bundled table from its text (read before) and pricing a request still work."""
    code = f"""
import builtins, io, pathlib
text = pathlib.Path({str(bundled_path())!r}).read_text(encoding="utf-8")
def refuse(*a, **k):
    raise AssertionError("file read in the pricing core")
builtins.open = io.open = refuse
for name in ("open", "read_text", "read_bytes"):
    setattr(pathlib.Path, name, refuse)
from monitor.core.prices import schema
from monitor.core.usage import TokenUsage
from datetime import datetime, UTC
table = schema.build_table(schema.read_document(text, "prices.json"), "prices.json")
at = datetime(2026, 11, 23, tzinfo=UTC)
cost = table.cost("gpt-4o", TokenUsage(input_tokens=1_000_000), at=at)
print(cost.usd)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert Decimal(out.stdout.strip()) == Decimal("2.5")
