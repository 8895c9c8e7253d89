"""What a third-party span carries besides its attributes reaches every route alike: its W3C
trace state (JSONL, both OTLP encoders, the SDK-exporter adapter), what the SDK's span
limits dropped (the adapter too), and a mime type that says what the exported text is."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

import brokle_trace
from brokle_trace import capture
from brokle_trace._export.convert import Resource
from brokle_trace._export.foreign import attributes_of, foreign_record, to_span_data
from brokle_trace._export.foreign_otlp import foreign_span_bytes
from brokle_trace._model import SpanData
from brokle_trace.exporters._encode import span_bytes
from brokle_trace.exporters._readable import ResourceCache, to_readable_span
from brokle_trace.testing import InMemoryExporter

_SETTINGS = capture.CaptureSettings()
_SCOPE = "openinference.instrumentation.openai"


def _converted(span: Any, settings: capture.CaptureSettings = _SETTINGS) -> SpanData:
    return to_span_data(foreign_record(span, attributes_of(span), None, {}), settings, Resource())


def _under_trace_state(header: str) -> Any:
    parent = SpanContext(
        0xABC,
        0x123,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState.from_header([header]),
    )
    return set_span_in_context(NonRecordingSpan(parent))


def test_trace_state_reaches_jsonl_both_otlp_encoders_and_the_adapter() -> None:
    tracer = TracerProvider().get_tracer(_SCOPE)
    span = tracer.start_span("chat", context=_under_trace_state("vendor=abc,other=x1"))
    span.end()
    data = _converted(span)
    assert data.attributes["brokle.otel.trace_state"] == "vendor=abc,other=x1"
    direct = PbSpan.FromString(foreign_span_bytes(data))
    assert direct.trace_state == "vendor=abc,other=x1"
    assert direct == PbSpan.FromString(span_bytes(data))  # the reference encoder agrees
    assert "brokle.otel.trace_state" not in {kv.key for kv in direct.attributes}  # structure
    readable = to_readable_span(data, ResourceCache({}))
    assert readable.context.trace_state.to_header() == "vendor=abc,other=x1"


def test_no_trace_state_writes_none() -> None:
    span = TracerProvider().get_tracer(_SCOPE).start_span("chat")
    span.end()
    data = _converted(span)
    assert "brokle.otel.trace_state" not in data.attributes
    assert PbSpan.FromString(foreign_span_bytes(data)).trace_state == ""
    assert not to_readable_span(data, ResourceCache({})).context.trace_state


def test_trace_state_in_jsonl_line(memory: InMemoryExporter) -> None:
    provider = TracerProvider()
    provider.add_span_processor(brokle_trace.span_processor())
    provider.get_tracer(_SCOPE).start_span("chat", context=_under_trace_state("k=v")).end()
    assert brokle_trace.flush(5)
    (out,) = memory.spans
    assert out.attributes["brokle.otel.trace_state"] == "k=v"


def test_the_adapter_reports_what_the_span_limits_dropped() -> None:
    limits = SpanLimits(max_attributes=2, max_events=1, max_links=1)
    tracer = TracerProvider(span_limits=limits).get_tracer(_SCOPE)
    links = [Link(SpanContext(7, i + 1, is_remote=False)) for i in range(3)]
    span = tracer.start_span("chat", attributes={"a": 1, "b": 2, "c": 3, "d": 4}, links=links)
    for i in range(4):
        span.add_event("chunk", {"i": i})
    span.end()
    data = _converted(span)
    readable = to_readable_span(data, ResourceCache({}))
    direct = PbSpan.FromString(foreign_span_bytes(data))
    got = (readable.dropped_attributes, readable.dropped_events, readable.dropped_links)
    assert got == (2, 3, 2)
    assert got == (
        direct.dropped_attributes_count,
        direct.dropped_events_count,
        direct.dropped_links_count,
    )


def test_the_adapter_adds_our_attribute_limit_to_the_sdks() -> None:
    limits = SpanLimits(max_attributes=200)
    tracer = TracerProvider(span_limits=limits).get_tracer(_SCOPE)
    span = tracer.start_span("chat", attributes={f"k{i}": i for i in range(150)})
    span.end()
    data = _converted(span, capture.CaptureSettings(max_items=500))
    readable = to_readable_span(data, ResourceCache({}))
    direct = PbSpan.FromString(foreign_span_bytes(data))
    assert readable.dropped_attributes == direct.dropped_attributes_count > 0


def _with_input(value: str, mime: str | None = "application/json") -> Any:
    attributes = {"openinference.span.kind": "LLM", "input.value": value}
    if mime is not None:
        attributes["input.mime_type"] = mime
    span = TracerProvider().get_tracer(_SCOPE).start_span("chat", attributes=attributes)
    span.end()
    return span


def test_a_cut_json_input_is_labelled_text_plain() -> None:
    long_json = orjson.dumps({"messages": [{"role": "user", "content": "x" * 9000}]}).decode()
    data = _converted(_with_input(long_json))
    assert "[TRUNCATED:" in data.input
    assert data.attributes["input.mime_type"] == "text/plain"  # the JSONL line says so too
    otlp = {kv.key: kv.value for kv in PbSpan.FromString(foreign_span_bytes(data)).attributes}
    assert otlp["input.mime_type"].string_value == "text/plain"
    assert otlp["input.value"].string_value == data.input


def test_a_whole_or_redacted_json_input_keeps_its_mime_type() -> None:
    whole = orjson.dumps({"messages": [{"role": "user", "content": "hi"}]}).decode()
    assert _converted(_with_input(whole)).attributes["input.mime_type"] == "application/json"
    key = "sk-proj-Zq3vT8mN1pLx7Rk2Wc9Yb4Hd6Fs0Ga5Je"
    with_key = orjson.dumps({"messages": [{"role": "user", "content": f"key {key}"}]}).decode()
    data = _converted(_with_input(with_key))
    assert key not in data.input and "[REDACTED:" in data.input
    assert orjson.loads(data.input)  # still JSON: still labelled so
    assert data.attributes["input.mime_type"] == "application/json"


def test_a_cut_plain_text_input_keeps_its_mime_type() -> None:
    data = _converted(_with_input("y" * 9000, mime="text/plain"))
    assert data.attributes["input.mime_type"] == "text/plain"
    data = _converted(_with_input("y" * 9000, mime=None))
    assert "input.mime_type" not in data.attributes


def test_a_span_with_more_attributes_than_max_items_keeps_its_structure_and_ours() -> None:
    tracer = TracerProvider().get_tracer(_SCOPE, "1.2")
    many = {f"extra.{i}": i for i in range(110)}  # under the SDK's 128, over our 100
    span = tracer.start_span(
        "chat",
        kind=SpanKind.CLIENT,
        context=_under_trace_state("vendor=abc"),
        attributes={"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini", **many},
    )
    span.add_event("retry", {"attempt": 1})
    span.end()
    data = _converted(span)
    kept = data.attributes
    assert len(kept) == _SETTINGS.max_items
    assert kept["gen_ai.response.model"] == "gpt-4o-mini"  # ours, derived from theirs
    assert kept["llm.model_name"] == "gpt-4o-mini"
    assert "more of" in kept["[TRUNCATED]"]  # theirs were cut, and it says so
    direct = PbSpan.FromString(foreign_span_bytes(data))  # still a third-party span
    assert direct == PbSpan.FromString(span_bytes(data))
    assert direct.kind == PbSpan.SPAN_KIND_CLIENT
    assert [e.name for e in direct.events] == ["retry"]
    assert direct.trace_state == "vendor=abc"
    assert data.type == "llm"


def _rich_span() -> Any:
    tracer = TracerProvider().get_tracer(_SCOPE, "1.2")
    links = [Link(SpanContext(7, i + 1, is_remote=False), {"i": i}) for i in range(3)]
    span = tracer.start_span(
        "chat",
        kind=SpanKind.CLIENT,
        context=_under_trace_state("vendor=abc"),
        links=links,
        attributes={
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.provider": "openai",
            "llm.token_count.prompt": 5,
            "llm.token_count.completion": 3,
            "llm.token_count.total": 8,
            **{f"extra.{i}": i for i in range(5)},
        },
    )
    for i in range(25):
        span.add_event("chunk", {"i": i})
    span.end()
    return span


@pytest.mark.parametrize("max_items", [12, 20])
def test_a_small_max_items_cuts_their_attributes_not_the_structure(max_items: int) -> None:
    # Ours (model, provider, usage: 6 here) and the structure (scope, kind, events, links,
    # trace state, counts) together exceed a small max_items: the structure is kept first,
    # so the span stays third-party (kind, links, trace state) on every route.
    data = _converted(_rich_span(), capture.CaptureSettings(max_items=max_items))
    direct = PbSpan.FromString(foreign_span_bytes(data))
    assert direct == PbSpan.FromString(span_bytes(data))
    assert direct.kind == PbSpan.SPAN_KIND_CLIENT
    assert direct.trace_state == "vendor=abc"
    assert len(direct.links) == 3
    assert data.attributes["otel.scope.version"] == "1.2"
    # every event is exported or counted: none is lost to the list's own cut
    assert len(direct.events) + direct.dropped_events_count == 25
    assert all(e.name == "chunk" for e in direct.events)
    readable = to_readable_span(data, ResourceCache({}))
    assert readable.dropped_events == direct.dropped_events_count


def test_a_trace_state_over_the_string_limit_keeps_whole_members() -> None:
    # 32 members of 250 characters: 8 149 in all, over max_string_length (4 000). Capture's
    # cut left a last member of ~4 000 characters ending in its marker: not W3C (a value
    # is at most 256), which OTLP carried as is and the adapter's parser dropped.
    members = [(f"k{i}", "v" * 250) for i in range(32)]
    span = (
        TracerProvider()
        .get_tracer(_SCOPE)
        .start_span("chat", context=_under_trace_state(TraceState(members).to_header()))
    )
    span.end()
    data = _converted(span)
    header = data.attributes["brokle.otel.trace_state"]
    assert len(header) <= _SETTINGS.max_string_length
    kept = TraceState.from_header([header])
    assert list(kept.items()) == members[: len(kept)] and len(kept) == header.count(",") + 1
    direct = PbSpan.FromString(foreign_span_bytes(data))
    assert direct.trace_state == header == PbSpan.FromString(span_bytes(data)).trace_state
    readable = to_readable_span(data, ResourceCache({}))
    assert readable.context.trace_state.to_header() == header


def test_an_llm_span_over_max_items_keeps_its_cost() -> None:
    # An agent's chat span carries a flattened message history (4 names a message): 110
    # more attributes than max_items. Its cost is priced in after the attributes were
    # ordered for the cut, at their end: the cut took it.
    def llm_span(extra: int) -> Any:
        attributes = {
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.provider": "openai",
            "llm.token_count.prompt": 1000,
            "llm.token_count.completion": 500,
        }
        for i in range(extra // 2):
            attributes[f"llm.input_messages.{i}.message.role"] = "user"
            attributes[f"llm.input_messages.{i}.message.content"] = f"turn {i}"
        span = TracerProvider().get_tracer(_SCOPE, "1").start_span("chat", attributes=attributes)
        span.end()
        return span

    alone = _converted(llm_span(0)).attributes
    assert alone["brokle.cost.total_usd"] > 0
    kept = _converted(llm_span(110)).attributes
    assert len(kept) == _SETTINGS.max_items
    for key in ("brokle.cost.total_usd", "brokle.cost.input_usd", "brokle.cost.model"):
        assert kept[key] == alone[key]


def test_digits_int_cannot_read_lose_nothing() -> None:
    # "²".isdigit() is True, int("²") raises: the span was lost (serialize_error) for a
    # token count or a flattened message index written so. Decimal digits of any script
    # are read ("٣" is 3); the others are not counts, nor indexes.
    span = (
        TracerProvider()
        .get_tracer(_SCOPE)
        .start_span(
            "chat",
            attributes={
                "openinference.span.kind": "LLM",
                "llm.token_count.prompt": "²",
                "llm.token_count.completion": "٣",
                "llm.input_messages.².message.content": "hi",
            },
        )
    )
    span.end()
    data = _converted(span)
    assert data.attributes["gen_ai.usage.output_tokens"] == 3
    assert "gen_ai.usage.input_tokens" not in data.attributes
    assert data.input is None


def test_an_attribute_named_like_the_structure_never_replaces_it_over_max_items() -> None:
    # Over max_items the cut reorders the attributes: the instrumentor's own were merged
    # last, so one named "brokle.otel.kind" (or "otel.scope.name", "brokle.otel.events")
    # replaced the span's real kind, scope and events, which it cannot below max_items:
    # a SERVER span with 110 attributes went out over OTLP as INTERNAL, its event lost.
    tracer = TracerProvider().get_tracer(_SCOPE, "1.2")
    spoof = {"brokle.otel.kind": "bogus", "otel.scope.name": "x", "brokle.otel.events": "x"}
    exported = []
    for n in (5, 110):
        many = {f"extra.{i}": i for i in range(n)}
        span = tracer.start_span("chat", kind=SpanKind.SERVER, attributes={**many, **spoof})
        span.add_event("retry", {"attempt": 1})
        span.end()
        data = _converted(span)
        direct = PbSpan.FromString(foreign_span_bytes(data))
        assert direct == PbSpan.FromString(span_bytes(data))
        exported.append((direct.kind, [e.name for e in direct.events]))
        assert data.attributes["otel.scope.name"] == _SCOPE
    assert exported == [(PbSpan.SPAN_KIND_SERVER, ["retry"])] * 2
