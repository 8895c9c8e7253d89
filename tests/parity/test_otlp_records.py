"""OTLP requests built from records (span bytes from per-function templates, framed by the
exporter) decode, with ``opentelemetry-proto``, to exactly the message the reference route
builds (record -> SpanData -> ``encode_request``), and the record shortcut really fires; the
batch loop (``otlp_batch.encode_batch``, which writes the commonest spans itself) writes the
same bytes as ``encode_record`` span by span, and its own path fires too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Link, SpanContext, Status, StatusCode, TraceFlags

import brokle_trace
from brokle_trace import get_current_span, observe, observe_llm, trace_context
from brokle_trace._export import otlp_batch
from brokle_trace._export.convert import Resource, to_span_data
from brokle_trace._export.otlp_spans import encode_record
from brokle_trace._export.record import seal
from brokle_trace._runtime import lifecycle as _lifecycle
from brokle_trace._runtime import state as _state
from brokle_trace.exporters._encode import add_span_data, encode_request
from brokle_trace.exporters._frame import EncodedSpans
from brokle_trace.exporters.otlp import OTLPExporter
from tests.capture.strategies import secrets
from tests.parity.fired import Fired, run

TEXT = st.text(max_size=30) | st.sampled_from(["ünï 中文 🙂", "a\u2028b", "100%", ""])
VALUES = st.one_of(
    st.integers(-(1 << 70), 1 << 70),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    st.sampled_from(["x" * 70_000, "short"]),
    secrets().map(lambda pair: pair[0]),
    st.none(),
    st.booleans(),
    st.lists(st.integers(0, 9), max_size=4),
    st.dictionaries(st.sampled_from(["a", "api_key", "q", "ü"]), TEXT, max_size=3),
)
ATTRIBUTES = st.dictionaries(
    st.sampled_from(
        [
            "gen_ai.request.model",
            "gen_ai.tool.name",
            "input.value",
            "output.mime_type",
            "brokle.remote_parent",
            "team",
            "ids",
        ]
    ),
    st.one_of(TEXT, st.integers(0, 9), st.booleans(), st.lists(st.integers(0, 3), max_size=3)),
    max_size=4,
)
_PROVIDER = TracerProvider()
_PROVIDER.add_span_processor(brokle_trace.span_processor())
_TRACER = _PROVIDER.get_tracer("their.instrumentor", "1.2")


def _records(run_calls: Callable[[], None]) -> list[Any]:
    records: list[Any] = []
    _lifecycle.current_pipeline()
    enqueue, enqueue_record = _state.enqueue, _state.enqueue_record
    _state.enqueue = lambda span: records.append(seal(span))
    _state.enqueue_record = records.append
    try:
        run_calls()
    finally:
        _state.enqueue, _state.enqueue_record = enqueue, enqueue_record
    return records


def _groups(encoded: EncodedSpans) -> tuple[Any, ...]:
    groups = {key: (bytes(buf), list(ends)) for key, (buf, ends) in encoded.groups.items()}
    return groups, list(groups), encoded.n, encoded.nbytes, encoded.drops


def _batch(records: list[Any], resource: Resource) -> tuple[EncodedSpans, int]:
    """The records through the worker's batch loop, and how many it wrote itself."""
    settings_ = _state.capture_settings

    def failed(record: Any, exc: Exception, add: Callable[[Any], None]) -> None:
        add(to_span_data(record, settings_, resource))  # what batches.convert does

    before = otlp_batch.written_inline[0]
    encoded = otlp_batch.encode_batch(list(records), settings_, resource, failed)
    return encoded, otlp_batch.written_inline[0] - before


