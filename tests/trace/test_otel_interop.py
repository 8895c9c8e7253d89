"""OpenTelemetry interop both ways, without installing ourselves as the TracerProvider."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from brokle_trace import get_current_span, observe
from brokle_trace.testing import capture_spans
from tests.helpers import one


@pytest.fixture
def otel() -> Iterator[tuple[otel_trace.Tracer, InMemorySpanExporter]]:
    # A provider of the user's own, not the global one: we must work with either.
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("user-app"), exporter
    provider.shutdown()


def test_otel_span_inside_observe_is_our_child(
    otel: tuple[otel_trace.Tracer, InMemorySpanExporter],
) -> None:
    tracer, otel_spans = otel

    @observe
    def ours() -> None:
        current = otel_trace.get_current_span()
        ctx = current.get_span_context()
        ours_span = get_current_span()
        assert ours_span is not None
        assert f"{ctx.trace_id:032x}" == ours_span.trace_id
        assert f"{ctx.span_id:016x}" == ours_span.span_id
        with tracer.start_as_current_span("http-call"):
            pass

    with capture_spans() as spans:
        ours()
    (otel_span,) = otel_spans.get_finished_spans()
    our = one(spans, "ours")
    assert otel_span.parent is not None
    assert f"{otel_span.parent.span_id:016x}" == our.span_id
    assert f"{otel_span.context.trace_id:032x}" == our.trace_id


def test_observe_inside_otel_span_joins_its_trace(
    otel: tuple[otel_trace.Tracer, InMemorySpanExporter],
) -> None:
    tracer, _ = otel

    @observe
    def ours() -> None:
        return None

    with capture_spans() as spans, tracer.start_as_current_span("incoming-request") as parent:
        ours()
    ctx = parent.get_span_context()
    our = one(spans, "ours")
    assert our.trace_id == f"{ctx.trace_id:032x}"
    assert our.parent_span_id == f"{ctx.span_id:016x}"


def test_interleaved_ours_otel_ours(otel: tuple[otel_trace.Tracer, InMemorySpanExporter]) -> None:
    tracer, otel_spans = otel

    @observe
    def inner() -> None:
        return None

    @observe
    def outer() -> None:
        with tracer.start_as_current_span("middle"):
            inner()
        inner()  # after the OTel span ended we are the innermost again

    with capture_spans() as spans:
        outer()
    (middle,) = otel_spans.get_finished_spans()
    first_inner, second_inner = [s for s in spans if s.name == "inner"]
    assert first_inner.parent_span_id == f"{middle.context.span_id:016x}"
    assert second_inner.parent_span_id == one(spans, "outer").span_id
    assert f"{middle.parent.span_id:016x}" == one(spans, "outer").span_id  # type: ignore[union-attr]


async def test_interop_holds_per_task(otel: tuple[otel_trace.Tracer, InMemorySpanExporter]) -> None:
    tracer, otel_spans = otel

    @observe
    async def worker(i: int) -> None:
        await asyncio.sleep(0)
        with tracer.start_as_current_span(f"otel-{i}"):
            await asyncio.sleep(0)

    with capture_spans() as spans:
        await asyncio.gather(*(worker(i) for i in range(4)))
    workers = {s.input["i"]: s.span_id for s in spans}  # type: ignore[index]
    for span in otel_spans.get_finished_spans():
        i = int(span.name.split("-")[1])
        assert f"{span.parent.span_id:016x}" == workers[i]  # type: ignore[union-attr]


def test_we_never_become_the_global_tracer_provider() -> None:
    before = otel_trace.get_tracer_provider()

    @observe
    def f() -> None:
        return None

    with capture_spans():
        f()
    assert otel_trace.get_tracer_provider() is before


def test_outside_any_span_otel_sees_no_span() -> None:
    assert not otel_trace.get_current_span().get_span_context().is_valid


def test_otel_children_of_a_sampled_out_trace_are_not_recorded(
    otel: tuple[otel_trace.Tracer, InMemorySpanExporter],
) -> None:
    import brokle_trace

    tracer, otel_spans = otel
    brokle_trace.configure(exporter="none", sample_rate=0.0, strict=True)

    @observe
    def ours() -> None:
        with tracer.start_as_current_span("http-call"):
            pass

    with capture_spans() as spans:
        ours()
    assert spans == []
    assert otel_spans.get_finished_spans() == ()
