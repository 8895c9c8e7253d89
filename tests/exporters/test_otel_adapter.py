"""Any OpenTelemetry SpanExporter receives our spans, with the same ids and attributes."""

from __future__ import annotations

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import brokle_trace
from brokle_trace import observe, observe_llm
from brokle_trace.exporters import OTelSpanExporterAdapter


def test_sdk_exporter_is_wrapped_automatically() -> None:
    otel = InMemorySpanExporter()
    brokle_trace.configure(exporter="none", exporters=[otel], service_name="svc")

    @observe_llm(model="gpt-4o", provider="openai")
    def ask() -> str:
        return "hi"

    @observe
    def flow() -> str:
        return ask()

    flow()
    assert brokle_trace.flush(2.0)
    spans = {s.name: s for s in otel.get_finished_spans()}
    assert set(spans) == {"flow", "ask"}
    assert spans["ask"].parent is not None
    assert spans["ask"].parent.span_id == spans["flow"].context.span_id
    assert spans["ask"].attributes["gen_ai.request.model"] == "gpt-4o"
    assert spans["ask"].attributes["openinference.span.kind"] == "LLM"
    assert spans["flow"].resource.attributes["service.name"] == "svc"
    pipeline = brokle_trace._runtime.lifecycle.current_pipeline()
    assert isinstance(pipeline.exporters[0], OTelSpanExporterAdapter)


def test_failure_result_is_counted() -> None:
    class Failing(InMemorySpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            from opentelemetry.sdk.trace.export import SpanExportResult

            return SpanExportResult.FAILURE

    brokle_trace.configure(exporter="none", exporters=[OTelSpanExporterAdapter(Failing())])

    @observe
    def step() -> None:
        pass

    step()
    assert brokle_trace.flush(2.0)
    s = brokle_trace.stats()
    assert s["export_failures"] == 1 and s["dropped"]["export_failed"] == 1
