"""Prompt tokens of a Chat Completions request, by the OpenAI cookbook's counting rules.

Source: openai-cookbook `examples/How_to_count_tokens_with_tiktoken.ipynb` (@c81359cd),
`num_tokens_from_messages` and `num_tokens_for_tools`:

* every message costs 3 tokens plus the tokens of every field value, `role` included;
  a `name` field costs 1 more; every reply is primed with 3 tokens
  (``<|start|>assistant<|message|>``);
* functions: per function `func_init` + tokens of ``"name:description"`` (one trailing "."
  dropped); if it has properties, `prop_init` once, and per property `prop_key` + tokens of
  ``"key:type:description"``; an enum adds `enum_init` once and `enum_item` + its tokens per
  value; `func_end` once when there is any function.

The notebook checks these numbers against the API for gpt-3.5-turbo, gpt-4, gpt-4o and
gpt-4o-mini only. For every other model the same rules are applied with the constants of the
model's encoding family and the result is flagged `estimate`. Anything the cookbook does not
describe (content parts, tool calls in assistant messages, nested parameter schemas, images)
is counted as documented at `count_chat` and also flags `estimate`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from monitor.core.tokens import DEFAULT_ENCODING, count_tokens, encoding_for_model
from monitor.errors import KnownError

if TYPE_CHECKING:
    from monitor.core.prices import PriceTable


@dataclass(frozen=True)
class ChatCount:
    """A chat prompt's tokens.

    `total` = sum(`per_message`) + `tools_tokens` + `reply_priming`. Each `per_message` entry
    includes that message's fixed overhead; `message_overhead` is the sum of those fixed parts
    (3 per message, +1 per name). `images` counts image parts that are *not* in the total.
    """

    total: int
    per_message: tuple[int, ...]
    message_overhead: int
    tools_tokens: int
    reply_priming: int
    estimate: bool
    encoding: str
    notes: tuple[str, ...] = ()
    images: int = 0


class ChatFormatError(KnownError):
    """The chat input is not valid JSON or not a list of messages; line/column are 1-based
    (0 when the problem is in the structure rather than at one place in the text)."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        self.line = line
        self.column = column
        where = f" at line {line}, column {column}" if line else ""
        super().__init__(f"chat input{where}: {message}")


@dataclass(frozen=True)
class _Family:
    tokens_per_message: int
    tokens_per_name: int
    func_init: int
    prop_init: int = 3
    prop_key: int = 3
    enum_init: int = -3
    enum_item: int = 3
    func_end: int = 12


_GPT4O = _Family(tokens_per_message=3, tokens_per_name=1, func_init=7)
_GPT4 = _Family(tokens_per_message=3, tokens_per_name=1, func_init=10)
# gpt-3.5-turbo-0301 (older copy of the notebook, @06d9feb5): "if there's a name, the role is
# omitted".
_GPT35_0301 = _Family(tokens_per_message=4, tokens_per_name=-1, func_init=10)

REPLY_PRIMING = 3
_GPT4O_VERIFIED = re.compile(r"gpt-4o(-mini)?(-\d{4}-\d{2}-\d{2})?")


def _family(model: str, encoding: str) -> tuple[_Family, bool]:
    """The constants for `model` and whether the cookbook verified them (False = estimate)."""
    m = model.strip().lower()
    if m == "gpt-3.5-turbo-0301":
        return _GPT35_0301, True
    if m.startswith("gpt-3.5-turbo") or m == "gpt-4" or m.startswith("gpt-4-"):
        return _GPT4, True
    if _GPT4O_VERIFIED.fullmatch(m):
        return _GPT4O, True
    return (_GPT4 if encoding == "cl100k_base" else _GPT4O), False


