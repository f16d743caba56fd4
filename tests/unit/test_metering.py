"""Unit tests for the proxy's pure parsers: usage shapes, SSE framing, stripping, rate limits."""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import UTC, datetime

import pytest

from monitor.core.usage import TokenUsage
from monitor.services.proxy.chat_request import (
    FULL_PARSE_BYTES,
    plan_chat_request,
    sniff_model,
    top_level_members,
)
from monitor.services.proxy.metering import (
    JsonObserver,
    SSEMeter,
    StreamObserver,
    UsageChunkStripper,
    meter_document,
    meter_head_tail,
    usage_from_dict,
)
from monitor.services.proxy.ratelimit import parse_rate_limits, parse_reset
from monitor.services.proxy.streams import (
    DECODABLE_CODINGS,
    BodyDecoder,
    SSEEvent,
    SSEParser,
    decodable_accept_encoding,
)

# A real capture (openai-api.md §4.2), with ids shortened.
CHAT_STREAM = (
    b'data: {"id":"chatcmpl-ABfw3","object":"chat.completion.chunk","created":1727346171,'
    b'"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_7568d46099","choices":[{"index":0,'
    b'"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,'
    b'"finish_reason":null}]}\n\n'
    b'data: {"id":"chatcmpl-ABfw3","object":"chat.completion.chunk","created":1727346171,'
    b'"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_7568d46099","choices":[{"index":0,'
    b'"delta":{},"logprobs":null,"finish_reason":"length"}]}\n\n'
)
USAGE_CHUNK = (
    b'data: {"id":"chatcmpl-ABfw3","object":"chat.completion.chunk","created":1727346171,'
    b'"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_7568d46099","choices":[],'
    b'"usage":{"prompt_tokens":79,"completion_tokens":1,"total_tokens":80,'
    b'"completion_tokens_details":{"reasoning_tokens":0}}}\n\n'
)
DONE = b"data: [DONE]\n\n"

RESPONSES_STREAM = (
    b"event: response.created\n"
    b'data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_1",'
    b'"object":"response","status":"in_progress","model":"gpt-4.1-2025-04-14","usage":null}}\n\n'
    b"event: response.output_text.delta\n"
    b'data: {"type":"response.output_text.delta","sequence_number":1,"delta":"hi"}\n\n'
    b"event: response.completed\n"
    b'data: {"type":"response.completed","sequence_number":9,"response":{"id":"resp_1",'
    b'"object":"response","status":"completed","model":"gpt-4.1-2025-04-14",'
    b'"service_tier":"default","usage":{"input_tokens":37,"input_tokens_details":'
    b'{"cached_tokens":5,"cache_write_tokens":2},"output_tokens":11,"output_tokens_details":'
    b'{"reasoning_tokens":4},"total_tokens":48}}}\n\n'
)


def split_every(data: bytes, n: int) -> list[bytes]:
    return [data[i : i + n] for i in range(0, len(data), n)]


# -- usage objects --------------------------------------------------------------------------


def test_chat_usage_with_all_details() -> None:
    usage = {
        "prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163,
        "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 7,
                                  "cache_write_tokens": 12},
        "completion_tokens_details": {"reasoning_tokens": 20, "audio_tokens": 3,
                                      "accepted_prediction_tokens": 0,
                                      "rejected_prediction_tokens": 0},
    }  # fmt: skip
    assert usage_from_dict(usage) == TokenUsage(1117, 1024, 12, 46, 20, 7, 3)


