"""Token counts by kind, as the API reports them (subsets are inside their totals)."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class TokenUsage:
    """Tokens of one request or bucket.

    `cached_input_tokens`, `cache_write_tokens`, `audio_input_tokens` (uncached audio, the
    2026 spec's meaning) and `image_input_tokens` are subsets of `input_tokens`;
    `audio_cached_input_tokens` is the audio part of `cached_input_tokens`;
    `reasoning_tokens`, `audio_output_tokens` and `image_output_tokens` are subsets of
    `output_tokens` (pricing-sources.md §6). Never add a subset to its total.
    """

    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    audio_input_tokens: int = 0
    audio_output_tokens: int = 0
    audio_cached_input_tokens: int = 0
    image_input_tokens: int = 0
    image_output_tokens: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(TokenUsage))
        )

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def is_zero(self) -> bool:
        return not any(self.__dict__.values())