def _compare(
    records: list[Any],
    resource: Resource,
    fired: Fired,
    environ: dict[str, str],
    inline: Fired | None = None,
) -> None:
    settings_ = _state.capture_settings
    exporter = OTLPExporter("http://127.0.0.1:9", environ=environ)
    exporter._resources = type(exporter._resources)(environ)
    encoded = EncodedSpans()
    shortcut = 0
    for record in records:
        try:
            took = encode_record(record, settings_, resource, encoded)
        except Exception:  # what the worker does: the reference way, cleaned if need be
            took = False
        shortcut += took
        if not took:
            add_span_data(encoded, to_span_data(record, settings_, resource))
    fired.example(shortcut > 0)
    # Second, so the texts are known clean: the batch loop takes the spans that repeat.
    batched, written = _batch(records, resource)
    assert _groups(batched) == _groups(encoded)
    if inline is not None:
        inline.example(written > 0)
    drops: dict[str, int] = {}
    bodies = exporter._requests(encoded, drops)
    reference = encode_request(
        [to_span_data(record, settings_, resource) for record in records],
        exporter._resources,
        lambda span, exc: None,
    )
    assert len(bodies) == 1
    count, raw = bodies[0]
    assert ExportTraceServiceRequest.FromString(raw) == reference
    assert count + sum(drops.values()) == len(records)

    # Split under a small cap: every span that fits arrives once, equal to its reference.
    small = OTLPExporter("http://127.0.0.1:9", max_request_bytes=3000, environ=environ)
    small._resources = exporter._resources
    wanted = sorted(
        span.SerializeToString(deterministic=True)
        for rs in reference.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
        if span.ByteSize() < 2500
    )
    got = []
    for _, body in small._requests(encoded, {}):
        assert len(body) <= 3000
        for rs in ExportTraceServiceRequest.FromString(body).resource_spans:
            for ss in rs.scope_spans:
                got.extend(s.SerializeToString(deterministic=True) for s in ss.spans)
    assert [g for g in sorted(got) if g in wanted] == wanted


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    name=TEXT.filter(bool),
    kind=st.sampled_from(["span", "tool", "llm", "retrieval", "embedding", "agent"]),
    static=ATTRIBUTES,
    args=st.lists(VALUES, max_size=3),
    result=VALUES,
    raises=st.booleans(),
    traced=st.booleans(),
    update=st.booleans(),
    capture=st.booleans(),
    foreign_span=st.booleans(),
    service=st.none() | st.sampled_from(["api", "ü-svc", "unknown_service"]),
    environ=st.sampled_from([{}, {"OTEL_RESOURCE_ATTRIBUTES": "team=ml,region=eu"}]),
)
def _property(  # noqa: PLR0917 - one example's knobs
    fired: Fired,
    inline: Fired,
    data: st.DataObject,
    name: str,
    kind: str,
    static: dict[str, Any],
    args: list[Any],
    result: Any,
    raises: bool,
    traced: bool,
    update: bool,
    capture: bool,
    foreign_span: bool,
    service: str | None,
    environ: dict[str, str],
) -> None:
    def body(*a: Any) -> Any:
        if update:
            get_current_span().update(
                metadata={"k": result if isinstance(result, str) else 1}, level="warning"
            )
            if kind == "llm":  # usage priced into cost on the worker
                brokle_trace.update_current_llm(
                    model="gpt-4o-mini", usage={"input_tokens": 12, "output_tokens": 3}
                )
        if foreign_span:
            # A link needs only the other span's context: a started span never ended stayed
            # running in our processor for the rest of the session (test_fork counts them).
            linked = SpanContext(0x5EED, 0xBEEF, is_remote=False, trace_flags=TraceFlags(1))
            links = [Link(linked, {"why": "retry"})]
            with _TRACER.start_as_current_span("their.call", links=links) as theirs:
                theirs.set_attribute("gen_ai.operation.name", "chat")
                theirs.add_event("chunk", {"n": 1})
                theirs.set_status(Status(StatusCode.ERROR, "their failure"))
        if raises:
            raise ValueError(f"failed with {result!r}")
        return result

    options: dict[str, Any] = {"name": name, "capture_inputs": capture, "attributes": static}
    if kind == "llm" and data.draw(st.booleans()):
        fn = observe_llm(model="gpt-4o", provider="openai", **options)(body)
    else:
        fn = observe(type=kind, **options)(body)
    parent = observe(name="parent")(lambda: fn(*args))

    def calls() -> None:
        try:
            if traced:
                with trace_context(user_id="u1", session_id="s", tags=["t", "ü"]):
                    parent()
            else:
                parent()
        except ValueError:
            pass

    resource = Resource(service=service, environment="prod", release="1.0")
    _compare(_records(calls), resource, fired, environ, inline)