def test_chat_usage_without_details_and_with_nulls() -> None:
    assert usage_from_dict({"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}) == (
        TokenUsage(input_tokens=5, output_tokens=2)
    )
    odd = {"prompt_tokens": "5", "completion_tokens": None, "prompt_tokens_details": None,
           "completion_tokens_details": {"reasoning_tokens": True}}  # fmt: skip
    assert usage_from_dict(odd) == TokenUsage(input_tokens=5)


def test_responses_usage() -> None:
    usage = {"input_tokens": 36, "input_tokens_details": {"cached_tokens": 4,
             "cache_write_tokens": 3}, "output_tokens": 87,
             "output_tokens_details": {"reasoning_tokens": 9}, "total_tokens": 123}  # fmt: skip
    assert usage_from_dict(usage) == TokenUsage(36, 4, 3, 87, 9)


def test_image_and_cached_audio_tokens_are_read() -> None:
    # gpt-image-1 (Images API): image input tokens in input_tokens_details
    image = {"input_tokens": 520, "output_tokens": 4160, "total_tokens": 4680,
             "input_tokens_details": {"image_tokens": 500, "text_tokens": 20},
             "output_tokens_details": {"image_tokens": 4160}}  # fmt: skip
    assert usage_from_dict(image) == TokenUsage(input_tokens=520, output_tokens=4160,
                                                image_input_tokens=500, image_output_tokens=4160)
    # Realtime: audio_tokens include the cached audio named in cached_tokens_details
    realtime = {"input_tokens": 1700, "output_tokens": 90, "total_tokens": 1790,
                "input_token_details": {"cached_tokens": 1000, "audio_tokens": 1000,
                                        "text_tokens": 700, "image_tokens": 0,
                                        "cached_tokens_details": {"audio_tokens": 400,
                                                                  "text_tokens": 600}},
                "output_token_details": {"audio_tokens": 60, "text_tokens": 30}}  # fmt: skip
    assert usage_from_dict(realtime) == TokenUsage(
        input_tokens=1700, cached_input_tokens=1000, audio_cached_input_tokens=400,
        audio_input_tokens=600, output_tokens=90, audio_output_tokens=60)


def test_audio_usage_uses_input_token_details() -> None:
    usage = {"type": "tokens", "input_tokens": 14, "output_tokens": 45, "total_tokens": 59,
             "input_token_details": {"text_tokens": 0, "audio_tokens": 14}}  # fmt: skip
    assert usage_from_dict(usage) == TokenUsage(input_tokens=14, output_tokens=45,
                                                audio_input_tokens=14)


def test_embeddings_usage_and_unknown_shapes() -> None:
    assert usage_from_dict({"prompt_tokens": 8, "total_tokens": 8}) == TokenUsage(input_tokens=8)
    assert usage_from_dict({"seconds": 3}) is None


def test_meter_document_chat_responses_embeddings() -> None:
    chat = meter_document({"model": "gpt-4o-2024-08-06", "service_tier": "default",
                           "usage": {"prompt_tokens": 3, "completion_tokens": 1}})  # fmt: skip
    assert (chat.model, chat.service_tier, chat.usage, chat.complete) == (
        "gpt-4o-2024-08-06", "default", TokenUsage(input_tokens=3, output_tokens=1), True)
    emb = meter_document({"object": "list", "data": [], "model": "text-embedding-3-small",
                          "usage": {"prompt_tokens": 8, "total_tokens": 8}})  # fmt: skip
    assert emb.usage == TokenUsage(input_tokens=8)
    models = meter_document({"object": "list", "data": []})
    assert models.usage is None and models.model is None
    assert meter_document([1, 2]).usage is None


def test_meter_head_tail_of_large_bodies() -> None:
    doc = {"object": "list", "data": [{"embedding": [0.5] * 40_000, "index": 0}],
           "model": "text-embedding-3-large", "usage": {"prompt_tokens": 9, "total_tokens": 9}}
    body = json.dumps(doc).encode()
    m = meter_head_tail(body[:1000], body[-1000:])
    assert m.model == "text-embedding-3-large" and m.usage == TokenUsage(input_tokens=9)
    chat = {"id": "x", "model": "gpt-4o-2024-08-06", "choices": [{"message": {
            "content": "q" * 100_000}}], "usage": {"prompt_tokens": 4, "completion_tokens": 99},
            "service_tier": "flex"}  # fmt: skip
    body = json.dumps(chat).encode()
    m = meter_head_tail(body[:1000], body[-1000:])
    assert (m.model, m.service_tier, m.usage) == (
        "gpt-4o-2024-08-06", "flex", TokenUsage(input_tokens=4, output_tokens=99))


# -- SSE ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 100_000])
def test_sse_parser_any_chunking(size: int) -> None:
    data = CHAT_STREAM + USAGE_CHUNK + DONE
    parser = SSEParser(keep_raw=True)
    pieces = []
    for part in split_every(data, size):
        pieces += parser.feed(part)
    pieces += parser.finish()
    assert b"".join(p.raw for p in pieces) == data
    events = [p.event for p in pieces if p.event is not None]
    assert len(events) == 4 and events[-1] == SSEEvent("", b"[DONE]")


def test_sse_parser_crlf_cr_comments_multiline_and_names() -> None:
    data = (b": keep-alive\r\n\r\nevent: x\r\ndata: a\r\ndata:b\r\n\r\n"
            b"data: c\r\rid: 5\ndata: d\n\n")  # fmt: skip
    for size in (1, 2, 5, len(data)):
        parser = SSEParser(keep_raw=True)
        pieces = [p for part in split_every(data, size) for p in parser.feed(part)]
        pieces += parser.finish()
        assert b"".join(p.raw for p in pieces) == data
        assert [p.event for p in pieces if p.event] == [
            SSEEvent("x", b"a\nb"), SSEEvent("", b"c"), SSEEvent("", b"d")]


def test_sse_parser_unterminated_last_event_and_oversized() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: {}") == []
    assert [p.event for p in parser.finish()] == [SSEEvent("", b"{}")]
    big = b"data: " + b"x" * 5000 + b"\n\ndata: ok\n\n"
    parser = SSEParser(keep_raw=True, max_event_bytes=1000)
    pieces = [p for part in split_every(big, 300) for p in parser.feed(part)] + parser.finish()
    assert b"".join(p.raw for p in pieces) == big
    assert [p.event for p in pieces if p.event] == [SSEEvent("", b"ok")]


def test_sse_parser_keeps_only_the_partial_event() -> None:
    parser = SSEParser()
    for _ in range(1000):
        parser.feed(CHAT_STREAM)
    parser.feed(CHAT_STREAM[:50])
    assert len(parser._buf) == 50


def test_chat_stream_meter_reads_model_and_usage_chunk() -> None:
    meter = SSEMeter()
    parser = SSEParser()
    flags = [meter.on_event(p.event) for p in parser.feed(CHAT_STREAM + USAGE_CHUNK + DONE)
             if p.event]  # fmt: skip
    assert flags == [False, False, True, False]
    r = meter.result
    assert (r.model, r.usage, r.complete) == (
        "gpt-4o-2024-08-06", TokenUsage(input_tokens=79, output_tokens=1), True)


def test_chat_stream_without_usage_is_known_model_unknown_tokens() -> None:
    obs = StreamObserver()
    obs.observe(CHAT_STREAM)
    obs.finish()
    assert obs.result.model == "gpt-4o-2024-08-06" and obs.result.usage is None
    assert not obs.result.complete  # no [DONE]: a cut stream


@pytest.mark.parametrize("size", [1, 13, 4096])
def test_responses_stream(size: int) -> None:
    obs = StreamObserver()
    for part in split_every(RESPONSES_STREAM, size):
        obs.observe(part)
    obs.finish()
    r = obs.result
    assert (r.model, r.service_tier, r.usage, r.complete) == (
        "gpt-4.1-2025-04-14", "default", TokenUsage(37, 5, 2, 11, 4), True)


@pytest.mark.parametrize("terminal", ["response.incomplete", "response.failed"])
def test_responses_terminal_alternatives(terminal: str) -> None:
    stream = RESPONSES_STREAM.replace(b"response.completed", terminal.encode())
    obs = StreamObserver()
    obs.observe(stream)
    obs.finish()
    assert obs.result.complete and obs.result.usage == TokenUsage(37, 5, 2, 11, 4)
    no_usage = stream.replace(b'"usage":{"input_tokens":37', b'"usage":null,"x":{"a":37')
    obs = StreamObserver()
    obs.observe(no_usage)
    obs.finish()
    assert obs.result.complete and obs.result.usage is None


def test_responses_stream_with_unnamed_events() -> None:
    stream = b"".join(
        line + b"\n" for line in RESPONSES_STREAM.split(b"\n") if not line.startswith(b"event:")
    )
    obs = StreamObserver()
    obs.observe(stream)
    obs.finish()
    assert obs.result.usage == TokenUsage(37, 5, 2, 11, 4)


# -- stripping the usage chunk --------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 5, 50, 100_000])
def test_stripper_drops_only_the_usage_chunk(size: int) -> None:
    stripper = UsageChunkStripper()
    out = b"".join(stripper.feed(p) for p in split_every(CHAT_STREAM + USAGE_CHUNK + DONE, size))
    out += stripper.finish()
    assert out == CHAT_STREAM + DONE
    assert stripper.dropped == 1
    assert stripper.result.usage == TokenUsage(input_tokens=79, output_tokens=1)


def test_stripper_removes_null_usage_keys_a_spec_server_adds() -> None:
    with_null = CHAT_STREAM.replace(b'"choices":[{', b'"usage":null,"choices":[{', 1)
    with_null = with_null.replace(b'"finish_reason":"length"}]}', b'"finish_reason":"length"}],'
                                  b' "usage" : null}')  # fmt: skip
    stripper = UsageChunkStripper()
    out = stripper.feed(with_null + USAGE_CHUNK + DONE) + stripper.finish()
    assert out == CHAT_STREAM + DONE


def test_stripper_leaves_a_stream_without_usage_alone() -> None:
    stripper = UsageChunkStripper()
    assert stripper.feed(CHAT_STREAM + DONE) + stripper.finish() == CHAT_STREAM + DONE
    assert stripper.dropped == 0 and stripper.result.usage is None


# -- compressed bodies ----------------------------------------------------------------------


def test_gzip_stream_is_decoded_incrementally() -> None:
    comp = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    wire = b"".join(comp.compress(e) + comp.flush(zlib.Z_SYNC_FLUSH)
                    for e in (CHAT_STREAM, USAGE_CHUNK, DONE)) + comp.flush()  # fmt: skip
    obs = StreamObserver("gzip")
    for part in split_every(wire, 7):
        obs.observe(part)
    obs.finish()
    assert obs.result.usage == TokenUsage(input_tokens=79, output_tokens=1)
    assert not obs.undecodable


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS])
def test_deflate_json_zlib_or_raw(wbits: int) -> None:
    body = json.dumps({"model": "m", "usage": {"prompt_tokens": 2, "completion_tokens": 3}})
    comp = zlib.compressobj(6, zlib.DEFLATED, wbits)
    wire = comp.compress(body.encode()) + comp.flush()
    obs = JsonObserver("deflate")
    for part in split_every(wire, 5):
        obs.observe(part)
    obs.finish()
    assert obs.result.usage == TokenUsage(input_tokens=2, output_tokens=3)


