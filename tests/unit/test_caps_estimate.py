"""What a capped request reserves: prompt tokens by the tokenizer, output at its maximum."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from monitor.core.clock import fixed_clock
from monitor.core.pricing import PriceTable, load_price_table
from monitor.core.settings import Settings
from monitor.core.tokens import count_tokens
from monitor.core.usage import TokenUsage
from monitor.services.proxy.caps import DEFAULT_OUTPUT_TOKENS, SpendGate

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
TEXT = "Summarise the plot of Hamlet in one sentence, please."


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return load_price_table()


def estimate(prices: PriceTable, doc: dict[str, Any], endpoint: str = "/chat/completions",
             model: str | None = None) -> Decimal | None:  # fmt: skip
    gate = SpendGate(prices=prices, clock=fixed_clock(NOW), settings=Settings)
    return asyncio.run(gate.estimate(json.dumps(doc).encode(), endpoint, model))


def cost(prices: PriceTable, model: str, inp: int, out: int) -> Decimal:
    usd = prices.cost(model, TokenUsage(input_tokens=inp, output_tokens=out), at=NOW).usd
    assert usd is not None
    return usd


def test_chat_reserves_prompt_tokens_and_max_tokens(prices: PriceTable) -> None:
    prompt = count_tokens(TEXT, "o200k_base") + 3 * 1 + 3
    doc = {"model": "gpt-4o", "messages": [{"role": "user", "content": TEXT}]}
    assert estimate(prices, {**doc, "max_tokens": 50}) == cost(prices, "gpt-4o", prompt, 50)
    assert estimate(prices, {**doc, "max_completion_tokens": 70, "n": 2}) == cost(
        prices, "gpt-4o", prompt, 140)
    assert estimate(prices, doc) == cost(prices, "gpt-4o", prompt, DEFAULT_OUTPUT_TOKENS)


def test_responses_and_embeddings(prices: PriceTable) -> None:
    prompt = count_tokens(TEXT, "o200k_base") + 3
    assert estimate(prices, {"model": "gpt-4o", "input": TEXT, "max_output_tokens": 9},
                    "/responses") == cost(prices, "gpt-4o", prompt, 9)
    emb = estimate(prices, {"model": "text-embedding-3-small", "input": [TEXT, TEXT]},
                   "/embeddings")
    tokens = count_tokens(f"{TEXT}\n{TEXT}", "cl100k_base") + 3
    assert emb == cost(prices, "text-embedding-3-small", tokens, 0)


def test_inline_images_are_not_counted_as_text(prices: PriceTable) -> None:
    image = "data:image/png;base64," + "A" * 50_000
    doc = {"model": "gpt-4o", "max_tokens": 1, "messages": [{"role": "user", "content": [
        {"type": "text", "text": TEXT}, {"type": "image_url", "image_url": {"url": image}}]}]}
    assert estimate(prices, doc) == cost(prices, "gpt-4o", count_tokens(TEXT, "o200k_base") + 6,
                                         1)


def test_unknown_model_cannot_be_estimated_and_no_body_reserves_nothing(
    prices: PriceTable,
) -> None:
    # None, never $0: a hard cap refuses what it cannot price (caps.SpendGate.reserve)
    assert estimate(prices, {"model": "no-such-model-xyz", "messages": []}) is None
    gate = SpendGate(prices=prices, clock=fixed_clock(NOW), settings=Settings)
    assert asyncio.run(gate.estimate(None, "/files", None)) == 0
    assert asyncio.run(gate.estimate(b"not json", "/chat/completions", "gpt-4o")) > 0


def test_what_cannot_be_priced_and_what_costs_nothing(prices: PriceTable) -> None:
    gate = SpendGate(prices=prices, clock=fixed_clock(NOW), settings=Settings)

    def run(body: bytes | None, endpoint: str, model: str | None = None) -> Decimal | None:
        return asyncio.run(gate.estimate(body, endpoint, model))

    # billed endpoints that name no readable model cannot be priced
    assert run(None, "/audio/transcriptions") is None
    assert run(b'{"prompt": "a cat"}', "/images/generations") is None
    assert run(b'{"messages": []}', "/chat/completions/") is None
    # ... but a sniffed model (a body too large to read whole) is priced
    assert run(None, "/chat/completions", "gpt-4o") == cost(prices, "gpt-4o", 3,
                                                          DEFAULT_OUTPUT_TOKENS)
    assert run(None, "/audio/speech", "no-such-tts") is None
    # moderations are free, whatever their model; other endpoints are not billed per request
    assert run(b'{"model": "omni-moderation-latest", "input": "x"}', "/moderations") == 0
    assert run(b'{"purpose": "batch"}', "/batches") == 0
    assert run(None, "/files") == 0
