"""The price table and cost engine: hand-computed dollars for every rule in pricing-sources §6."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import tiktoken.model

from monitor import resources
from monitor.context import AppContext
from monitor.core.money import round_money
from monitor.core.prices import (
    LAUNCH,
    TIERS,
    PriceTable,
    normalize_tier,
)
from monitor.core.usage import TokenUsage
from monitor.errors import BugError
from monitor.paths import Paths
from monitor.services.price_files import load_price_table

D = Decimal
AFTER_ALL_CHANGES = datetime(2026, 11, 23, 12, tzinfo=UTC)

# Every model named in pricing-sources.md §1, §1a and §1b.
DOC_MODELS = (
    "gpt-6-astra", "gpt-6.1-sol", "gpt-6.1-terra", "gpt-6-sol", "gpt-6-luna", "gpt-5.6-sol",
    "gpt-5.6-terra", "gpt-5.6-luna", "gpt-5.5", "gpt-5.5-pro", "gpt-5.4", "gpt-5.4-pro",
    "gpt-5.4-mini", "gpt-5.4-nano", "gpt-5.3-codex", "gpt-5.3-chat-latest", "gpt-5.2",
    "gpt-5.2-pro", "gpt-5.1", "gpt-5.1-codex", "gpt-5.1-codex-mini", "gpt-5", "gpt-5-mini",
    "gpt-5-nano", "gpt-5-pro", "gpt-5-chat-latest", "gpt-5-codex", "gpt-4.1", "gpt-4.1-mini",
    "gpt-4.1-nano", "gpt-4o", "gpt-4o-2024-05-13", "gpt-4o-mini", "chatgpt-4o-latest",
    "gpt-4.5-preview", "o1", "o1-pro", "o1-mini", "o3", "o3-pro", "o3-mini", "o3-deep-research",
    "o4-mini", "o4-mini-deep-research", "codex-mini-latest", "gpt-4-turbo", "gpt-4",
    "gpt-4-32k", "gpt-3.5-turbo", "gpt-3.5-turbo-1106", "gpt-3.5-turbo-instruct",
    "text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002",
    "gpt-realtime", "gpt-realtime-2", "gpt-realtime-2.1", "gpt-realtime-mini", "gpt-audio",
    "gpt-audio-mini", "gpt-4o-audio-preview", "gpt-4o-realtime-preview",
    "gpt-4o-mini-realtime-preview", "gpt-4o-transcribe", "gpt-4o-mini-tts", "gpt-image-1",
    "gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2",
)
LONG_CONTEXT_MODELS = {
    "gpt-5.4", "gpt-5.4-pro", "gpt-5.5", "gpt-5.5-pro", "gpt-5.6-sol", "gpt-5.6-terra",
    "gpt-5.6-luna", "gpt-6-astra", "gpt-6.1-sol", "gpt-6.1-terra", "gpt-6-sol", "gpt-6-luna",
}


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return load_price_table()


def usd(table: PriceTable, model: str, at: datetime = AFTER_ALL_CHANGES, **kw: Any) -> Decimal:
    tier = kw.pop("service_tier", None)
    batch = kw.pop("batch", False)
    cost = table.cost(model, TokenUsage(**kw), at=at, service_tier=tier, batch=batch)
    assert cost.usd is not None
    return cost.usd


def write(path: Path, doc: Any) -> Path:
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


# -- the bundled table ---------------------------------------------------------------------------
def test_bundled_table_header(table: PriceTable) -> None:
    assert table.as_of == date(2026, 11, 23)
    assert table.default_model == "gpt-4o"
    assert table.long_context_threshold == 272_000
    assert table.warnings == []
    assert table.resolve("gpt-5.6").info is table.models["gpt-5.6-sol"]
    assert len(table.notes) >= 12  # one per disagreement in pricing-sources §2, and the rule


def test_every_documented_model_is_in_the_table(table: PriceTable) -> None:
    missing = [m for m in DOC_MODELS if m not in table.models]
    assert missing == []


def test_every_entry_has_the_required_fields_written_out() -> None:
    raw = json.loads(resources.read_text("prices.json"), parse_float=D)
    required = {"encoding", "encoding_assumed", "context_window", "max_input", "max_output",
                "source", "uncertain", "note", "prices"}
    for name, entry in raw["models"].items():
        assert required <= set(entry), name
        assert entry["source"], name
        for row in entry["prices"]:
            assert "effective_from" in row and "standard" in row, name
            assert {"input", "output"} <= set(row["standard"]), name


def test_every_price_is_sane(table: PriceTable) -> None:
    for name, info in table.models.items():
        assert info.prices, name
        dates = [r.effective_from for r in info.prices]
        assert dates == sorted(dates) and len(set(dates)) == len(dates), name
        for row in info.prices:
            for tier in TIERS:
                rates = row.tier(tier)
                if rates is None:
                    continue
                assert isinstance(rates.input, Decimal) and rates.input > 0, (name, tier)
                assert rates.output >= 0, (name, tier)
                if rates.cached_input is not None:
                    assert rates.cached_input <= rates.input, (name, tier)
            lc = row.long_context
            if lc is not None:
                assert lc.input > row.standard.input and lc.output > row.standard.output, name
        if info.context_window and info.max_input:
            assert info.max_input < info.context_window, name


def test_numbers_are_exact_decimals(table: PriceTable) -> None:
    rates = table.models["gpt-5.4-mini"].prices[0].flex
    assert rates is not None
    assert rates.cached_input == D("0.0375") and type(rates.cached_input) is Decimal
    assert table.models["gpt-4o-mini"].prices[0].standard.cached_input == D("0.075")


def test_encodings_follow_tiktoken_0_14(table: PriceTable) -> None:
    for name, info in table.models.items():
        # A fine-tune tokenizes as its base (tiktoken's "ft:gpt-4" prefix also catches
        # ft:gpt-4.1-..., which is o200k_base).
        lookup = name.removeprefix("ft:")
        try:
            expected, assumed = tiktoken.model.encoding_name_for_model(lookup), False
        except KeyError:
            expected, assumed = "o200k_base", True
        assert (info.encoding, info.encoding_assumed) == (expected, assumed), name
    assert table.models["gpt-6-astra"].encoding_assumed
    assert not table.models["gpt-4"].encoding_assumed
    assert table.models["gpt-4"].encoding == "cl100k_base"


def test_long_context_rates_only_for_the_5_4_plus_line(table: PriceTable) -> None:
    with_lc = {n for n, i in table.models.items() if any(r.long_context for r in i.prices)}
    assert with_lc == LONG_CONTEXT_MODELS
    lc = table.models["gpt-5.5-pro"].prices[0].long_context
    assert lc is not None and (lc.input, lc.output) == (D(60), D(270))
    lc = table.models["gpt-6-astra"].prices[0].long_context
    assert lc is not None
    assert (lc.input, lc.cached_input, lc.cache_write, lc.output) == (D(20), D(2), D(25), D(75))


def test_tier_and_cache_write_derivations(table: PriceTable) -> None:
    sol = table.models["gpt-5.6-sol"].price_at(AFTER_ALL_CHANGES)
    assert sol is not None
    assert sol.standard.cache_write == D("6.25") and sol.is_derived("standard", "cache_write")
    assert sol.priority is not None and sol.priority.input == D(10)
    assert not sol.is_derived("priority", "input")
    gpt4o = table.models["gpt-4o"].prices[0]
    assert gpt4o.batch is not None
    assert (gpt4o.batch.input, gpt4o.batch.cached_input) == (D("1.25"), D("0.625"))
    assert gpt4o.is_derived("batch", "cached_input") and not gpt4o.is_derived("batch", "input")
    assert gpt4o.flex is not None and "flex" in gpt4o.derived and gpt4o.flex.input == D("1.25")
    astra = table.models["gpt-6-astra"].prices[0]
    assert astra.standard.cache_write == D("12.5") and not astra.is_derived("standard")
    assert table.models["gpt-realtime"].prices[0].batch is None
    assert table.models["gpt-5-nano"].prices[0].priority is None


# -- resolution ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("requested", "entry", "how"), [
    ("gpt-4o", "gpt-4o", "exact"),
    ("GPT-4o", "gpt-4o", "exact"),
    ("gpt-5.6", "gpt-5.6-sol", "alias"),
    ("gpt-4-1106-preview", "gpt-4-turbo", "alias"),
    ("gpt-4o-2024-08-06", "gpt-4o", "snapshot"),
    ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13", "exact"),
    ("o3-mini-2025-01-31", "o3-mini", "snapshot"),
    ("gpt-5.6-luna-2026-07-30", "gpt-5.6-luna", "snapshot"),
    ("ft:gpt-4o-mini-2024-07-18:my-org:custom:abc123", "ft:gpt-4o-mini-2024-07-18",
     "fine-tune"),
    ("ft:gpt-3.5-turbo:org::id", "ft:gpt-3.5-turbo", "fine-tune"),
    ("ft:gpt-3.5-turbo-0613:org::id", "ft:gpt-3.5-turbo", "fine-tune"),
    ("ft:gpt-4.1-nano-2025-04-14:org::x", "ft:gpt-4.1-nano-2025-04-14", "fine-tune"),
    ("ft:o4-mini-2025-04-16:org::x", "o4-mini", "fine-tune-base"),
    ("gpt-realtime-1.5", "gpt-realtime", "prefix"),
    ("gpt-4-0613", "gpt-4", "prefix"),
    ("gpt-4-32k-0314", "gpt-4-32k", "prefix"),
    ("gpt-3.5-turbo-0613", "gpt-3.5-turbo-0613", "exact"),
    ("gpt-3.5-turbo-0301", "gpt-3.5-turbo-0613", "alias"),
    ("gpt-3.5-turbo-16k-0613", "gpt-3.5-turbo-16k", "alias"),
    ("gpt-3.5-turbo-0125", "gpt-3.5-turbo", "alias"),
])
def test_resolve(table: PriceTable, requested: str, entry: str, how: str) -> None:
    res = table.resolve(requested)
    assert res.requested == requested
    assert res.info is not None and res.info.name == entry
    assert res.how == how


@pytest.mark.parametrize("requested", [
    "gpt-5.7", "gpt-4omni", "claude-3-opus", "", "ft:mystery-model:org::id", "ft:",
    "gpt-7-2027-01-01",
    # modality variants never fall through to a text model
    "gpt-4o-mini-search-preview", "gpt-4o-mini-search-preview-2025-03-11",
    "gpt-4o-mini-audio-preview", "gpt-4o-search-preview", "gpt-5-mini-tts",
    "gpt-realtime-transcribe", "gpt-4-turbo-image",
    # no family declared: an unknown suffix is unknown, not the closest name
    "gpt-4.1-mini-experimental", "gpt-3.5-turbo-9999",
])
def test_unknown_models_are_unknown(table: PriceTable, requested: str) -> None:
    res = table.resolve(requested)
    assert (res.info, res.how) == (None, "unknown")
    cost = table.cost(requested, TokenUsage(input_tokens=1000, output_tokens=10))
    assert cost.usd is None and cost.resolved is None and cost.model == requested


def test_snapshot_with_its_own_price_is_not_stripped(table: PriceTable) -> None:
    # 1000 in x $5 + 1000 out x $15 = 20,000 / 1M
    assert usd(table, "gpt-4o-2024-05-13", input_tokens=1000, output_tokens=1000) == D("0.02")
    # the later snapshot is priced as gpt-4o: 1000 x 2.5 + 1000 x 10 = 12,500 / 1M
    assert usd(table, "gpt-4o-2024-08-06", input_tokens=1000, output_tokens=1000) == D("0.0125")


# -- cost rules (§6) -----------------------------------------------------------------------------
def test_plain_input_and_output(table: PriceTable) -> None:
    cost = table.cost("gpt-4o", TokenUsage(input_tokens=1000, output_tokens=500),
                      at=AFTER_ALL_CHANGES)
    # 1000 x 2.5 + 500 x 10 = 7,500 / 1M
    assert cost.usd == D("0.0075")
    assert (cost.resolved, cost.tier, cost.long_context, cost.derived) == (
        "gpt-4o", "standard", False, False)
    assert cost.as_of == table.as_of


def test_cached_is_a_subset_of_input(table: PriceTable) -> None:
    # (1000-200) x 2.5 + 200 x 1.25 + 500 x 10 = 2000 + 250 + 5000 = 7,250 / 1M
    assert usd(table, "gpt-4o", input_tokens=1000, cached_input_tokens=200,
               output_tokens=500) == D("0.00725")


def test_cached_without_a_cached_rate_bills_at_input(table: PriceTable) -> None:
    # gpt-4-turbo has no cached discount: 1000 x 10 + 100 x 30 = 13,000 / 1M
    assert usd(table, "gpt-4-turbo", input_tokens=1000, cached_input_tokens=400,
               output_tokens=100) == D("0.013")


def test_cache_write(table: PriceTable) -> None:
    # gpt-6.1-terra: (10000-2000-3000) x 1 + 2000 x 0.05 + 3000 x 1.25 + 1000 x 5
    #   = 5000 + 100 + 3750 + 5000 = 13,850 / 1M
    cost = table.cost("gpt-6.1-terra", TokenUsage(input_tokens=10_000, cached_input_tokens=2000,
                                                  cache_write_tokens=3000, output_tokens=1000),
                      at=AFTER_ALL_CHANGES)
    assert cost.usd == D("0.01385") and not cost.derived


def test_cache_write_by_rule_is_marked_derived(table: PriceTable) -> None:
    # gpt-5.6-terra after the cut: cache write = 1.25 x 2 = 2.5; 1000 x 2.5 = 2,500 / 1M
    cost = table.cost("gpt-5.6-terra", TokenUsage(input_tokens=1000, cache_write_tokens=1000),
                      at=AFTER_ALL_CHANGES)
    assert cost.usd == D("0.0025") and cost.derived
    plain = table.cost("gpt-5.6-terra", TokenUsage(input_tokens=1000), at=AFTER_ALL_CHANGES)
    assert plain.usd == D("0.002") and not plain.derived


def test_cache_write_without_a_rate_bills_at_input(table: PriceTable) -> None:
    # gpt-4o has no cache-write price: all 1000 input tokens at 2.5 = 2,500 / 1M
    assert usd(table, "gpt-4o", input_tokens=1000, cache_write_tokens=300) == D("0.0025")


def test_reasoning_is_output_and_never_added_twice(table: PriceTable) -> None:
    # o4-mini: 1000 x 1.1 + 2000 x 4.4 = 1100 + 8800 = 9,900 / 1M
    with_reasoning = usd(table, "o4-mini", input_tokens=1000, output_tokens=2000,
                         reasoning_tokens=1500)
    assert with_reasoning == D("0.0099")
    assert with_reasoning == usd(table, "o4-mini", input_tokens=1000, output_tokens=2000)


def test_audio_in_and_out(table: PriceTable) -> None:
    # gpt-realtime: text in (10000-1000-4000) x 4 = 20,000; cached 1000 x 0.4 = 400;
    # audio in 4000 x 32 = 128,000; text out (3000-2000) x 16 = 16,000; audio out 2000 x 64
    # = 128,000 -> 292,400 / 1M
    assert usd(table, "gpt-realtime", input_tokens=10_000, cached_input_tokens=1000,
               audio_input_tokens=4000, output_tokens=3000,
               audio_output_tokens=2000) == D("0.2924")


def test_audio_on_a_text_model_bills_as_text(table: PriceTable) -> None:
    # gpt-4o has no audio rates: 1000 x 2.5 + 100 x 10 = 3,500 / 1M
    assert usd(table, "gpt-4o", input_tokens=1000, audio_input_tokens=1000, output_tokens=100,
               audio_output_tokens=100) == D("0.0035")


def test_tts_and_transcribe_use_the_chosen_audio_rates(table: PriceTable) -> None:
    # gpt-4o-mini-tts: 1000 text in x 0.6 + 2000 audio out x 12 = 600 + 24,000 = 24,600 / 1M
    assert usd(table, "gpt-4o-mini-tts", input_tokens=1000, output_tokens=2000,
               audio_output_tokens=2000) == D("0.0246")
    # gpt-4o-transcribe: 1000 audio in x 6 + 100 out x 10 = 7,000 / 1M
    assert usd(table, "gpt-4o-transcribe", input_tokens=1000, audio_input_tokens=1000,
               output_tokens=100) == D("0.007")


def test_batch(table: PriceTable) -> None:
    cost = table.cost("gpt-4o", TokenUsage(input_tokens=1000, output_tokens=1000),
                      at=AFTER_ALL_CHANGES, batch=True)
    # explicit batch rates 1.25 / 5: 1250 + 5000 = 6,250 / 1M
    assert (cost.usd, cost.tier, cost.derived) == (D("0.00625"), "batch", False)
    # a batch job wins over any service tier; cached batch input is derived (0.625)
    cached = table.cost("gpt-4o", TokenUsage(input_tokens=1000, cached_input_tokens=1000),
                        at=AFTER_ALL_CHANGES, batch=True, service_tier="priority")
    assert (cached.usd, cached.tier, cached.derived) == (D("0.000625"), "batch", True)


def test_flex(table: PriceTable) -> None:
    # o3 flex 1 / 0.25 / 4: 500 x 1 + 500 x 0.25 + 1000 x 4 = 4,625 / 1M
    cost = table.cost("o3", TokenUsage(input_tokens=1000, cached_input_tokens=500,
                                       output_tokens=1000),
                      at=AFTER_ALL_CHANGES, service_tier="flex")
    assert (cost.usd, cost.tier, cost.derived) == (D("0.004625"), "flex", False)


@pytest.mark.parametrize("tier", ["priority", "fast", "PRIORITY"])
def test_priority_uses_openais_page_for_gpt_5_5(table: PriceTable, tier: str) -> None:
    # 12.50 / 75 (OpenAI's priority page, not LiteLLM's 10 / 60): 12,500 + 75,000 = 87,500 / 1M
    cost = table.cost("gpt-5.5", TokenUsage(input_tokens=1000, output_tokens=1000),
                      at=AFTER_ALL_CHANGES, service_tier=tier)
    assert (cost.usd, cost.tier, cost.derived) == (D("0.0875"), "priority", False)


@pytest.mark.parametrize("tier", [None, "default", "auto", "scale", "standard"])
def test_standard_tier_names(table: PriceTable, tier: str | None) -> None:
    # 1000 x 5 + 1000 x 30 = 35,000 / 1M
    cost = table.cost("gpt-5.5", TokenUsage(input_tokens=1000, output_tokens=1000),
                      at=AFTER_ALL_CHANGES, service_tier=tier)
    assert (cost.usd, cost.tier, cost.derived) == (D("0.035"), "standard", False)


def test_priority_by_rule_is_derived(table: PriceTable) -> None:
    # gpt-5.3-codex has no priority figure: 2 x (1.75 / 14) -> 3,500 + 28,000 = 31,500 / 1M
    cost = table.cost("gpt-5.3-codex", TokenUsage(input_tokens=1000, output_tokens=1000),
                      at=AFTER_ALL_CHANGES, service_tier="priority")
    assert (cost.usd, cost.tier, cost.derived) == (D("0.0315"), "priority", True)


def test_tier_not_offered_falls_back_to_standard(table: PriceTable) -> None:
    # gpt-5-nano has no priority tier: 1000 x 0.05 + 1000 x 0.4 = 450 / 1M at standard
    cost = table.cost("gpt-5-nano", TokenUsage(input_tokens=1000, output_tokens=1000),
                      at=AFTER_ALL_CHANGES, service_tier="priority")
    assert (cost.usd, cost.tier, cost.derived) == (D("0.00045"), "standard", True)


def test_unrecognised_tier_is_standard_and_flagged(table: PriceTable) -> None:
    cost = table.cost("gpt-4o", TokenUsage(input_tokens=1000), at=AFTER_ALL_CHANGES,
                      service_tier="turbo")
    assert (cost.usd, cost.tier, cost.derived) == (D("0.0025"), "standard", True)
    assert normalize_tier("Flex") == ("flex", False)
    assert normalize_tier("scale", batch=True) == ("batch", False)


def test_long_context_switch_at_272000_vs_272001(table: PriceTable) -> None:
    at_limit = table.cost("gpt-5.4", TokenUsage(input_tokens=272_000, output_tokens=1000),
                          at=AFTER_ALL_CHANGES)
    # 272,000 x 2.5 + 1000 x 15 = 680,000 + 15,000 = 695,000 / 1M
    assert (at_limit.usd, at_limit.long_context) == (D("0.695"), False)
    over = table.cost("gpt-5.4", TokenUsage(input_tokens=272_001, output_tokens=1000),
                      at=AFTER_ALL_CHANGES)
    # whole request at 2x / 1.5x: 272,001 x 5 + 1000 x 22.5 = 1,360,005 + 22,500 = 1,382,505
    assert (over.usd, over.long_context, over.derived) == (D("1.382505"), True, False)


def test_long_context_cached_and_pro(table: PriceTable) -> None:
    # gpt-5.4 >272K: 200,000 x 5 + 100,000 x 0.5 = 1,050,000 / 1M
    assert usd(table, "gpt-5.4", input_tokens=300_000, cached_input_tokens=100_000) == D("1.05")
    # gpt-5.4-pro >272K: 300,000 x 60 + 10,000 x 270 = 18,000,000 + 2,700,000 = 20,700,000
    assert usd(table, "gpt-5.4-pro", input_tokens=300_000, output_tokens=10_000) == D("20.7")
    # gpt-4.1 (1M context, no long-context price): 500,000 x 2 = 1,000,000 / 1M
    cost = table.cost("gpt-4.1", TokenUsage(input_tokens=500_000), at=AFTER_ALL_CHANGES)
    assert (cost.usd, cost.long_context) == (D("1"), False)


def test_long_context_on_priority_scales_the_tier(table: PriceTable) -> None:
    # gpt-5.4 priority is 2x standard, long context 2x input / 1.5x output:
    # 272,001 x 10 + 1000 x 45 = 2,720,010 + 45,000 = 2,765,010 / 1M; no source -> derived
    cost = table.cost("gpt-5.4", TokenUsage(input_tokens=272_001, output_tokens=1000),
                      at=AFTER_ALL_CHANGES, service_tier="priority")
    assert (cost.usd, cost.tier, cost.long_context, cost.derived) == (
        D("2.76501"), "priority", True, True)


def test_o3_price_cut_on_2025_06_10(table: PriceTable) -> None:
    one_m = {"input_tokens": 1_000_000, "output_tokens": 1_000_000}
    assert usd(table, "o3", at=datetime(2025, 6, 9, 23, 59, tzinfo=UTC), **one_m) == D(50)
    assert usd(table, "o3", at=datetime(2025, 6, 10, tzinfo=UTC), **one_m) == D(10)
    # an aware time is taken in UTC: 01:00 at +05:00 is still 2025-06-09 in UTC
    plus5 = timezone(timedelta(hours=5))
    assert usd(table, "o3", at=datetime(2025, 6, 10, 1, tzinfo=plus5), **one_m) == D(50)
    # a dated snapshot follows its model's history
    assert usd(table, "o3-2025-04-16", at=datetime(2025, 5, 1), **one_m) == D(50)
    # default `at` is now: the current price
    now = table.cost("o3", TokenUsage(**one_m))
    assert now.usd == D(10)


def test_gpt_5_6_terra_cut_and_sol_promo(table: PriceTable) -> None:
    # 100K in + 100K out stays under the 272K long-context switch
    tokens = {"input_tokens": 100_000, "output_tokens": 100_000}
    assert usd(table, "gpt-5.6-terra", at=datetime(2026, 7, 29, 23, tzinfo=UTC),
               **tokens) == D("1.75")  # 0.1 x 2.5 + 0.1 x 15
    assert usd(table, "gpt-5.6-terra", at=datetime(2026, 7, 30, tzinfo=UTC),
               **tokens) == D("1.4")  # 0.1 x 2 + 0.1 x 12
    assert usd(table, "gpt-5.6-luna", at=datetime(2026, 7, 29, tzinfo=UTC),
               **tokens) == D("0.7")  # 0.1 x 1 + 0.1 x 6
    assert usd(table, "gpt-5.6-luna", at=datetime(2026, 7, 30, tzinfo=UTC),
               **tokens) == D("0.14")  # 0.1 x 0.2 + 0.1 x 1.2
    sol = [(datetime(2026, 8, 20, tzinfo=UTC), D("3.5")),  # list 0.1 x 5 + 0.1 x 30
           (datetime(2026, 8, 21, tzinfo=UTC), D("2.4")),  # promo 0.1 x 4 + 0.1 x 20
           (datetime(2026, 11, 21, 23, tzinfo=UTC), D("2.4")),
           (datetime(2026, 11, 22, tzinfo=UTC), D("3.5"))]
    for when, expected in sol:
        assert usd(table, "gpt-5.6", at=when, **tokens) == expected, when
    assert table.models["gpt-5.6-sol"].uncertain
    # promo tiers and long context have no source figures: derived by rule
    promo = table.cost("gpt-5.6-sol", TokenUsage(**tokens), at=datetime(2026, 9, 1, tzinfo=UTC),
                       batch=True)
    assert (promo.usd, promo.derived) == (D("1.2"), True)


def test_rates_helper(table: PriceTable) -> None:
    rates = table.rates("gpt-4o-2024-08-06", tier="priority")
    assert rates is not None and (rates.input, rates.output) == (D("4.25"), D(17))
    lc = table.rates("gpt-5.4", long_context=True, at=date(2026, 1, 1))
    assert lc is not None and (lc.input, lc.output) == (D(5), D("22.5"))
    no_lc = table.rates("gpt-4o", long_context=True)
    assert no_lc is not None and no_lc.input == D("2.5")
    assert table.rates("nope") is None


def test_first_row_applies_before_its_date_and_since_launch(table: PriceTable) -> None:
    o3 = table.models["o3"]
    assert o3.prices[0].effective_from == LAUNCH
    assert o3.price_at(date(2020, 1, 1)) is o3.prices[0]


def test_zero_usage_costs_zero_not_unknown(table: PriceTable) -> None:
    cost = table.cost("gpt-4o", TokenUsage())
    assert cost.usd == D(0)


def test_money_is_exact_and_quantized_only_for_display(table: PriceTable) -> None:
    amount = usd(table, "gpt-4o-mini", input_tokens=1, output_tokens=1)  # 0.15 + 0.6 per 1M
    assert amount == D("0.00000075") and isinstance(amount, Decimal)
    # displayed by the one money rule (core.money), not by pricing
    assert round_money(D("0.125")) == D("0.13")
    assert round_money(D("0.004625"), 4) == D("0.0046")
    assert str(round_money(D(10))) == "10.00"


# -- user override -------------------------------------------------------------------------------
def test_override_adds_a_model(tmp_path: Path) -> None:
    over = write(tmp_path / "prices.json", {
        "models": {"My-LLM": {"prices": [{"standard": {"input": 1, "output": 2}}]}},
        "aliases": {"mine": "my-llm"},
    })
    table = load_price_table(over)
    assert table.warnings == []
    info = table.models["my-llm"]
    assert (info.encoding, info.encoding_assumed, info.source) == (
        "o200k_base", True, "user override")
    # 1000 x 1 + 1000 x 2 = 3,000 / 1M; batch derived at 50 %
    assert usd(table, "mine", input_tokens=1000, output_tokens=1000) == D("0.003")
    assert usd(table, "my-llm", input_tokens=1000, output_tokens=1000, batch=True) == D("0.0015")
    assert "gpt-4o" in table.models  # bundled entries kept


def test_override_changes_one_price_field(tmp_path: Path) -> None:
    over = write(tmp_path / "prices.json", {
        "models": {"GPT-4o": {"prices": [{"standard": {"input": 3}}], "max_output": 8192}},
    })
    table = load_price_table(over)
    assert table.warnings == []
    info = table.models["gpt-4o"]
    std = info.prices[0].standard
    assert (std.input, std.cached_input, std.output) == (D(3), D("1.25"), D(10))
    assert (info.max_output, info.context_window, info.source) == (8192, 128_000,
                                                                   "LL,GP,TC,OAI-prio")
    # 1000 x 3 + 1000 x 10 = 13,000 / 1M
    assert usd(table, "gpt-4o-2024-11-20", input_tokens=1000, output_tokens=1000) == D("0.013")


def test_override_row_without_date_updates_the_latest_row(tmp_path: Path) -> None:
    over = write(tmp_path / "prices.json",
                 {"models": {"o3": {"prices": [{"standard": {"output": 7}}]}}})
    o3 = load_price_table(over).models["o3"]
    assert [r.standard.output for r in o3.prices] == [D(40), D(7)]


def test_override_adds_a_dated_price_row(tmp_path: Path) -> None:
    over = write(tmp_path / "prices.json", {"models": {"gpt-4o": {"prices": [
        {"effective_from": "2027-01-01", "standard": {"input": 2, "output": 8}}]}}})
    table = load_price_table(over)
    one_m = {"input_tokens": 1_000_000, "output_tokens": 1_000_000}
    assert usd(table, "gpt-4o", at=datetime(2026, 12, 31, tzinfo=UTC), **one_m) == D("12.5")
    assert usd(table, "gpt-4o", at=datetime(2027, 1, 1, tzinfo=UTC), **one_m) == D(10)


def test_missing_override_is_fine(tmp_path: Path) -> None:
    table = load_price_table(tmp_path / "absent.json")
    assert table.warnings == [] and "gpt-4o" in table.models


def test_override_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    over = write(tmp_path / "prices.json", '{\n  "models": {\n    "x": {,}\n  }\n}\n')
    table = load_price_table(over)
    (warning,) = table.warnings
    assert str(over) in warning
    assert "line 3, column 11" in warning
    assert "bundled" in warning
    assert table.models["gpt-4o"].prices[0].standard.input == D("2.5")
    assert "x" not in table.models


@pytest.mark.parametrize(("doc", "where"), [
    ({"models": {"gpt-4o": {"prices": [{"standard": {"input": "cheap"}}]}}},
     "models.gpt-4o.prices[0].standard.input"),
    ({"models": {"gpt-4o": {"prices": [{"standard": {"output": -1}}]}}},
     "models.gpt-4o.prices[0].standard.output"),
    ({"models": {"gpt-4o": {"prices": [{"standrad": {"input": 1}}]}}},
     "models.gpt-4o.prices[0].standrad"),
    ({"models": {"gpt-4o": {"context_window": 0}}}, "models.gpt-4o.context_window"),
    ({"models": {"gpt-4o": {"encoding": "utf8"}}}, "models.gpt-4o.encoding"),
    ({"models": {"new-model": {"prices": [{"standard": {"input": 1}}]}}}, "models.new-model"),
    ({"models": {"new-model": {"note": "no prices"}}}, "models.new-model"),
    ({"aliases": {"x": "no-such-model"}}, "aliases.x"),
    ({"models": {"twice": {"prices": [{"standard": {"input": 1, "output": 1}},
                                      {"standard": {"input": 2, "output": 2}}]}}},
     "models.twice.prices: two rows take effect since launch"),
    ({"as_of": "yesterday"}, "as_of"),
    ({"models": {"gpt-4o": {"prices": [{"effective_from": "2027-13-01",
                                        "standard": {"input": 1, "output": 1}}]}}},
     "models.gpt-4o.prices[0].effective_from"),
    ([1, 2], "expected an object"),
])
def test_override_bad_value_names_file_and_path(tmp_path: Path, doc: Any, where: str) -> None:
    over = write(tmp_path / "prices.json", doc)
    table = load_price_table(over)
    (warning,) = table.warnings
    assert str(over) in warning and where in warning, warning
    assert table.models["gpt-4o"].prices[0].standard.input == D("2.5")


def test_override_not_utf8_is_a_warning(tmp_path: Path) -> None:
    over = tmp_path / "prices.json"
    over.write_bytes(b'{"as_of": "\xff"}')
    table = load_price_table(over)
    assert len(table.warnings) == 1 and str(over) in table.warnings[0]


def test_context_reads_the_override_from_the_config_dir(
    paths: Paths, ctx: AppContext, capsys: pytest.CaptureFixture[str]
) -> None:
    write(paths.prices_override, "{oops")
    table = ctx.prices()
    assert len(ctx.warnings) == 1 and str(paths.prices_override) in ctx.warnings[0]
    assert "line 1, column 2" in ctx.warnings[0]
    assert "warning:" in capsys.readouterr().err
    assert table.models["gpt-4o"].prices[0].standard.input == D("2.5")


# -- corrupt bundled table -----------------------------------------------------------------------
def test_corrupt_bundled_table_is_a_bug(tmp_path: Path) -> None:
    bad = write(tmp_path / "bundled.json", '{"as_of": "2026-11-23",\n "models": }')
    with pytest.raises(BugError, match=r"bundled price table is invalid: .*line 2, column 12"):
        load_price_table(bundled=bad)
    with pytest.raises(BugError, match="bundled price table unreadable"):
        load_price_table(bundled=tmp_path / "missing.json")
    raw = json.loads(resources.read_text("prices.json"), parse_float=D)
    raw["models"]["gpt-4o"]["prices"][0]["standard"]["input"] = "2.5"
    text = json.dumps(raw, default=float)
    with pytest.raises(BugError, match=r"models\.gpt-4o\.prices\[0\]\.standard\.input"):
        load_price_table(bundled=write(tmp_path / "bundled2.json", text))


# -- issue 13: fine-tunes, variants, clamps, priority rule, image tokens --------------------------
M = 1_000_000


@pytest.mark.parametrize(("model", "inp", "cached", "out", "expected"), [
    # 1M input of which 400k cached + 1M output; hand-computed from pricing-sources.md §1c:
    # 0.6 M x 0.30 + 0.4 M x 0.15 + 1 M x 1.20 = 0.18 + 0.06 + 1.20
    ("ft:gpt-4o-mini-2024-07-18:org::abc", M, 400_000, M, "1.44"),
    # 0.6 x 3.75 + 0.4 x 1.875 + 15 = 2.25 + 0.75 + 15
    ("ft:gpt-4o-2024-08-06:org::abc", M, 400_000, M, "18"),
    # 0.6 x 3 + 0.4 x 0.75 + 12
    ("ft:gpt-4.1-2025-04-14:org::abc", M, 400_000, M, "14.1"),
    # 0.6 x 0.8 + 0.4 x 0.2 + 3.2
    ("ft:gpt-4.1-mini-2025-04-14:org::abc", M, 400_000, M, "3.76"),
    # 0.6 x 0.2 + 0.4 x 0.05 + 0.8
    ("ft:gpt-4.1-nano-2025-04-14:org::abc", M, 400_000, M, "0.94"),
    # no cached rate: cached bills at input: 30 + 60
    ("ft:gpt-4-0613:org::abc", M, 400_000, M, "90"),
    # 3 + 6, for every gpt-3.5-turbo snapshot
    ("ft:gpt-3.5-turbo-0125:org::abc", M, 0, M, "9"),
    ("ft:gpt-3.5-turbo-1106:org::abc", M, 0, M, "9"),
])
def test_fine_tunes_have_their_own_rates(table: PriceTable, model: str, inp: int, cached: int,
                                          out: int, expected: str) -> None:
    cost = table.cost(model, TokenUsage(input_tokens=inp, cached_input_tokens=cached,
                                        output_tokens=out), at=AFTER_ALL_CHANGES)
    assert cost.usd == D(expected)
    assert not cost.estimate and cost.reasons == ()


def test_fine_tune_of_an_unlisted_base_is_a_flagged_estimate(table: PriceTable) -> None:
    cost = table.cost("ft:o4-mini-2025-04-16:org::abc",
                      TokenUsage(input_tokens=M, output_tokens=M), at=AFTER_ALL_CHANGES)
    assert cost.usd == D("1.1") + D("4.4")  # o4-mini's own 1.1 / 4.4
    assert cost.resolved == "o4-mini" and cost.estimate
    assert "no published fine-tune rate" in cost.reasons[0]


def test_modality_variants_price_at_their_own_rows(table: PriceTable) -> None:
    # 10k audio in + 500 out on gpt-4o-mini-transcribe: 10,000 x 3 + 500 x 5 = 32,500 µ$
    cost = table.cost("gpt-4o-mini-transcribe", TokenUsage(
        input_tokens=10_000, audio_input_tokens=10_000, output_tokens=500), at=AFTER_ALL_CHANGES)
    assert cost.usd == D("0.0325") and cost.resolved == "gpt-4o-mini-transcribe"
    # the gpt-3.5-turbo snapshots of 2023 kept their launch prices: 1.5 + 2 and 3 + 4
    assert usd(table, "gpt-3.5-turbo-0613", input_tokens=M, output_tokens=M) == D("3.5")
    assert usd(table, "gpt-3.5-turbo-16k", input_tokens=M, output_tokens=M) == D(7)
    assert usd(table, "gpt-3.5-turbo", input_tokens=M, output_tokens=M) == D(2)


def test_only_declared_families_cover_suffixes(table: PriceTable) -> None:
    families = {n for n, i in table.models.items() if i.covers_suffixes}
    assert families == {"gpt-4", "gpt-4-32k", "gpt-4-turbo", "gpt-realtime", "gpt-audio"}
    assert "gpt-3.5-turbo" not in families  # its snapshots differ in price


def test_cached_over_input_is_clamped_and_flagged(table: PriceTable) -> None:
    # gpt-4o: 1,000 input reported with 1,500 cached -> 1,000 cached at 1.25, 0 at 2.5
    cost = table.cost("gpt-4o", TokenUsage(input_tokens=1000, cached_input_tokens=1500),
                      at=AFTER_ALL_CHANGES)
    assert cost.usd == D("0.00125") and cost.usd >= 0
    assert cost.estimate and "cached input (1,500) exceeded input (1,000)" in cost.reasons[0]


def test_reasoning_over_output_is_clamped_and_flagged(table: PriceTable) -> None:
    cost = table.cost("o3", TokenUsage(output_tokens=100, reasoning_tokens=250),
                      at=AFTER_ALL_CHANGES)
    assert cost.usd == D("0.0008")  # 100 x 8 µ$: reasoning never adds
    assert cost.estimate and "reasoning (250) exceeded output (100)" in cost.reasons[0]


def test_consistent_counts_are_not_flagged(table: PriceTable) -> None:
    cost = table.cost("o3", TokenUsage(input_tokens=100, cached_input_tokens=100,
                                       output_tokens=100, reasoning_tokens=100),
                      at=AFTER_ALL_CHANGES)
    assert not cost.estimate


def test_priority_rule(table: PriceTable) -> None:
    codex = table.cost("gpt-5.1-codex-mini", TokenUsage(input_tokens=M, cached_input_tokens=M // 2,
                                                        output_tokens=M),
                       at=AFTER_ALL_CHANGES, service_tier="priority")
    # 0.5 M x 0.45 + 0.5 M x 0.045 + 1 M x 3.6 (reference, not 2x)
    assert codex.usd == D("0.225") + D("0.0225") + D("3.6") and not codex.derived
    for nano in ("gpt-5-nano", "gpt-5.4-nano"):
        cost = table.cost(nano, TokenUsage(input_tokens=M), at=AFTER_ALL_CHANGES,
                          service_tier="priority")
        assert cost.tier == "standard" and cost.derived, nano
    assert table.cost("gpt-4.1-nano", TokenUsage(input_tokens=M), at=AFTER_ALL_CHANGES,
                      service_tier="priority").usd == D("0.2")  # on OpenAI's priority page


def test_image_tokens_at_the_image_rates(table: PriceTable) -> None:
    # gpt-image-1: 1,000 input of which 600 image + 200 cached, 4,000 image output:
    # 200 x 1.25 + 600 x 10 + 200 x 5 + 4,000 x 40 = 250 + 6,000 + 1,000 + 160,000 µ$
    cost = table.cost("gpt-image-1", TokenUsage(
        input_tokens=1000, cached_input_tokens=200, image_input_tokens=600,
        output_tokens=4000, image_output_tokens=4000), at=AFTER_ALL_CHANGES)
    assert cost.usd == D("0.16725")
    # a model without image rates bills image tokens as text: gpt-4o 1,000 x 2.5
    assert usd(table, "gpt-4o", input_tokens=1000, image_input_tokens=1000) == D("0.0025")


def test_cached_audio_at_the_cached_audio_rate(table: PriceTable) -> None:
    # gpt-realtime-mini: 1,000 cached of which 400 audio; 600 uncached audio; 100 text in:
    # 600 x 0.06 + 400 x 0.3 + 600 x 10 + 100 x 0.6 = 36 + 120 + 6,000 + 60 µ$
    cost = table.cost("gpt-realtime-mini", TokenUsage(
        input_tokens=1700, cached_input_tokens=1000, audio_cached_input_tokens=400,
        audio_input_tokens=600), at=AFTER_ALL_CHANGES)
    assert cost.usd == D("0.006216")


def test_long_context_can_be_decided_by_the_caller(table: PriceTable) -> None:
    many = TokenUsage(input_tokens=510_000)  # two requests of 255k: not long context
    assert table.cost("gpt-5.4", many, at=AFTER_ALL_CHANGES, long_context=False).usd \
        == D("1.275")
    one = table.cost("gpt-5.4", many, at=AFTER_ALL_CHANGES)  # one request of 510k
    assert one.usd == D("2.55") and one.long_context