def test_unknown_or_corrupt_encoding_is_flagged_not_raised() -> None:
    obs = JsonObserver("zstd")
    obs.observe(b"\x28\xb5\x2f\xfd whatever")
    obs.finish()
    assert obs.undecodable and obs.result.usage is None
    bad = JsonObserver("gzip")
    bad.observe(b"not gzip at all")
    bad.finish()
    assert bad.undecodable


def test_decoder_bounds_each_piece() -> None:
    wire = gzip.compress(b"\0" * (5 * 1024 * 1024))
    pieces = list(BodyDecoder("gzip").decode(wire))
    assert sum(map(len, pieces)) == 5 * 1024 * 1024
    assert max(map(len, pieces)) <= 1024 * 1024


def test_large_json_body_keeps_only_head_and_tail() -> None:
    doc = {"object": "list", "data": [{"embedding": [0.25] * 100_000}], "model": "emb",
           "usage": {"prompt_tokens": 3, "total_tokens": 3}}  # fmt: skip
    body = json.dumps(doc).encode()
    obs = JsonObserver(full_limit=10_000, head_tail=2_000)
    for part in split_every(body, 4096):
        obs.observe(part)
        assert len(obs._body) + len(obs._tail) <= 10_000 + 4096 * 2
    obs.finish()
    assert obs.result.model == "emb" and obs.result.usage == TokenUsage(input_tokens=3)


