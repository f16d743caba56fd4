"""A fake OpenAI model-endpoint server (aiohttp) that answers like openai-api.md §4–§5 says.

Routes: POST /v1/chat/completions (JSON, and SSE with the `choices: []` usage chunk only
when `stream_options.include_usage`), POST /v1/responses (JSON, and named-event SSE ending
in `response.completed`), POST /v1/embeddings (float or base64), GET /v1/models, POST
/v1/files (a streaming upload sink that keeps no body) and GET /v1/fake/download (a
streamed body of N bytes). Every model response carries `x-request-id`,
`openai-processing-ms` and the six `x-ratelimit-*` headers.

Output is deterministic for a given request (ids, usage, `created`), so a direct call and
a call through the proxy can be compared field by field. Scenarios, by model name or by an
`x-fake-scenario` header: `force-429` / `429` (rate_limit_exceeded + retry-after),
`force-quota` / `quota` (insufficient_quota), `force-500` / `500`, `force-401` / `401`,
`gzip` / `deflate` (compressed response), `hop` (GET /v1/models answers with
connection-specific headers), `cut` (the stream breaks off), `gate` (the stream
waits after its first event until `release_gate()`), `linger` (the body stays open 0.3 s
after [DONE]), `incomplete` / `failed` (Responses), `usage-huge` / `usage-nan` /
`no-usage` (a JSON chat reply whose usage has `prompt_tokens: 1e30`, `NaN`, or is missing).
A key starting `sk-invalid` gets 401 invalid_api_key; no Authorization gets 401 too.
`x-fake-chunk-delay-ms` sets the gap between stream events; `x-fake-model` is the model a
chat reply names (a gateway's `openai/gpt-4o` for `gpt-4o`).

Run it with `tests.fakes.server.ServerThread(fake.make_app)`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import struct
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from monitor.core.usage import TokenUsage
from tests.fakes.openai_errors import NO_KEY_MESSAGE, error_body, incorrect_key_message

CREATED = 1727346171
FINGERPRINT = "fp_7568d46099"
REPLY = ["hel", "lo ", "wor", "ld"]
SNAPSHOTS = {
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "o3-mini": "o3-mini-2025-01-31",
}
FORCE_MODELS = {
    "force-429": "429", "force-quota": "quota", "force-500": "500", "force-401": "401",
}  # fmt: skip


def _raw_query(request: web.Request) -> str:
    return request.raw_path.partition("?")[2]


@dataclass(frozen=True)
class SeenRequest:
    """One request as the fake received it (headers with lower-case names)."""

    method: str
    path: str
    query: str
    """The raw (still percent-encoded) query string."""
    headers: dict[str, str]
    body_bytes: int
    json: Any = None


@dataclass(frozen=True)
class Reported:
    """Usage the fake put on the wire (so tests can sum what a proxy should have seen)."""

    endpoint: str
    model: str
    service_tier: str | None
    usage: TokenUsage
    request_id: str


@dataclass
class UploadStats:
    bytes: int = 0
    chunks: int = 0
    largest_chunk: int = 0
    sha256: str = ""


@dataclass
class FakeUpstream:
    """The fake's state: its request log, what it reported, and the test switches."""

    chunk_delay_s: float = 0.0
    null_usage_in_chunks: bool = False
    keep_log: bool = True
    """False for benchmarks: do not keep `requests` and `reported` (they grow)."""
    requests: list[SeenRequest] = field(default_factory=list)
    reported: list[Reported] = field(default_factory=list)
    uploads: list[UploadStats] = field(default_factory=list)
    aborted_streams: int = 0
    upload_started: threading.Event = field(default_factory=threading.Event)
    _gate: threading.Event = field(default_factory=threading.Event)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- for tests -------------------------------------------------------------------------

    def release_gate(self) -> None:
        self._gate.set()

    def reported_total(self, endpoint: str | None = None) -> TokenUsage:
        total = TokenUsage()
        for r in self.reported:
            if endpoint is None or r.endpoint == endpoint:
                total += r.usage
        return total

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/responses", self._responses)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/moderations", self._moderations)
        app.router.add_post("/v1/files", self._upload)
        app.router.add_get("/v1/fake/download", self._download)
        app.router.add_route("*", "/v1/fake/echo", self._echo)
        return app

    # -- plumbing ----------------------------------------------------------------------------

    def _headers(self, seq: int, **extra: str) -> dict[str, str]:
        return {
            "x-request-id": f"req_{seq:032x}",
            "openai-processing-ms": str(3 + seq % 7),
            "openai-version": "2020-10-01",
            "openai-organization": "org-fake",
            "x-ratelimit-limit-requests": "5000",
            "x-ratelimit-limit-tokens": "800000",
            "x-ratelimit-remaining-requests": str(max(5000 - seq, 0)),
            "x-ratelimit-remaining-tokens": str(max(800000 - 97 * seq, 0)),
            "x-ratelimit-reset-requests": "12ms",
            "x-ratelimit-reset-tokens": "6m0s",
            **extra,
        }

    async def _log(self, request: web.Request) -> tuple[int, Any, bytes]:
        raw = await request.read()
        doc: Any = None
        if raw and "json" in request.headers.get("content-type", ""):
            try:
                doc = json.loads(raw)
            except ValueError:
                doc = None
        if self.keep_log:
            self.requests.append(
                SeenRequest(
                    request.method, request.path, _raw_query(request),
                    {k.lower(): v for k, v in request.headers.items()}, len(raw), doc,
                )
            )  # fmt: skip
        return next(self._seq), doc, raw

    async def _open(self, request: web.Request) -> tuple[int, dict[str, Any], str] | web.Response:
        """Log a JSON-bodied request and check it: (seq, body, scenario), or the error reply
        (400 for a body that is not a JSON object, then the auth/scenario faults)."""
        seq, doc, _ = await self._log(request)
        if not isinstance(doc, dict):
            return self._error(seq, 400, "We could not parse the JSON body of your request.",
                               "invalid_request_error", None)
        scenario = self._scenario(request, doc)
        failure = self._check(request, seq, scenario)
        return failure if failure is not None else (seq, doc, scenario)

    def _report(self, item: Reported) -> None:
        if self.keep_log:
            self.reported.append(item)

    def _scenario(self, request: web.Request, doc: Any) -> str:
        header = request.headers.get("x-fake-scenario", "")
        if header:
            return header
        model = doc.get("model") if isinstance(doc, dict) else None
        return FORCE_MODELS.get(model or "", "")

    def _delay(self, request: web.Request) -> float:
        value = request.headers.get("x-fake-chunk-delay-ms")
        return float(value) / 1000 if value else self.chunk_delay_s

    def _error(
        self, seq: int, status: int, message: str, etype: str, code: str | None,
        **headers: str,
    ) -> web.Response:  # fmt: skip
        body = error_body(message, etype, code)
        return web.Response(
            status=status, text=json.dumps(body), content_type="application/json",
            headers=self._headers(seq, **headers),
        )  # fmt: skip

    def _check(self, request: web.Request, seq: int, scenario: str) -> web.Response | None:
        auth = request.headers.get("authorization", "")
        if not auth:
            return self._error(seq, 401, NO_KEY_MESSAGE, "invalid_request_error", None)
        key = auth[7:] if auth.lower().startswith("bearer ") else ""
        if scenario == "401" or not key.startswith("sk-") or key.startswith("sk-invalid"):
            return self._error(seq, 401, incorrect_key_message(key, hide_short=False),
                               "invalid_request_error", "invalid_api_key")
        if scenario == "429":
            return self._error(
                seq, 429,
                "Rate limit reached for gpt-4o in organization org-fake on tokens per min (TPM): "
                "Limit 30000, Used 29937, Requested 385. Please try again in 644ms. Visit "
                "https://platform.openai.com/account/rate-limits to learn more.",
                "tokens", "rate_limit_exceeded", **{"retry-after": "1"},
            )  # fmt: skip
        if scenario == "quota":
            return self._error(
                seq, 429,
                "You exceeded your current quota, please check your plan and billing details. "
                "For more information on this error, read the docs: "
                "https://platform.openai.com/docs/guides/error-codes/api-errors.",
                "insufficient_quota", "insufficient_quota",
            )  # fmt: skip
        if scenario == "500":
            return self._error(
                seq, 500,
                "The server had an error while processing your request. Sorry about that!",
                "server_error", None,
            )  # fmt: skip
        return None

    @staticmethod
    def _encoder(request: web.Request, scenario: str) -> tuple[str | None, Any]:
        accepted = request.headers.get("accept-encoding", "").lower()
        if scenario == "gzip" and "gzip" in accepted:
            return "gzip", zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        if scenario == "deflate" and "deflate" in accepted:
            return "deflate", zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS)
        return None, None

    def _json_response(
        self, request: web.Request, scenario: str, doc: Any, headers: dict[str, str],
        reported: Reported | None = None,
    ) -> web.Response:
        """The JSON reply (compressed as the scenario asks); `reported` is logged as the usage
        the fake told the client about."""
        if reported is not None:
            self._report(reported)
        body = json.dumps(doc).encode()
        encoding, comp = self._encoder(request, scenario)
        if comp is not None:
            body = comp.compress(body) + comp.flush()
            headers = {**headers, "content-encoding": encoding or ""}
        return web.Response(body=body, content_type="application/json", headers=headers)

    async def _sse(
        self,
        request: web.Request,
        scenario: str,
        headers: dict[str, str],
        events: list[bytes],
        on_sent: dict[int, Callable[[], None]],
        paced: int | None = None,
    ) -> web.StreamResponse:
        """Send `events`; the first `paced` ones (default all) `chunk delay` apart, the rest
        at once (the usage chunk and [DONE] follow the last token immediately)."""
        paced = len(events) if paced is None else paced
        encoding, comp = self._encoder(request, scenario)
        if comp is not None:
            headers = {**headers, "content-encoding": encoding or ""}
        resp = web.StreamResponse(
            headers={"content-type": "text/event-stream; charset=utf-8", **headers}
        )
        await resp.prepare(request)
        delay = self._delay(request)
        try:
            for i, event in enumerate(events):
                if i and delay and i < paced:
                    await asyncio.sleep(delay)
                if scenario == "cut" and i == 2:
                    assert request.transport is not None
                    request.transport.close()
                    return resp
                if comp is not None:
                    event = comp.compress(event) + comp.flush(zlib.Z_SYNC_FLUSH)
                await resp.write(event)
                if i in on_sent:
                    on_sent[i]()
                if scenario == "gate" and i == 0:
                    for _ in range(6000):  # at most 30 s
                        if self._gate.is_set():
                            break
                        await asyncio.sleep(0.005)
            if comp is not None:
                await resp.write(comp.flush())
            if scenario == "linger":  # the body stays open a moment after [DONE]
                await asyncio.sleep(0.3)
            await resp.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            self.aborted_streams += 1
            raise
        return resp

    # -- usage ------------------------------------------------------------------------------

    @staticmethod
    def _numbers(text: str) -> tuple[int, int, int, int, int]:
        """(prompt, cached, cache_write, output, reasoning), deterministic from the input."""
        h = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
        prompt = 9 + len(text) // 4
        cached = prompt // 2 if h % 2 == 0 else 0
        cache_write = min(3, prompt - cached) if h % 5 == 0 else 0
        output = 5 + h % 7
        reasoning = min(2, output) if h % 3 == 0 else 0
        return prompt, cached, cache_write, output, reasoning

    @staticmethod
    def _tier(doc: dict[str, Any]) -> str:
        asked = doc.get("service_tier")
        return asked if asked in ("flex", "priority", "scale") else "default"

    # -- chat completions -------------------------------------------------------------------

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        opened = await self._open(request)
        if isinstance(opened, web.Response):
            return opened
        seq, doc, scenario = opened
        model_in = str(doc.get("model", ""))
        model = request.headers.get("x-fake-model") or SNAPSHOTS.get(model_in, model_in)
        text = json.dumps(doc.get("messages"), sort_keys=True)
        prompt, cached, cache_write, output, reasoning = self._numbers(text)
        audio_in = prompt // 3 if "audio" in model else 0
        audio_out = output // 2 if "audio" in model else 0
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": output,
            "total_tokens": prompt + output,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": audio_in,
                                      "cache_write_tokens": cache_write},
            "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": audio_out,
                                          "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0},
        }  # fmt: skip
        tokens = TokenUsage(prompt, cached, cache_write, output, reasoning, audio_in, audio_out)
        tier = self._tier(doc)
        cid = "chatcmpl-" + hashlib.sha256((model + text).encode()).hexdigest()[:29]
        headers = self._headers(seq)
        reported = Reported("/chat/completions", model, tier, tokens, headers["x-request-id"])
        if doc.get("stream") is True:
            opts = doc.get("stream_options") or {}
            with_usage = opts.get("include_usage") is True
            obfuscate = opts.get("include_obfuscation", True) is not False
            base = {"id": cid, "object": "chat.completion.chunk", "created": CREATED,
                    "model": model, "service_tier": tier, "system_fingerprint": FINGERPRINT}
            chunks: list[dict[str, Any]] = []
            for i, piece in enumerate(["", *REPLY]):
                delta: dict[str, Any] = {"content": piece}
                if i == 0:
                    delta = {"role": "assistant", "content": "", "refusal": None}
                chunks.append({**base, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                                    "finish_reason": None}]})
            chunks.append({**base, "choices": [{"index": 0, "delta": {}, "logprobs": None,
                                                "finish_reason": "stop"}]})
            if with_usage and self.null_usage_in_chunks:
                chunks = [{**c, "usage": None} for c in chunks]
            for i, c in enumerate(chunks):
                if obfuscate:
                    c["obfuscation"] = hashlib.md5(f"{cid}{i}".encode()).hexdigest()[: 3 + i]
            on_sent: dict[int, Callable[[], None]] = {}
            if with_usage:
                chunks.append({**base, "choices": [], "usage": usage})
                on_sent[len(chunks) - 1] = lambda: self._report(reported)
            events = [b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks]
            events.append(b"data: [DONE]\n\n")
            return await self._sse(
                request, scenario, headers, events, on_sent, paced=len(REPLY) + 2
            )
        body = {
            "id": cid, "object": "chat.completion", "created": CREATED, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(REPLY),
                                                 "refusal": None, "annotations": []},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": usage, "service_tier": tier, "system_fingerprint": FINGERPRINT,
        }  # fmt: skip
        if scenario == "usage-huge":  # an upstream bug: a count no SQLite INTEGER holds
            body["usage"] = {**usage, "prompt_tokens": 1e30}
        elif scenario == "usage-nan":
            body["usage"] = {**usage, "prompt_tokens": float("nan")}
        elif scenario == "no-usage":
            del body["usage"]
        return self._json_response(request, scenario, body, headers, reported)

    # -- responses ---------------------------------------------------------------------------

    async def _responses(self, request: web.Request) -> web.StreamResponse:
        opened = await self._open(request)
        if isinstance(opened, web.Response):
            return opened
        seq, doc, scenario = opened
        model_in = str(doc.get("model", ""))
        model = SNAPSHOTS.get(model_in, model_in)
        text = json.dumps(doc.get("input"), sort_keys=True)
        prompt, cached, cache_write, output, reasoning = self._numbers(text)
        tier = self._tier(doc)
        usage = {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": cache_write},
            "output_tokens": output,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": prompt + output,
        }
        tokens = TokenUsage(prompt, cached, cache_write, output, reasoning)
        digest = hashlib.sha256((model + text).encode()).hexdigest()
        rid, mid = "resp_" + digest[:32], "msg_" + digest[32:64]
        full_text = "".join(REPLY)
        status = {"incomplete": "incomplete", "failed": "failed"}.get(scenario, "completed")

        def response(state: str, *, done: bool) -> dict[str, Any]:
            item = {"type": "message", "id": mid, "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": full_text, "annotations": [],
                                 "logprobs": []}]}  # fmt: skip
            return {
                "id": rid, "object": "response", "created_at": 1741290958, "status": state,
                "background": False, "error": (
                    {"code": "server_error", "message": "The model failed."}
                    if state == "failed" else None
                ),
                "incomplete_details": (
                    {"reason": "max_output_tokens"} if state == "incomplete" else None
                ),
                "instructions": None, "max_output_tokens": doc.get("max_output_tokens"),
                "model": model, "output": [item] if done else [], "parallel_tool_calls": True,
                "previous_response_id": None, "reasoning": {"effort": None, "summary": None},
                "service_tier": tier, "store": True, "temperature": 1.0,
                "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [],
                "top_p": 1.0, "truncation": "disabled", "usage": usage if done else None,
                "user": None, "metadata": {},
            }  # fmt: skip

        headers = self._headers(seq)
        reported = Reported("/responses", model, tier, tokens, headers["x-request-id"])
        if doc.get("stream") is True:
            evs: list[dict[str, Any]] = [
                {"type": "response.created", "response": response("in_progress", done=False)},
                {"type": "response.in_progress", "response": response("in_progress", done=False)},
                {"type": "response.output_item.added", "output_index": 0,
                 "item": {"type": "message", "id": mid, "status": "in_progress",
                          "role": "assistant", "content": []}},
                {"type": "response.content_part.added", "item_id": mid, "output_index": 0,
                 "content_index": 0,
                 "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}},
            ]  # fmt: skip
            for piece in REPLY:
                evs.append({"type": "response.output_text.delta", "item_id": mid,
                            "output_index": 0, "content_index": 0, "delta": piece,
                            "logprobs": []})  # fmt: skip
            evs += [
                {"type": "response.output_text.done", "item_id": mid, "output_index": 0,
                 "content_index": 0, "text": full_text, "logprobs": []},
                {"type": "response.content_part.done", "item_id": mid, "output_index": 0,
                 "content_index": 0,
                 "part": {"type": "output_text", "text": full_text, "annotations": [],
                          "logprobs": []}},
                {"type": "response.output_item.done", "output_index": 0,
                 "item": response(status, done=True)["output"][0]},
                {"type": f"response.{status}", "response": response(status, done=True)},
            ]  # fmt: skip
            events = []
            for n, ev in enumerate(evs):
                ev = {"type": ev["type"], "sequence_number": n, **ev}
                events.append(
                    f"event: {ev['type']}\n".encode() + b"data: " + json.dumps(ev).encode()
                    + b"\n\n"
                )  # fmt: skip
            on_sent = {len(events) - 1: lambda: self._report(reported)}
            return await self._sse(request, scenario, headers, events, on_sent)
        return self._json_response(request, scenario, response(status, done=True), headers,
                                   reported)

    # -- embeddings, models ------------------------------------------------------------------

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        opened = await self._open(request)
        if isinstance(opened, web.Response):
            return opened
        seq, doc, scenario = opened
        inputs = doc.get("input")
        texts = [inputs] if isinstance(inputs, str) else [str(x) for x in inputs or []]
        model = str(doc.get("model", ""))
        dims = 8
        data = []
        for i, t in enumerate(texts):
            seeds = [
                int(hashlib.sha256(f"{t}{d}".encode()).hexdigest()[:6], 16) for d in range(dims)
            ]
            vec = [(s % 2000 - 1000) / 1000 for s in seeds]
            emb: Any = vec
            if doc.get("encoding_format") == "base64":
                emb = base64.b64encode(struct.pack(f"<{dims}f", *vec)).decode()
            data.append({"object": "embedding", "index": i, "embedding": emb})
        prompt = sum(1 + len(t) // 4 for t in texts)
        body = {"object": "list", "data": data, "model": model,
                "usage": {"prompt_tokens": prompt, "total_tokens": prompt}}
        headers = self._headers(seq)
        return self._json_response(
            request, scenario, body, headers,
            Reported("/embeddings", model, None, TokenUsage(input_tokens=prompt),
                     headers["x-request-id"]),
        )  # fmt: skip

    async def _moderations(self, request: web.Request) -> web.StreamResponse:
        """A moderation result in the published shape (free: no usage)."""
        opened = await self._open(request)
        if isinstance(opened, web.Response):
            return opened
        seq, doc, _ = opened
        result = {"flagged": False, "categories": {"harassment": False},
                  "category_scores": {"harassment": 0.0001}}
        return web.json_response({"id": f"modr-{seq}", "model": str(doc.get("model", "")),
                                  "results": [result]}, headers=self._headers(seq))

    async def _models(self, request: web.Request) -> web.StreamResponse:
        seq, _, _ = await self._log(request)
        failure = self._check(request, seq, self._scenario(request, None))
        if failure is not None:
            return failure
        data = [{"id": m, "object": "model", "created": CREATED, "owned_by": "system"}
                for m in ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "text-embedding-3-small")]
        headers = self._headers(seq)
        if request.headers.get("x-fake-scenario") == "hop":  # connection-specific headers
            headers.update({"Connection": "keep-alive, X-Upstream-Hop", "X-Upstream-Hop": "1",
                            "Keep-Alive": "timeout=5", "X-Kept": "1"})  # fmt: skip
        return web.json_response({"object": "list", "data": data}, headers=headers)

    async def _echo(self, request: web.Request) -> web.StreamResponse:
        """Any method: the request's headers back in the body, as a TRACE-answering server
        (or a debugging gateway) would: whatever key the proxy sent, the caller reads."""
        seq, _, raw = await self._log(request)
        return web.json_response(
            {"method": request.method, "headers": dict(request.headers), "body_bytes": len(raw)},
            headers={"x-request-id": f"req_{seq:032x}"})

    # -- streaming bodies --------------------------------------------------------------------

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        """Count and hash the body as it streams in; never holds it."""
        seq = next(self._seq)
        stats = UploadStats()
        digest = hashlib.sha256()
        async for chunk in request.content.iter_any():
            if not stats.chunks:
                self.upload_started.set()
            stats.bytes += len(chunk)
            stats.chunks += 1
            stats.largest_chunk = max(stats.largest_chunk, len(chunk))
            digest.update(chunk)
        stats.sha256 = digest.hexdigest()
        self.uploads.append(stats)
        self.requests.append(
            SeenRequest(request.method, request.path, _raw_query(request),
                        {k.lower(): v for k, v in request.headers.items()}, stats.bytes)
        )  # fmt: skip
        return web.json_response(
            {"id": f"file-{seq}", "object": "file", "bytes": stats.bytes,
             "sha256": stats.sha256, "purpose": "batch"},
            headers={"x-request-id": f"req_{seq:032x}"},
        )  # fmt: skip

    async def _download(self, request: web.Request) -> web.StreamResponse:
        seq, _, _ = await self._log(request)
        total = int(request.query.get("bytes", "1048576"))
        resp = web.StreamResponse(
            headers={"content-type": "application/octet-stream",
                     "content-length": str(total), "x-request-id": f"req_{seq:032x}"}
        )  # fmt: skip
        await resp.prepare(request)
        block = bytes(range(256)) * 256
        sent = 0
        while sent < total:
            n = min(len(block), total - sent)
            await resp.write(block[:n])
            sent += n
        await resp.write_eof()
        return resp
