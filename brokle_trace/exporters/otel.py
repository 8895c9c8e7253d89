"""Feed our spans to any OpenTelemetry ``SpanExporter`` (Zipkin, console, gRPC OTLP, vendors).

Users keep the exporters they already run; our spans reach them as SDK ``ReadableSpan``
objects with the same ids and the same GenAI/OpenInference attributes as our OTLP exporter.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from brokle_trace._model import SpanData
from brokle_trace.exporters._readable import ResourceCache, to_readable_spans
from brokle_trace.typing import ExportResult

__all__ = ["OTelSpanExporterAdapter"]


class OTelSpanExporterAdapter:
    """Wrap an OpenTelemetry SDK ``SpanExporter`` so it receives our spans.

    ``configure(exporters=[...])`` wraps SDK exporters automatically; wrap by hand to
    combine one with other options.

    Example:
        >>> from opentelemetry.sdk.trace.export import ConsoleSpanExporter
        >>> from brokle_trace import configure
        >>> from brokle_trace.exporters import OTelSpanExporterAdapter
        >>> adapter = OTelSpanExporterAdapter(ConsoleSpanExporter())
        >>> configure(exporter="none", exporters=[adapter])
    """

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter
        self._resources = ResourceCache()

    def __repr__(self) -> str:
        return f"OTelSpanExporterAdapter({type(self.exporter).__name__})"

    def export(self, spans: Sequence[SpanData]) -> ExportResult:
        """Convert and hand ``spans`` to the wrapped exporter."""
        result = self.exporter.export(to_readable_spans(spans, self._resources))
        return ExportResult.SUCCESS if result is SpanExportResult.SUCCESS else ExportResult.FAILURE

    def shutdown(self) -> None:
        """Shut the wrapped exporter down."""
        self.exporter.shutdown()