# -- requests -------------------------------------------------------------------------------


def test_plan_adds_include_usage_by_splicing() -> None:
    body = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "stream": true}'
    plan = plan_chat_request(body)
    assert plan is not None and plan.added_include_usage and plan.model == "gpt-4o"
    assert plan.body.endswith(body[1:])
    assert json.loads(plan.body)["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(
    "options",
    [None, {"include_usage": False}, {"include_obfuscation": False}],
)
def test_plan_merges_existing_stream_options(options: object) -> None:
    body = json.dumps({"model": "m", "stream": True, "stream_options": options}).encode()
    plan = plan_chat_request(body)
    assert plan is not None and plan.added_include_usage
    opts = json.loads(plan.body)["stream_options"]
    assert opts["include_usage"] is True
    if isinstance(options, dict) and "include_obfuscation" in options:
        assert opts["include_obfuscation"] is False


@pytest.mark.parametrize(
    "body",
    [
        b'{"model": "m", "messages": []}',
        b'{"model": "m", "stream": false}',
        b'{"model": "m", "stream": true, "stream_options": {"include_usage": true}}',
    ],
)
def test_plan_leaves_other_requests_unchanged(body: bytes) -> None:
    plan = plan_chat_request(body)
    assert plan is not None and not plan.added_include_usage and plan.body == body


def test_plan_rejects_non_objects() -> None:
    assert plan_chat_request(b"[1]") is None
    assert plan_chat_request(b"{nope") is None
    assert plan_chat_request(b"\xff\xfe") is None


def test_sniff_model() -> None:
    assert sniff_model(b'{"input": "a", "model" : "text-embedding-3-small"}') == (
        "text-embedding-3-small")
    assert sniff_model(b'{"model": "a\\"b"}') == 'a"b'
    assert sniff_model(b'{"input": "no model here"}') is None


