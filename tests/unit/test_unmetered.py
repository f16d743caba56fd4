"""Usage the upstream got wrong is clamped and flagged; unmetered reasons; input estimates."""

from __future__ import annotations

import json

import pytest

from monitor.core.chat_tokens import count_chat
from monitor.core.tokens import count_tokens
from monitor.services.proxy.metering import MAX_TOKENS, Metered, checked_usage_from_dict
from monitor.services.proxy.unmetered import count_request_input, unmetered_reason


@pytest.mark.parametrize(("prompt", "expected", "sound"), [
    (12, 12, True), (12.0, 12, True), ("12", 12, True), (None, 0, True),
    (-5, 0, False), (float("nan"), 0, False), (float("inf"), MAX_TOKENS, False),
    (1e30, MAX_TOKENS, False), (10**30, MAX_TOKENS, False), ("lots", 0, False),
    (True, 0, False), ([3], 0, False),
])
def test_counts_are_clamped_and_flagged(prompt: object, expected: int, sound: bool) -> None:
    usage, ok = checked_usage_from_dict({"prompt_tokens": prompt, "completion_tokens": 3})
    assert usage is not None and usage.input_tokens == expected and usage.output_tokens == 3
    assert ok is sound


def test_a_usage_member_that_is_not_usable_marks_the_response_malformed() -> None:
    for doc, malformed in [({"usage": None}, False), ({"usage": {"prompt_tokens": 1}}, False),
                           ({"usage": "n/a"}, True), ({"usage": {}}, True),
                           ({"usage": {"prompt_tokens": float("nan")}}, True), ({}, False)]:
        m = Metered()
        m.take(doc)
        assert m.malformed is malformed, doc


def test_unmetered_reasons() -> None:
    chat = "/chat/completions"
    assert unmetered_reason(chat, 200, "POST", True, False, False) is None
    assert unmetered_reason(chat, 200, "POST", True, True, False) == "malformed_usage"
    assert unmetered_reason(chat, 200, "POST", False, False, False) == "no_usage_in_response"
    assert unmetered_reason(chat, 499, "POST", False, False, True) == "client_disconnected"
    assert unmetered_reason(chat, 500, "POST", False, False, False) is None  # an answered error
    assert unmetered_reason("/models", 200, "GET", False, False, False) is None
    assert unmetered_reason("/files", 200, "POST", False, False, False) is None  # no tokens


def test_input_estimates_count_with_the_model_tokenizer() -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    body = json.dumps({"model": "gpt-4o", "messages": messages}).encode()
    assert count_request_input("/chat/completions", "gpt-4o", body) == count_chat(
        {"messages": messages}, "gpt-4o").total
    body = json.dumps({"model": "gpt-4o", "input": "Say hello to the world"}).encode()
    assert count_request_input("/responses", "gpt-4o", body) == count_tokens(
        "Say hello to the world", "o200k_base")
    assert count_request_input("/responses", "gpt-4o", b"not json") is None
    assert count_request_input("/embeddings", "gpt-4o", b'{"input": 5}') is None
