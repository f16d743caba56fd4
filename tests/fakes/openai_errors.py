"""OpenAI error replies shared by the fakes: the `{"error": {...}}` body and the texts of the
auth failures, as quoted in ../shared/docs/openai-api.md §5.3."""

from __future__ import annotations

from typing import Any

NO_KEY_MESSAGE = (
    "You didn't provide an API key. You need to provide your API key in an Authorization "
    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")


def incorrect_key_message(key: str, *, hide_short: bool = True) -> str:
    """401 `invalid_api_key` text; the key shown as OpenAI does (first 6, last 4), or only
    `***` when it is too short for that (unless `hide_short` is off)."""
    shown = f"{key[:6]}***{key[-4:]}" if len(key) > 10 or not hide_short else "***"
    return (f"Incorrect API key provided: {shown}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.")


def error_body(message: str, type_: str | None = "invalid_request_error",
               code: str | None = None, param: str | None = None) -> dict[str, Any]:
    """`ErrorResponse`: all four keys always present."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}
