"""What a capped request reserves: prompt tokens by the tokenizer, output at its maximum."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from monitor.core.clock import fixed_clock
from monitor.core.prices import PriceTable
from monitor.core.settings import Settings
from monitor.core.tokens import count_tokens
from monitor.core.usage import TokenUsage
from monitor.services.price_files import load_price_table
from monitor.services.proxy.caps import DEFAULT_OUTPUT_TOKENS, SpendGate
from monitor.services.proxy.reservation import IMAGE_TOKENS

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


def test_an_image_part_is_one_image_whatever_its_data_url(prices: PriceTable) -> None:
    small = "data:image/png;base64," + "A" * 100
    large = "data:image/png;base64," + "A" * 50_000

    def doc(url: str) -> dict[str, Any]:
        return {"model": "gpt-4o", "max_tokens": 1, "messages": [{"role": "user", "content": [
            {"type": "text", "text": TEXT}, {"type": "image_url", "image_url": {"url": url}}]}]}

    expected = cost(prices, "gpt-4o", count_tokens(TEXT, "o200k_base") + 6 + IMAGE_TOKENS, 1)
    assert estimate(prices, doc(small)) == estimate(prices, doc(large)) == expected


def test_a_text_that_starts_with_data_is_text(prices: PriceTable) -> None:
    """The issue's case: `"data:" + "hello " * 1000` is ~1,000 billed tokens, not an image."""
    text = "data:" + "hello " * 1000
    doc = {"model": "gpt-4o", "max_tokens": 16, "messages": [{"role": "user", "content": text}]}
    tokens = count_tokens(text, "o200k_base")
    assert tokens > 1000
    assert estimate(prices, doc) == cost(prices, "gpt-4o", tokens + 6, 16)
    responses = {"model": "gpt-4o", "input": text, "max_output_tokens": 16}
    assert estimate(prices, responses, "/responses") == cost(prices, "gpt-4o", tokens + 3, 16)


def test_token_id_arrays_are_tokens(prices: PriceTable) -> None:
    ids = list(range(1000, 1500))
    emb = estimate(prices, {"model": "text-embedding-3-small", "input": [ids, ids]},
                   "/embeddings")
    assert emb == cost(prices, "text-embedding-3-small", 1000 + 3, 0)
    flat = estimate(prices, {"model": "text-embedding-3-small", "input": ids}, "/embeddings")
    assert flat == cost(prices, "text-embedding-3-small", 500 + 3, 0)
    done = estimate(prices, {"model": "gpt-3.5-turbo-instruct", "prompt": ids,
                             "max_tokens": 5}, "/completions")
    assert done == cost(prices, "gpt-3.5-turbo-instruct", 500 + 3, 5)


def test_best_of_and_n_multiply_the_output(prices: PriceTable) -> None:
    base = {"model": "gpt-3.5-turbo-instruct", "prompt": TEXT, "max_tokens": 10}
    tokens = count_tokens(TEXT, "cl100k_base") + 3
    model = "gpt-3.5-turbo-instruct"
    assert estimate(prices, base, "/completions") == cost(prices, model, tokens, 10)
    assert estimate(prices, {**base, "best_of": 20}, "/completions") == cost(
        prices, model, tokens, 200)
    assert estimate(prices, {**base, "best_of": 3, "n": 2}, "/completions") == cost(
        prices, model, tokens, 30)


def test_input_the_proxy_cannot_see_reserves_the_context_window(prices: PriceTable) -> None:
    window = prices.resolve("gpt-4o").info.context_window  # type: ignore[union-attr]
    assert window and window > 100_000
    plain = {"model": "gpt-4o", "input": "and then?", "max_output_tokens": 10}
    for extra in ({"previous_response_id": "resp_123"}, {"conversation": "conv_1"},
                  {"prompt": {"id": "pmpt_1", "version": "2"}}):
        got = estimate(prices, {**plain, **extra}, "/responses")
        assert got == cost(prices, "gpt-4o", window, 10), extra
    assert estimate(prices, plain, "/responses") < cost(prices, "gpt-4o", 1000, 10)
    file_part = {"model": "gpt-4o", "max_tokens": 10, "messages": [{"role": "user", "content": [
        {"type": "file", "file": {"file_id": "file-1"}}]}]}
    assert estimate(prices, file_part) == cost(prices, "gpt-4o", window, 10)


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
    # ... but a sniffed model (a body too large to read whole) is priced, its unseen
    # input at the model's context window
    window = prices.resolve("gpt-4o").info.context_window  # type: ignore[union-attr]
    assert window
    assert run(None, "/chat/completions", "gpt-4o") == cost(prices, "gpt-4o", window,
                                                          DEFAULT_OUTPUT_TOKENS)
    assert run(None, "/audio/speech", "no-such-tts") is None
    # moderations are free, whatever their model; other endpoints are not billed per request
    assert run(b'{"model": "omni-moderation-latest", "input": "x"}', "/moderations") == 0
    assert run(b'{"purpose": "batch"}', "/batches") == 0
    assert run(None, "/files") == 0