def test_requests_from_records_equal_the_reference_encoding() -> None:
    # About a third of the examples have an ordinary span (the rest fail, update, carry trace
    # attributes or are LLM/retrieval spans): a tenth is a safe floor. The batch loop writes
    # the parent (no arguments) whenever its result is a leaf: a tenth again.
    inline = Fired()
    run(lambda fired: _property(fired, inline), min_share=0.1)
    assert inline.fired >= max(1, inline.tried // 10), (inline.fired, inline.tried)


# -- the fixed-width fields and the value headers the shortcut writes itself ----------------
_U64 = (1 << 64) - 1
IDS = st.integers(1, _U64) | st.sampled_from([1, _U64, 1 << 63])
TRACE_IDS = st.integers(1, (1 << 128) - 1) | st.sampled_from([1, (1 << 128) - 1, 1 << 64])
TIMES = st.integers(0, _U64) | st.sampled_from([0, 1, _U64, 1 << 63])
#: Texts whose encodings cross the varint boundaries of the attribute headers (127/128,
#: 16383/16384 bytes, and past the 4000-character cut), ASCII or not.
SIZED_TEXT = st.builds(
    lambda unit, n: unit * n,
    st.sampled_from(["x", "ü", "中", "🙂", "a\u2028"]),
    st.sampled_from([0, 1, 40, 41, 42, 62, 63, 64, 120, 127, 128, 3999, 4000, 5461, 16384]),
) | st.text(max_size=20)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    trace_id=TRACE_IDS,
    span_id=IDS,
    parent_id=st.none() | IDS,
    start=TIMES,
    end=TIMES,
    text=SIZED_TEXT,
    returned=SIZED_TEXT | st.integers(-5, 5) | st.none(),
    name=st.sampled_from(["s1", "ünï", "x" * 200]),
    remote=st.booleans(),
)
def _fixed_fields_property(  # noqa: PLR0917 - one example's knobs
    fired: Fired,
    inline: Fired,
    trace_id: int,
    span_id: int,
    parent_id: int | None,
    start: int,
    end: int,
    text: str,
    returned: Any,
    name: str,
    remote: bool,
) -> None:
    static = {"brokle.remote_parent": True} if remote else {}
    fn = observe(name=name, attributes=static)(lambda t: returned)
    records = _records(lambda: fn(text))
    assert len(records) == 1
    ids = (trace_id, span_id, parent_id or 0, start, end)
    record = (records[0][0], *ids, *records[0][6:])
    resource = Resource("svc", "prod", "1")
    encoded = EncodedSpans()
    # Twice: a length written wrong before the first span would misplace the second.
    took = [encode_record(record, _state.capture_settings, resource, encoded) for _ in "ab"]
    fired.example(all(took))
    if not any(took):
        return
    reference = encode_request(
        [to_span_data(record, _state.capture_settings, resource)] * 2,
        OTLPExporter("http://127.0.0.1:9", environ={})._resources,
        lambda span, exc: None,
    )
    ((count, raw),) = OTLPExporter("http://127.0.0.1:9", environ={})._requests(encoded, {})
    assert count == 2
    assert ExportTraceServiceRequest.FromString(raw) == reference
    # The batch loop, on the same two spans (their text now known clean): the same bytes.
    batched, written = _batch([record, record], resource)
    assert _groups(batched) == _groups(encoded)
    inline.example(written == 2)


def test_ids_times_and_value_lengths_written_by_the_shortcut_equal_the_reference() -> None:
    # Every example is an ordinary span of a plain function: the shortcut must take nearly
    # all of them (a text that cannot be encoded strictly would be the exception). The
    # batch loop takes those whose texts are ASCII, short and cached (most texts drawn are
    # not ASCII: about a fifth of the examples).
    inline = Fired()
    run(lambda fired: _fixed_fields_property(fired, inline), min_share=0.9)
    assert inline.fired >= max(1, inline.tried // 10), (inline.fired, inline.tried)


# -- the batch loop's arguments: several per call, several functions interleaved -------------
#: Arguments the batch loop may write itself (leaves), and some it must hand on.
LEAF_ARGS = st.one_of(
    st.integers(-(1 << 64), 1 << 64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.sampled_from(["", "a", 'q"uote', "back\\slash", "tab\there", "ünï", "x" * 300]),
    st.text(st.characters(codec="ascii"), max_size=12),
    secrets().map(lambda pair: pair[0]),
)


def _two(a: Any, b: Any) -> Any:
    return a


def _three(ü: Any, b: Any, c: Any) -> Any:  # noqa: PLC2401 - a non-ASCII name on purpose
    return c


def _one(x: Any) -> Any:
    return x


_PLAIN = [observe(name="two")(_two), observe(name="three")(_three), observe(name="one")(_one)]
_ARITY = (2, 3, 1)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    calls=st.lists(
        st.tuples(st.integers(0, 2), st.lists(LEAF_ARGS, min_size=3, max_size=3)),
        min_size=1,
        max_size=6,
    )
)
def _arguments_property(fired: Fired, inline: Fired, calls: list[tuple[int, list[Any]]]) -> None:
    def run_calls() -> None:
        for which, args in calls:
            _PLAIN[which](*args[: _ARITY[which]])

    # Twice: the second pass finds its texts known clean, as a repeating workload does.
    records = _records(run_calls) + _records(run_calls)
    _compare(records, Resource(service="svc"), fired, {}, inline)


def test_arguments_written_by_the_batch_loop_equal_the_reference() -> None:
    # Functions of one, two and three named parameters (one of them non-ASCII), their spans
    # mixed in one batch: the loop's own JSON for the arguments (a lone one spliced, several
    # as a dict) decodes to what the reference encodes, and it really writes them (in about
    # a fifth of the examples after the rest of the suite: texts not cached, non-ASCII or
    # secrets send the span the general way).
    inline = Fired()
    run(lambda fired: _arguments_property(fired, inline), min_share=0.5)
    assert inline.fired >= max(1, inline.tried // 10), (inline.fired, inline.tried)
