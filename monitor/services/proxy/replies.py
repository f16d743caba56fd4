"""Answers the proxy gives itself (never forwarded), in the OpenAI API's error shape.

`{"error": {"message", "type", "param", "code"}}` is what the official SDKs parse into their
exception classes, so a refusal from the proxy reads like one from the API.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aiohttp import web


def error_body(message: str, code: str, etype: str = "proxy_error") -> bytes:
    return json.dumps(
        {"error": {"message": message, "type": etype, "param": None, "code": code}}
    ).encode()


def json_error(status: int, message: str, code: str, etype: str = "proxy_error",
               headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=error_body(message, code, etype),
                        content_type="application/json", headers=headers)
