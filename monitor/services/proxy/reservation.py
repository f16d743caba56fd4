"""What a hard-capped request may cost at most: everything billable in its body, counted.

`worst_case` reads a request document (chat, completions, Responses, embeddings; any JSON) and
adds up what the upstream may bill for it:

- **Text**: every string in the body (messages, content parts, `input`, `prompt`,
  `instructions`, tool definitions, ...) except the fields that are not model input
  (`_NOT_TEXT`), counted by the model's tokenizer, plus a few tokens per message. A string is
  text whatever it starts with: `"data:" + "hello " * 1000` is 1,000 words.
- **Token ids**: an array of integers (`prompt: [1, 2, 3]`, embeddings `input: [[…], […]]`)
  is that many tokens.
- **Images**: an image content part (`type` `image_url`, `input_image` or `image`) is reserved
  at `IMAGE_TOKENS` (the most a high-detail image costs), never by the size of its data URL.
- **Output**: `max_completion_tokens` / `max_tokens` / `max_output_tokens`, else
  `DEFAULT_OUTPUT_TOKENS`, times the choices generated (`n`, or `best_of` when larger: every
  candidate is billed).
- **Input the proxy cannot see** (`UNSEEN_KEYS`: `previous_response_id`, `conversation`, a
  stored `prompt` template, an `item_reference`, a file or audio part) makes the input's worst
  case the model's whole context window (`ModelInfo.context_window`, else
  `UNSEEN_INPUT_TOKENS`); `Reservation.unseen` names it, so a refusal can say why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_OUTPUT_TOKENS = 4096
"""Output tokens reserved per choice for a request that does not name its maximum."""
IMAGE_TOKENS = 2_500
"""Input tokens reserved per image part: above a high-detail image on the tile-priced models
(8 tiles x 170 + 85 = 1,445) and the patch-priced ones (1,536 patches x 1.62 = 2,489)."""
UNSEEN_INPUT_TOKENS = 1_000_000
"""Input reserved when the request refers to input the proxy cannot see and the price table
does not know the model's context window (the largest windows are about 1M tokens)."""
MESSAGE_TOKENS = 3
"""Tokens of framing per message (role and separators), and once for the reply's priming."""
MAX_DEPTH = 64
"""Nesting walked; a deeper body is not a real request (and its rest counts as unseen)."""

_MAX_KEYS = ("max_completion_tokens", "max_tokens", "max_output_tokens")
_NOT_TEXT = frozenset({"model", "service_tier", "user", "stream", "stream_options",
                       "response_format", "metadata", "store", "reasoning", "modalities",
                       "encoding_format", "tool_choice", "role", "type", "id", "detail",
                       "n", "best_of", "seed", "temperature", "top_p", "logprobs",
                       "top_logprobs", "dimensions", "truncation", "parallel_tool_calls",
                       "safety_identifier", "prompt_cache_key", *_MAX_KEYS})
_IMAGE_TYPES = frozenset({"image_url", "input_image", "image"})
_UNSEEN_TYPES = frozenset({"item_reference", "input_file", "file", "input_audio", "audio"})
UNSEEN_KEYS = ("previous_response_id", "conversation")
"""Top-level fields that make the upstream add input stored on its side."""


@dataclass(frozen=True)
class Reservation:
    """A request's worst case in tokens (priced by the gate)."""

    text: str  # every text of the body, joined: counted by the model's tokenizer
    messages: int
    token_ids: int  # integers given as token ids
    images: int
    output_per_choice: int  # 0 for an endpoint without output (embeddings)
    choices: int
    output_named: bool  # the request named its maximum output
    unseen: str  # "" or what the proxy cannot see (e.g. "previous_response_id")

    @property
    def output_tokens(self) -> int:
        return self.output_per_choice * self.choices

    def fixed_tokens(self) -> int:
        """Input tokens that need no tokenizer: token ids, images, message framing."""
        return self.token_ids + self.images * IMAGE_TOKENS + MESSAGE_TOKENS * (
            self.messages + 1)


def _positive_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


class _Walk:
    def __init__(self) -> None:
        self.texts: list[str] = []
        self.messages = 0
        self.token_ids = 0
        self.images = 0
        self.unseen = ""

    def see(self, item: Any, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            self.unseen = self.unseen or "a body nested too deep to read"
            return
        if isinstance(item, str):
            self.texts.append(item)
        elif isinstance(item, list):
            if item and all(isinstance(v, int) and not isinstance(v, bool) for v in item):
                self.token_ids += len(item)
                return
            for v in item:
                self.see(v, depth + 1)
        elif isinstance(item, dict):
            self._part(item, depth)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            # a lone number where input goes (`prompt: 50256`) is one token id
            self.token_ids += 1 if isinstance(item, int) else 0

    def _part(self, item: dict[str, Any], depth: int) -> None:
        kind = item.get("type")
        if "role" in item:
            self.messages += 1
        if kind in _IMAGE_TYPES:
            self.images += 1
            return
        if kind in _UNSEEN_TYPES or (kind is None and ("input_audio" in item
                                                       or "file_id" in item)):
            self.unseen = self.unseen or f"a {kind or 'file'} part"
            return
        for key, value in item.items():
            if key in _NOT_TEXT or isinstance(value, bool | float) or value is None:
                continue
            if isinstance(value, int):
                continue  # numbers inside objects are settings, not token ids
            self.see(value, depth + 1)


def worst_case(doc: dict[str, Any], endpoint: str, *, with_output: bool) -> Reservation:
    """The billable parts of request `doc` (see the module docstring)."""
    walk = _Walk()
    for key in UNSEEN_KEYS:
        if doc.get(key):
            walk.unseen = key
    if endpoint.rstrip("/") == "/responses" and isinstance(doc.get("prompt"), dict):
        walk.unseen = walk.unseen or "a stored prompt template"
    for key, value in doc.items():
        if key in _NOT_TEXT or key in UNSEEN_KEYS:
            continue
        if isinstance(value, int) and not isinstance(value, bool) and key not in (
                "prompt", "input"):
            continue
        if isinstance(value, bool | float) or value is None:
            continue
        walk.see(value, 1)
    output, named, choices = 0, False, 1
    if with_output:
        named_max = next((v for k in _MAX_KEYS if (v := _positive_int(doc.get(k))) is not None),
                         None)
        named = named_max is not None
        output = named_max if named_max is not None else DEFAULT_OUTPUT_TOKENS
        choices = max(_positive_int(doc.get("n")) or 1, _positive_int(doc.get("best_of")) or 1)
    return Reservation("\n".join(walk.texts), walk.messages, walk.token_ids, walk.images,
                       output, choices, named, walk.unseen)
