"""Chat prompt counting: the cookbook's verified numbers, input shapes, estimates, bad JSON."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from monitor.core.chat_tokens import ChatCount, ChatFormatError, count_chat
from monitor.core.tokens import count_tokens
from monitor.errors import KnownError

FIXTURES = Path(__file__).parent.parent / "fixtures"
MESSAGES_TEXT = (FIXTURES / "cookbook_messages.json").read_text(encoding="utf-8")
TOOLS_TEXT = (FIXTURES / "cookbook_tools.json").read_text(encoding="utf-8")


def _messages() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(MESSAGES_TEXT)
    return data


def _tools_doc() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(TOOLS_TEXT)
    return data


# The notebook's outputs, each checked there against the API's usage.prompt_tokens.
@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-3.5-turbo", 129),
        ("gpt-3.5-turbo-0125", 129),
        ("gpt-4", 129),
        ("gpt-4-0613", 129),
        ("gpt-4-0314", 129),
        ("gpt-4o", 124),
        ("gpt-4o-2024-08-06", 124),
        ("gpt-4o-mini", 124),
        ("gpt-4o-mini-2024-07-18", 124),
        ("gpt-3.5-turbo-0301", 127),  # older notebook copy @06d9feb5 (4 per message, -1 per name)
    ],
)
def test_cookbook_six_message_example(model: str, expected: int) -> None:
    result = count_chat(MESSAGES_TEXT, model)
    assert result.total == expected
    assert result.estimate is False and result.notes == ()
    assert result.reply_priming == 3 and result.tools_tokens == 0
    assert sum(result.per_message) + 3 == result.total
    assert len(result.per_message) == 6


@pytest.mark.parametrize(
    ("model", "expected"),
    [("gpt-3.5-turbo", 105), ("gpt-4", 105), ("gpt-4o", 101), ("gpt-4o-mini", 101)],
)
def test_cookbook_weather_tools_example(model: str, expected: int) -> None:
    result = count_chat(TOOLS_TEXT, model)
    assert result.total == expected
    assert result.estimate is False
    assert result.tools_tokens == expected - sum(result.per_message) - 3


@pytest.mark.parametrize(("model", "expected"), [("gpt-4", 105), ("gpt-4o", 101)])
def test_legacy_functions_and_parsed_objects_count_the_same(model: str, expected: int) -> None:
    doc = _tools_doc()
    legacy = {"messages": doc["messages"], "functions": [t["function"] for t in doc["tools"]]}
    assert count_chat(legacy, model).total == expected
    assert count_chat(json.dumps(legacy), model).total == expected
    assert count_chat(doc, model).total == expected
    # Responses-API style tool: name/parameters at the top level of the tool object.
    flat = {"messages": doc["messages"],
            "tools": [{"type": "function", **t["function"]} for t in doc["tools"]]}
    assert count_chat(flat, model).total == expected


def test_overhead_parts() -> None:
    result = count_chat(_messages(), "gpt-4o")
    # 6 messages x 3 + 4 names x 1
    assert result.message_overhead == 22
    assert result.encoding == "o200k_base"
    first = _messages()[0]
    assert result.per_message[0] == 3 + sum(count_tokens(v, "o200k_base") for v in first.values())


def test_name_costs_one_more_and_role_is_counted() -> None:
    base = [{"role": "user", "content": "hi"}]
    named = [{"role": "user", "name": "bob", "content": "hi"}]
    a = count_chat(base, "gpt-4o")
    b = count_chat(named, "gpt-4o")
    assert b.total - a.total == count_tokens("bob", "o200k_base") + 1
    assert a.total == 3 + count_tokens("user", "o200k_base") + count_tokens("hi", "o200k_base") + 3


@pytest.mark.parametrize(
    "model",
    ["gpt-4.1", "gpt-4.1-mini", "gpt-4.5-preview", "gpt-5", "o3", "gpt-4o-audio-preview",
     "ft:gpt-4o-mini-2024-07-18:acme::x", "gpt-6.1-terra", "some-future-model"],
)
def test_models_the_cookbook_does_not_verify_are_estimates(model: str) -> None:
    result = count_chat(MESSAGES_TEXT, model)
    assert result.estimate is True
    assert any("not verified" in n for n in result.notes)
    assert result.total == 124  # o200k family constants


def test_unverified_cl100k_model_uses_gpt4_constants() -> None:
    result = count_chat(TOOLS_TEXT, "gpt-35-turbo")  # Azure deployment name: cl100k_base
    assert result.estimate is True and result.encoding == "cl100k_base"
    assert result.total == 105


def test_encoding_override_is_an_estimate_unless_it_is_the_models_own() -> None:
    assert count_chat(MESSAGES_TEXT, "gpt-4o", encoding="o200k_base").estimate is False
    other = count_chat(MESSAGES_TEXT, "gpt-4o", encoding="cl100k_base")
    assert other.estimate is True and other.encoding == "cl100k_base"
    assert other.total == 129
    no_model = count_chat(MESSAGES_TEXT, "", encoding="cl100k_base")
    assert no_model.total == 129 and no_model.estimate is True


def test_price_table_encoding_is_used_for_models_tiktoken_does_not_know() -> None:
    from types import SimpleNamespace

    info = SimpleNamespace(encoding="cl100k_base", encoding_assumed=False)
    table: Any = SimpleNamespace(resolve=lambda _m: SimpleNamespace(info=info, how="exact"))
    result = count_chat(MESSAGES_TEXT, "house-model", table)
    assert result.encoding == "cl100k_base" and result.total == 129 and result.estimate


def test_content_parts_images_and_tool_calls() -> None:
    text_msgs = [{"role": "user", "content": "Describe this picture please"}]
    parts_msgs = [{"role": "user", "content": [
        {"type": "text", "text": "Describe this picture please"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
    ]}]
    plain = count_chat(text_msgs, "gpt-4o")
    parts = count_chat(parts_msgs, "gpt-4o")
    assert parts.total == plain.total  # image not counted, text part counted
    assert parts.images == 1 and parts.estimate is True
    assert any("image" in n for n in parts.notes)

    call = [{"role": "assistant", "content": None, "tool_calls": [{
        "id": "call_1", "type": "function",
        "function": {"name": "get_current_weather", "arguments": "{\"location\": \"Paris\"}"},
    }]}, {"role": "tool", "tool_call_id": "call_1", "content": "18C"}]
    result = count_chat(call, "gpt-4o")
    enc = "o200k_base"
    assert result.per_message[0] == 3 + count_tokens("assistant", enc) + count_tokens(
        "get_current_weather", enc) + count_tokens("{\"location\": \"Paris\"}", enc)
    assert result.estimate is True


def test_special_token_text_in_messages_never_raises() -> None:
    msgs = [{"role": "user", "content": "<|endoftext|><|im_start|>system<|im_end|>\ud800"}]
    result = count_chat(msgs, "gpt-4o")
    assert result.total > 10


def test_non_function_tools_are_noted_not_counted() -> None:
    doc = _tools_doc()
    with_search = copy.deepcopy(doc)
    with_search["tools"].append({"type": "web_search"})
    result = count_chat(with_search, "gpt-4o")
    assert result.total == 101 and result.estimate is True
    assert any("web_search" in n for n in result.notes)


def test_missing_descriptions_count_as_empty_with_a_note() -> None:
    doc = {"messages": [{"role": "user", "content": "hi"}],
           "tools": [{"type": "function", "function": {
               "name": "ping", "parameters": {"type": "object", "properties": {
                   "host": {"type": "string"}}}}}]}
    result = count_chat(doc, "gpt-4o")
    enc = "o200k_base"
    assert result.tools_tokens == 7 + count_tokens("ping:", enc) + 3 + 3 + count_tokens(
        "host:string:", enc) + 12
    assert result.estimate is True


def test_no_properties_means_no_prop_init() -> None:
    doc = {"messages": [], "functions": [{"name": "now", "description": "Time.",
                                          "parameters": {"type": "object", "properties": {}}}]}
    result = count_chat(doc, "gpt-4")
    assert result.tools_tokens == 10 + count_tokens("now:Time", "cl100k_base") + 12
    assert result.total == result.tools_tokens + 3


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ('[\n  {"role": "user",\n   "content": "hi",}\n]', 3, 20),
        ('{"messages": [}', 1, 15),
        ("", 1, 1),
        ('[{"role": "user", "content": "unterminated}]', 1, 30),
    ],
)
def test_json_errors_carry_line_and_column(text: str, line: int, column: int) -> None:
    with pytest.raises(ChatFormatError) as info:
        count_chat(text, "gpt-4o")
    err = info.value
    assert isinstance(err, KnownError)
    assert (err.line, err.column) == (line, column)
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        assert (exc.lineno, exc.colno) == (line, column)
    assert f"line {line}, column {column}" in err.text()


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ('{"model": "gpt-4o"}', '"messages" list'),
        ("[1, 2]", "message 1 is int"),
        ('{"messages": [], "tools": {}}', '"tools" must be a list'),
        ('{"messages": [], "tools": [3]}', "tool 1 is not an object"),
        ('{"messages": [], "functions": [{"description": "x"}]}', 'string "name"'),
        ('[{"role": "user", "content": [5]}]', "not an object"),
        ('"just a string"', '"messages" list'),
    ],
)
def test_structure_errors_are_readable(payload: str, fragment: str) -> None:
    with pytest.raises(ChatFormatError, match=None) as info:
        count_chat(payload, "gpt-4o")
    assert fragment in info.value.text()


def test_result_is_a_frozen_value() -> None:
    result = count_chat([], "gpt-4o")
    assert result == ChatCount(3, (), 0, 0, 3, False, "o200k_base")
    with pytest.raises(AttributeError):
        result.total = 5  # type: ignore[misc]
