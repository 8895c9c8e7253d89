"""W3C traceparent across services: inject on the way out, extract on the way in."""

from __future__ import annotations

from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import TracerProvider

from brokle_trace import flush, get_current_span, observe
from brokle_trace.propagation import extract, inject
from brokle_trace.testing import InMemoryExporter

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
HEADER = f"00-{TRACE}-{PARENT}-01"


def test_inject_writes_the_current_span(memory: InMemoryExporter) -> None:
    @observe
    def outgoing() -> tuple[dict[str, str], str, str]:
        span = get_current_span()
        return dict(inject({})), span.trace_id, span.span_id

    headers, trace_id, span_id = outgoing()
    assert headers == {"traceparent": f"00-{trace_id}-{span_id}-01"}


def test_inject_outside_any_span_writes_nothing() -> None:
    assert inject({}) == {}


def test_extract_continues_the_remote_trace(memory: InMemoryExporter) -> None:
    @observe
    def child() -> None:
        pass

    @observe
    def handler() -> None:
        child()

    with extract({"traceparent": HEADER, "tracestate": "vendor=1"}) as ctx:
        assert ctx.trace_id == TRACE and ctx.span_id == PARENT and ctx.sampled
        handler()
    assert flush(2.0)
    spans = {s.name: s for s in memory.spans}
    assert spans["handler"].trace_id == TRACE
    assert spans["handler"].parent_span_id == PARENT
    assert spans["child"].parent_span_id == spans["handler"].span_id


def test_extract_inside_a_span_makes_the_remote_span_the_parent(
    memory: InMemoryExporter,
) -> None:
    @observe
    def handler() -> None:
        pass

    @observe
    def worker_loop() -> None:
        with extract({"traceparent": HEADER}):
            handler()
        handler()

    worker_loop()
    assert flush(2.0)
    first, second = (s for s in memory.spans if s.name == "handler")
    assert first.trace_id == TRACE and first.parent_span_id == PARENT
    assert second.trace_id != TRACE


def test_round_trip_between_two_services(memory: InMemoryExporter) -> None:
    @observe
    def server() -> str:
        return get_current_span().trace_id

    @observe
    def client() -> tuple[str, str]:
        headers = inject({})
        with extract(headers):
            return server(), get_current_span().span_id

    remote_trace, client_span = client()
    assert flush(2.0)
    srv = next(s for s in memory.spans if s.name == "server")
    assert srv.parent_span_id == client_span and srv.trace_id == remote_trace


def test_headers_in_any_case_and_wsgi_environ() -> None:
    assert extract({"TraceParent": HEADER}).trace_id == TRACE
    assert extract({"HTTP_TRACEPARENT": HEADER}).trace_id == TRACE
    assert extract({b"x": b"y", "traceparent": HEADER.encode()}).trace_id == TRACE  # type: ignore[dict-item]


def test_invalid_or_missing_header_is_a_no_op(memory: InMemoryExporter) -> None:
    @observe
    def handler() -> str:
        return get_current_span().trace_id

    for headers in ({}, {"traceparent": "garbage"}, {"traceparent": f"00-{'0' * 32}-{PARENT}-01"}):
        ctx = extract(headers)
        assert not ctx
        with ctx:
            assert handler() != TRACE


def test_inject_from_an_otel_span() -> None:
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("otel") as span:
        headers = inject({})
    sc = span.get_span_context()
    value = headers["traceparent"]
    assert value.startswith(f"00-{sc.trace_id:032x}-{sc.span_id:016x}-")
    assert int(value[-2:], 16) & 0x01  # sampled
    assert otel_trace.get_current_span().get_span_context().is_valid is False
