"""A third-party span's links keep whether their context is remote, on every route: the
direct OTLP bytes, the reference encoder and the SDK-exporter adapter all say what the
OpenTelemetry SDK's own OTLP encoder says for the same span."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.trace import Link, SpanContext, Status, StatusCode, TraceFlags

from brokle_trace import capture
from brokle_trace._export.convert import Resource
from brokle_trace._export.foreign import attributes_of, foreign_record, to_span_data
from brokle_trace._export.foreign_otlp import foreign_span_bytes
from brokle_trace.exporters._encode import span_bytes
from brokle_trace.exporters._readable import ResourceCache, to_readable_span

_REMOTE = SpanContext(0xA1, 0xB1, is_remote=True, trace_flags=TraceFlags(1))
_LOCAL = SpanContext(0xA2, 0xB2, is_remote=False, trace_flags=TraceFlags(1))


def test_remote_and_local_links_are_told_apart_as_the_sdk_encoder_does() -> None:
    tracer = TracerProvider().get_tracer("openinference.instrumentation.openai", "0.1")
    sdk_span = tracer.start_span(
        "ChatCompletion",
        attributes={"openinference.span.kind": "LLM"},
        links=[Link(_REMOTE, {"k": "from a carrier"}), Link(_LOCAL)],
    )
    sdk_span.end()
    (stock,) = encode_spans([sdk_span]).resource_spans[0].scope_spans[0].spans
    expected = [link.flags for link in stock.links]
    assert expected[0] != expected[1]  # the SDK tells them apart: so must we

    record = foreign_record(sdk_span, attributes_of(sdk_span), None, {})
    span = to_span_data(record, capture.CaptureSettings(), Resource())
    assert [link.flags for link in PbSpan.FromString(foreign_span_bytes(span)).links] == expected
    assert [link.flags for link in PbSpan.FromString(span_bytes(span)).links] == expected
    readable = to_readable_span(span, ResourceCache())
    assert [link.context.is_remote for link in readable.links] == [True, False]


_KEY = "sk-proj-Zq3vT8mN1pLx7Rk2Wc9Yb4Hd6Fs0Ga5Je"


def test_exception_events_not_carried_as_the_error_are_kept_and_redacted() -> None:
    """A retried call records an exception and may still succeed; a failed one may have
    recorded several. Only the one that became ``error`` is not kept twice: the others are
    events, as the SDK's encoder sends them, and their texts are redacted."""
    tracer = TracerProvider().get_tracer("openinference.instrumentation.openai", "0.1")
    for failed in (False, True):
        sdk_span = tracer.start_span(
            "ChatCompletion", attributes={"openinference.span.kind": "LLM"}
        )
        sdk_span.record_exception(TimeoutError(f"first try timed out (key {_KEY})"))
        sdk_span.record_exception(ValueError("second"))
        if failed:
            sdk_span.set_status(Status(StatusCode.ERROR, "bad"))
        sdk_span.end()
        (stock,) = encode_spans([sdk_span]).resource_spans[0].scope_spans[0].spans
        record = foreign_record(sdk_span, attributes_of(sdk_span), None, {})
        span = to_span_data(record, capture.CaptureSettings(), Resource())
        for data in (foreign_span_bytes(span), span_bytes(span)):
            ours = PbSpan.FromString(data)
            assert [e.name for e in ours.events] == [e.name for e in stock.events]
            assert _KEY.encode() not in data
        assert _KEY not in span.model_dump_json()
        assert (span.error is not None) is failed


def test_what_the_sdk_span_limits_dropped_is_counted_as_its_encoder_counts_it() -> None:
    """An instrumentor's provider with span limits drops attributes, events and links before
    the span ends: the SDK's encoder sends how many; so do we (nothing lost silently)."""
    limits = SpanLimits(max_span_attributes=3, max_events=2, max_links=1)
    tracer = TracerProvider(span_limits=limits).get_tracer("openinference.instrumentation.x")
    sdk_span = tracer.start_span(
        "many",
        attributes={"openinference.span.kind": "LLM", "a": 1, "b": 2, "c": 3, "d": 4},
        links=[Link(_LOCAL), Link(_REMOTE), Link(_LOCAL)],
    )
    for i in range(5):
        sdk_span.add_event(f"token-{i}")
    sdk_span.end()
    (stock,) = encode_spans([sdk_span]).resource_spans[0].scope_spans[0].spans
    assert (stock.dropped_attributes_count, stock.dropped_events_count) == (2, 3)
    record = foreign_record(sdk_span, attributes_of(sdk_span), None, {})
    span = to_span_data(record, capture.CaptureSettings(), Resource())
    for data in (foreign_span_bytes(span), span_bytes(span)):
        ours = PbSpan.FromString(data)
        assert ours.dropped_attributes_count == stock.dropped_attributes_count
        assert ours.dropped_events_count == stock.dropped_events_count
        assert ours.dropped_links_count == stock.dropped_links_count


def test_the_processors_inlined_record_is_foreign_record() -> None:
    # span_processor's on_end builds the record tuple inline (once a span, on the
    # instrumentor's thread); it must stay field for field what foreign_record builds.
    import pytest

    from brokle_trace._runtime import state as _state
    from brokle_trace._trace.processor import BrokleSpanProcessor

    mp = pytest.MonkeyPatch()
    queued: list[tuple[object, ...]] = []
    mp.setattr(_state, "enqueue_record", queued.append)
    try:
        provider = TracerProvider()
        provider.add_span_processor(BrokleSpanProcessor())
        parent = provider.get_tracer("t").start_span("parent")
        from opentelemetry.trace import set_span_in_context

        child = provider.get_tracer("t").start_span(
            "child", context=set_span_in_context(parent), attributes={"a": 1}
        )
        child.end()
        parent.end()
    finally:
        mp.undo()
    assert len(queued) == 2
    for record, sdk_span in zip(queued, (child, parent), strict=True):
        readable = record[6]  # what the SDK handed on_end: a ReadableSpan of sdk_span
        assert readable.context.span_id == sdk_span.context.span_id  # type: ignore[attr-defined]
        expected = foreign_record(readable, record[7], record[9], record[10])  # type: ignore[arg-type]
        assert record == expected
    assert queued[0][3] == parent.context.span_id  # the child names its parent