# -- rate limits ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("12ms", 0.012), ("9ms", 0.009), ("547ms", 0.547), ("1s", 1.0), ("6m0s", 360.0),
     ("1m12s", 72.0), ("2m52.8s", 172.8), ("1h2m3s", 3723.0), ("0.5", 0.5), ("20s", 20.0)],
)  # fmt: skip
def test_parse_reset(text: str, seconds: float) -> None:
    assert parse_reset(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", [None, "", "soon", "5x", "-3", "ms"])
def test_parse_reset_rejects(text: str | None) -> None:
    assert parse_reset(text) is None


def test_parse_rate_limits() -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    headers = {
        "x-ratelimit-limit-requests": "60", "x-ratelimit-limit-tokens": "150000",
        "x-ratelimit-remaining-requests": "59", "x-ratelimit-remaining-tokens": "149984",
        "x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s",
    }  # fmt: skip
    snap = parse_rate_limits(headers, key_label="dev", model="gpt-4o", time=now)
    assert snap is not None
    assert (snap.limit_requests, snap.limit_tokens, snap.remaining_requests,
            snap.remaining_tokens, snap.reset_requests_s, snap.reset_tokens_s) == (
        60, 150000, 59, 149984, 1.0, 360.0)  # fmt: skip
    partial = parse_rate_limits({"x-ratelimit-remaining-tokens": "12"}, key_label="dev",
                                model="m", time=now)  # fmt: skip
    assert partial is not None and partial.remaining_tokens == 12 and partial.limit_tokens is None
    assert parse_rate_limits({"content-type": "x"}, key_label="d", model="m", time=now) is None


@pytest.mark.parametrize(
    ("given", "sent"),
    [("gzip, deflate", "gzip, deflate"), ("identity", "identity"),
     ("gzip, deflate, br, zstd", "gzip, deflate"), ("br;q=1.0, gzip;q=0.5", "gzip;q=0.5"),
     ("zstd", "identity"), ("*", "gzip, deflate"), ("gzip, *;q=0.1", "gzip, deflate;q=0.1")],
)  # fmt: skip
def test_accept_encoding_limited_to_decodable_codings(given: str, sent: str) -> None:
    if "br" in DECODABLE_CODINGS:
        pytest.skip("brotli installed: br stays")
    assert decodable_accept_encoding(given) == sent


TRICKY = {
    "model": "gpt-4o",
    "messages": [{"role": "user", "content": 'quote " backslash \\ brace } bracket ] comma , :'},
                 {"role": "user", "content": "ends with backslash \\"}],
    "n": 1.5e3, "tools": [], "meta": {"a": [1, {"b": None}]}, "esc\"key": True,
    "stream": True,
}  # fmt: skip


@pytest.mark.parametrize("indent", [None, 2])
def test_top_level_members_agree_with_json(indent: int | None) -> None:
    body = json.dumps(TRICKY, indent=indent).encode()
    spans = top_level_members(body)
    assert spans is not None
    got = {json.loads(b'"' + k + b'"'): json.loads(body[a:b]) for k, (a, b) in spans.items()}
    assert got == TRICKY


@pytest.mark.parametrize("body", [b"[1, 2]", b'{"a": "unterminated', b'{"a": 1', b"", b"nul"])
def test_top_level_members_rejects(body: bytes) -> None:
    assert top_level_members(body) is None


def test_top_level_members_gives_up_on_too_many_tokens() -> None:
    body = json.dumps({"xs": list(range(1000))}).encode()
    assert top_level_members(body, max_tokens=100) is None
    assert top_level_members(body) is not None


@pytest.mark.parametrize("options", [None, {"include_obfuscation": False}])
def test_plan_large_body_splices_without_reparsing(options: object) -> None:
    image = "A" * (FULL_PARSE_BYTES + 10)
    doc: dict[str, object] = {"model": "gpt-4o", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image}"}}]}],
        "stream": True}  # fmt: skip
    if options is not None:
        doc["stream_options"] = options
    body = json.dumps(doc).encode()
    plan = plan_chat_request(body)
    assert plan is not None and plan.added_include_usage and plan.model == "gpt-4o"
    rewritten = json.loads(plan.body)
    assert rewritten["stream_options"] == {**(options or {}), "include_usage": True}
    assert rewritten["messages"] == doc["messages"]
    assert len(plan.body) - len(body) < 60


def test_plan_keeps_every_other_byte() -> None:
    body = b'{ "stream" : true , "stream_options" : { "include_usage" : false } , "x": 1.50 }'
    plan = plan_chat_request(body)
    assert plan is not None
    assert plan.body == (
        b'{ "stream" : true , "stream_options" : {"include_usage":true} , "x": 1.50 }'
    )
