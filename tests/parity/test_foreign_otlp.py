"""A third-party span's direct OTLP bytes (``_export.foreign_otlp``) decode, with
``opentelemetry-proto``, to exactly the ``Span`` the reference route fills (its SpanData ->
``exporters._encode``), for real SDK spans with any attributes, events, links, status and
trace attributes; and the direct route really fires (``fired``)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import (
    Link,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from brokle_trace import capture
from brokle_trace._export import foreign_otlp
from brokle_trace._export.convert import Resource
from brokle_trace._export.foreign import attributes_of, foreign_record, to_span_data
from brokle_trace._export.foreign_otlp import Unencodable, encode_foreign, foreign_span_bytes
from brokle_trace._model import SpanData
from brokle_trace.exporters._encode import add_span_data, span_bytes
from brokle_trace.exporters._frame import EncodedSpans
from tests.capture.strategies import secrets
from tests.parity.fired import Fired, run

#: A vendor's entries, inherited by the child span (OTLP ``Span.trace_state``).
_TRACE_STATE = TraceState([("vendor", "abc"), ("rojo", "00f067aa0ba902b7")])
_TEXT = st.text(max_size=40) | st.sampled_from(["ünï 中文 🙂", "a\u2028b", "", "x" * 5000])
_SCALAR = st.one_of(
    _TEXT,
    secrets().map(lambda pair: pair[0]),
    st.integers(-(1 << 63), (1 << 63) - 1),
    st.integers(-(1 << 70), 1 << 70),  # past int64: the reference cleans or drops it
    st.floats(allow_nan=False),
    st.booleans(),
)
_VALUE = _SCALAR | st.lists(st.text(max_size=8), max_size=3).map(tuple)
_VALUE |= st.lists(st.integers(-5, 5), max_size=3).map(tuple)
_VALUE |= st.lists(st.booleans(), min_size=1, max_size=3).map(tuple)
#: Names the instrumentors write (every convention the mapping reads), and others.
_KEYS = st.sampled_from(
    [
        "openinference.span.kind",
        "gen_ai.operation.name",
        "traceloop.span.kind",
        "input.value",
        "input.mime_type",
        "output.value",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "llm.input_messages.0.message.role",
        "llm.input_messages.0.message.content",
        "llm.output_messages.0.message.content",
        "llm.model_name",
        "gen_ai.request.model",
        "gen_ai.response.model",
        "gen_ai.provider.name",
        "gen_ai.system",
        "llm.system",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.prompt_tokens",
        "llm.token_count.prompt",
        "llm.token_count.completion",
        "gen_ai.tool.name",
        "api_key",
        "authorization",
        "metadata",
        "brokle.remote_parent",
    ]
) | st.text(min_size=1, max_size=12)
_KIND_VALUES = st.sampled_from(
    ["LLM", "llm", "RETRIEVER", "TOOL", "CHAIN", "PROMPT", "chat", "embeddings", "workflow"]
)
_ATTRIBUTES = st.dictionaries(_KEYS, _VALUE | _KIND_VALUES, max_size=14)
_EVENTS = st.lists(
    st.tuples(st.sampled_from(["exception", "token", "", "retry"]), _ATTRIBUTES), max_size=3
)
_TRACE_ATTRS = st.none() | st.tuples(
    st.none() | _TEXT,
    st.none() | _TEXT,
    st.lists(_TEXT, max_size=2).map(tuple),
    st.dictionaries(st.sampled_from(["team", "password", "n"]), _SCALAR, max_size=2),
)


class _Ids(IdGenerator):
    """Deterministic ids (the SDK's default draws from ``random``, which hypothesis forbids
    inside a strategy)."""

    _next = itertools.count(1)

    def generate_span_id(self) -> int:
        return next(self._next) & ((1 << 64) - 1) or 1

    def generate_trace_id(self) -> int:
        return (next(self._next) * 0x9E3779B97F4A7C15) & ((1 << 128) - 1) or 1


_PROVIDER = TracerProvider(id_generator=_Ids())
#: max_items=6: the cut takes their attributes (and ours) past the structure, which stays.
_SETTINGS = (
    capture.CaptureSettings(),
    capture.CaptureSettings(redact=False),
    capture.CaptureSettings(max_items=6),
)


@st.composite
def _records(draw: Any) -> tuple[Any, ...]:
    scope = draw(st.sampled_from([("openinference.instrumentation.openai", "0.1"), ("x", None)]))
    tracer = _PROVIDER.get_tracer(scope[0], scope[1])
    parent = draw(st.sampled_from(["none", "local", "remote"]))
    context = None
    if parent != "none":
        remote = SpanContext(
            0x1234,
            0x99,
            is_remote=parent == "remote",
            trace_flags=TraceFlags(1),
            trace_state=draw(st.sampled_from([None, _TRACE_STATE])),
        )
        context = set_span_in_context(_NonRecording(remote))
    links = [
        Link(
            SpanContext(draw(st.integers(1, 2**128 - 1)), 7, draw(st.booleans())), draw(_ATTRIBUTES)
        )
        for _ in range(draw(st.integers(0, 2)))
    ]
    span = tracer.start_span(
        draw(_TEXT),
        context=context,
        kind=draw(st.sampled_from(list(SpanKind))),
        attributes=draw(_ATTRIBUTES),
        links=links,
    )
    for name, attributes in draw(_EVENTS):
        span.add_event(name, attributes)
    status = draw(st.sampled_from(["unset", "ok", "error", "error-message"]))
    if status == "ok":
        span.set_status(Status(StatusCode.OK))
    elif status.startswith("error"):
        span.set_status(
            Status(StatusCode.ERROR, draw(_TEXT) if status == "error-message" else None)
        )
    span.end()
    return foreign_record(span, attributes_of(span), draw(_TRACE_ATTRS), {})


class _NonRecording:
    """A parent span context as instrumentors receive one (local or from a carrier)."""

    def __init__(self, context: SpanContext) -> None:
        self._context = context

    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return False


def _property(fired: Fired) -> None:
    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_records(), st.sampled_from(_SETTINGS), st.sampled_from([Resource(), Resource("api")]))
    def prop(record: tuple[Any, ...], config: capture.CaptureSettings, resource: Resource) -> None:
        span = to_span_data(record, config, resource)
        try:
            direct = foreign_span_bytes(span)
        except Unencodable:
            fired.example(False)
            return
        fired.example(True)
        assert PbSpan.FromString(direct) == PbSpan.FromString(span_bytes(span))

    prop()


def test_direct_bytes_decode_to_the_reference_span() -> None:
    run(_property, min_share=0.7)


def _groups(encoded: EncodedSpans) -> dict[Any, list[PbSpan]]:
    out = {}
    for key, (buf, ends) in encoded.groups.items():
        spans, start = [], 0
        for end in ends:
            # Each entry is SPANS tag, length, bytes: decode the framed list as a ScopeSpans.
            spans.append(bytes(buf[start:end]))
            start = end
        from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans

        out[key] = list(ScopeSpans.FromString(b"".join(spans)).spans)
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_records(), min_size=1, max_size=4))
def test_encode_foreign_groups_and_counts_as_the_reference(records: list[Any]) -> None:
    config, resource = _SETTINGS[0], Resource("svc")
    ours, reference = EncodedSpans(), EncodedSpans()
    for record in records:
        assert encode_foreign(record, config, resource, ours)
        add_span_data(reference, to_span_data(record, config, resource))
    assert (ours.n, ours.drops) == (reference.n, reference.drops)
    assert _groups(ours) == _groups(reference)


def test_a_value_the_wire_refuses_takes_the_reference_route(monkeypatch: Any) -> None:
    # Capture cleans what it exports (lone surrogates, ints past int64), so this is defence:
    # a SpanData that still holds one is not written here but by the reference encoder,
    # which cleans it, exactly as for our own spans.
    span = SpanData(
        name="read caf\udce9.txt",
        trace_id="1" * 32,
        span_id="2" * 16,
        start_time_ns=1,
        end_time_ns=2,
        attributes={"otel.scope.name": "their"},
    )
    with pytest.raises(Unencodable):
        foreign_span_bytes(span)
    with pytest.raises(ValueError):
        span_bytes(span)
    monkeypatch.setattr(foreign_otlp, "to_span_data", lambda *_: span)
    ours, reference = EncodedSpans(), EncodedSpans()
    assert encode_foreign(None, _SETTINGS[0], Resource(), ours)  # type: ignore[arg-type]
    add_span_data(reference, span)
    assert (ours.n, ours.drops) == (reference.n, reference.drops)
    assert _groups(ours) == _groups(reference)
    assert _groups(ours)  # cleaned and written, not lost
    # An int past int64 cannot be cleaned: counted lost by both routes alike.
    span = span.model_copy(update={"attributes": {"otel.scope.name": "their", "n": 1 << 65}})
    ours, reference = EncodedSpans(), EncodedSpans()
    encode_foreign(None, _SETTINGS[0], Resource(), ours)  # type: ignore[arg-type]
    add_span_data(reference, span)
    assert ours.drops == reference.drops == {"serialize_error": 1}


def test_repeating_pairs_are_cached_and_stay_exact() -> None:
    foreign_otlp._pairs[str].clear()
    tracer = _PROVIDER.get_tracer("openinference.instrumentation.openai")
    for i in range(3):
        span = tracer.start_span("chat", attributes={"llm.system": "openai", "n": i})
        span.end()
        data = to_span_data(
            foreign_record(span, attributes_of(span), None, {}), _SETTINGS[0], Resource()
        )
        assert PbSpan.FromString(foreign_span_bytes(data)) == PbSpan.FromString(span_bytes(data))
    assert ("llm.system", "openai") in foreign_otlp._pairs[str]
    assert ("n", 2) in foreign_otlp._pairs[int]