def parse_chat_json(text: str) -> Any:
    """json.loads with errors turned into ChatFormatError (line and column of the problem)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ChatFormatError(f"not valid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise ChatFormatError("JSON nested too deeply") from None


_TEXT_PART_TYPES = {"text", "input_text", "output_text"}
_IMAGE_PART_TYPES = {"image_url", "input_image", "image"}


class _Counter:
    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.notes: list[str] = []
        self.estimate = False
        self.images = 0

    def note(self, text: str) -> None:
        self.estimate = True
        if text not in self.notes:
            self.notes.append(text)

    def text(self, value: str) -> int:
        return count_tokens(value, self.encoding)

    def value(self, key: str, value: Any) -> int:
        if isinstance(value, str):
            return self.text(value)
        if value is None:
            return 0
        if key == "content" and isinstance(value, list):
            return self.content_parts(value)
        if key == "tool_calls" and isinstance(value, list):
            self.note("tool calls in messages are counted as name + arguments (estimate)")
            return sum(self.call(c) for c in value)
        if key == "function_call" and isinstance(value, dict):
            self.note("function calls in messages are counted as name + arguments (estimate)")
            return self.call({"function": value})
        self.note(f"non-text field {key!r} counted as compact JSON (estimate)")
        return self.text(json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    def call(self, call: Any) -> int:
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict):
            return self.text(json.dumps(call, separators=(",", ":"), ensure_ascii=False))
        n = 0
        for field in ("name", "arguments"):
            v = fn.get(field)
            if isinstance(v, str):
                n += self.text(v)
            elif v is not None:
                n += self.text(json.dumps(v, separators=(",", ":"), ensure_ascii=False))
        return n

    def content_parts(self, parts: list[Any]) -> int:
        self.note("content given as a list of parts: text parts counted as if joined (estimate)")
        n = 0
        for part in parts:
            if isinstance(part, str):
                n += self.text(part)
                continue
            if not isinstance(part, dict):
                raise ChatFormatError(f"content part {part!r:.40} is not an object")
            ptype = part.get("type")
            if isinstance(part.get("text"), str) and ptype in (_TEXT_PART_TYPES | {None}):
                n += self.text(part["text"])
            elif ptype in _IMAGE_PART_TYPES:
                self.images += 1
                self.note("image parts are not counted (their tokens depend on size and detail)")
            elif isinstance(ptype, str) and ptype.endswith(("audio", "file")):
                self.note(f"{ptype} parts are not counted")
            else:
                self.note(f"content part of type {ptype!r} counted as compact JSON (estimate)")
                n += self.text(json.dumps(part, separators=(",", ":"), ensure_ascii=False))
        return n

    def functions(self, functions: list[dict[str, Any]], fam: _Family) -> int:
        if not functions:
            return 0
        n = 0
        for fn in functions:
            n += fam.func_init
            name = fn.get("name")
            if not isinstance(name, str):
                raise ChatFormatError("every function needs a string \"name\"")
            desc = _str_field(fn, "description", self, f"function {name!r}")
            n += self.text(f"{name}:{_drop_period(desc)}")
            params = fn.get("parameters") or {}
            props = params.get("properties") if isinstance(params, dict) else None
            if not isinstance(props, dict) or not props:
                continue
            n += fam.prop_init
            for key, prop in props.items():
                n += fam.prop_key
                if not isinstance(prop, dict):
                    raise ChatFormatError(f"property {key!r} of function {name!r} is not an object")
                ptype = prop.get("type", "")
                if isinstance(ptype, list):
                    self.note("union property types counted as 'a | b' (estimate)")
                    ptype = " | ".join(str(t) for t in ptype)
                elif not isinstance(ptype, str):
                    ptype = str(ptype)
                if ptype in ("object", "array") and (
                    "properties" in prop or "items" in prop
                ):
                    self.note("nested parameter schemas count only their top level (estimate)")
                pdesc = _str_field(prop, "description", self, f"property {key!r}")
                if "enum" in prop:
                    n += fam.enum_init
                    for item in prop["enum"] or ():
                        n += fam.enum_item + self.text(item if isinstance(item, str) else
                                                       json.dumps(item))
                n += self.text(f"{key}:{ptype}:{_drop_period(pdesc)}")
        return n + fam.func_end


def _drop_period(text: str) -> str:
    return text[:-1] if text.endswith(".") else text


def _str_field(obj: dict[str, Any], key: str, counter: _Counter, what: str) -> str:
    value = obj.get(key)
    if isinstance(value, str):
        return value
    if value is None:
        counter.note(f"{what} has no {key}; counted as empty (estimate)")
        return ""
    counter.note(f"{what}: non-text {key} counted as JSON (estimate)")
    return json.dumps(value, ensure_ascii=False)


def _split_payload(payload: Any) -> tuple[list[Any], list[dict[str, Any]], list[str]]:
    """(messages, function definitions, types of tools that are not functions)."""
    if isinstance(payload, list):
        return payload, [], []
    if not isinstance(payload, dict) or not isinstance(payload.get("messages"), list):
        raise ChatFormatError(
            'expected a JSON list of messages, or an object with a "messages" list '
            '(and optionally "tools" or "functions")'
        )
    functions: list[dict[str, Any]] = []
    other: list[str] = []
    tools = payload.get("tools")
    tools = [] if tools is None else tools
    if not isinstance(tools, list):
        raise ChatFormatError('"tools" must be a list')
    for i, tool in enumerate(tools, 1):
        if not isinstance(tool, dict):
            raise ChatFormatError(f"tool {i} is not an object")
        if tool.get("type", "function") == "function":
            fn = tool.get("function", tool)  # Responses API puts name/parameters at top level
            if not isinstance(fn, dict):
                raise ChatFormatError(f'tool {i}: "function" must be an object')
            functions.append(fn)
        else:
            other.append(str(tool.get("type")))
    legacy = payload.get("functions")
    legacy = [] if legacy is None else legacy
    if not isinstance(legacy, list) or not all(isinstance(f, dict) for f in legacy):
        raise ChatFormatError('"functions" must be a list of objects')
    functions.extend(legacy)
    return payload["messages"], functions, other


def count_chat(
    payload: str | list[Any] | dict[str, Any],
    model: str,
    table: PriceTable | None = None,
    *,
    encoding: str | None = None,
) -> ChatCount:
    """Prompt tokens of `payload`: a JSON text or parsed list of messages, or an object
    ``{"messages": [...], "tools": [...]}`` (tools as ``{"type": "function", "function": {...}}``)
    or with legacy ``"functions": [...]``.

    `encoding` overrides the model's encoding (the result is then an estimate unless it is the
    model's own). Beyond the cookbook: a `None` value counts 0; content given as a list of parts
    counts its text parts (image parts are reported in `images`, not counted); `tool_calls` /
    `function_call` count their names and argument strings; any other non-string value counts
    as compact JSON. Each of these marks the result `estimate` and adds a note.
    """
    data = parse_chat_json(payload) if isinstance(payload, str) else payload
    messages, functions, other_tools = _split_payload(data)

    counter: _Counter
    if not model.strip():  # no model: only an encoding (its family's constants)
        enc_name = encoding or DEFAULT_ENCODING
        fam, _ = _family("", enc_name)
        counter = _Counter(enc_name)
        counter.note(f"no model given: overheads of the {enc_name} family assumed")
    else:
        natural = encoding_for_model(model, table)
        enc_name = encoding or natural.name
        fam, verified = _family(model, natural.name)
        counter = _Counter(enc_name)
        if not verified:
            counter.note(f"the cookbook's overheads are not verified for {model}")
        if encoding is not None and encoding != natural.name:
            counter.note(f"counted with {encoding} instead of {model}'s {natural.name}")
        if natural.assumed and encoding is None:
            counter.note(f"{natural.name} is assumed for {model}")

    per_message: list[int] = []
    overhead = 0
    for i, msg in enumerate(messages, 1):
        if not isinstance(msg, dict):
            raise ChatFormatError(
                f'message {i} is {type(msg).__name__}, expected an object like '
                f'{{"role": "user", "content": "…"}}'
            )
        n = fam.tokens_per_message
        fixed = fam.tokens_per_message
        for key, value in msg.items():
            n += counter.value(key, value)
            if key == "name":
                n += fam.tokens_per_name
                fixed += fam.tokens_per_name
        per_message.append(n)
        overhead += fixed

    for t in other_tools:
        counter.note(f"tools of type {t!r} are not counted")
    tools_tokens = counter.functions(functions, fam)
    total = sum(per_message) + tools_tokens + REPLY_PRIMING
    return ChatCount(
        total=total,
        per_message=tuple(per_message),
        message_overhead=overhead,
        tools_tokens=tools_tokens,
        reply_priming=REPLY_PRIMING,
        estimate=counter.estimate,
        encoding=enc_name,
        notes=tuple(counter.notes),
        images=counter.images,
    )
