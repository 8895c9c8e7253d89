"""Exporters: where finished spans go. Each is a small class with ``export`` and ``shutdown``.

``OTLPExporter`` and ``OTelSpanExporterAdapter`` load the OpenTelemetry encoding on first
use, so importing this package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from brokle_trace.exporters.console import ConsoleExporter
from brokle_trace.exporters.jsonl import JsonlExporter
from brokle_trace.exporters.memory import InMemoryExporter

if TYPE_CHECKING:
    from brokle_trace.exporters.otel import OTelSpanExporterAdapter
    from brokle_trace.exporters.otlp import OTLPExporter

__all__ = [
    "ConsoleExporter",
    "InMemoryExporter",
    "JsonlExporter",
    "OTLPExporter",
    "OTelSpanExporterAdapter",
]


def __getattr__(name: str) -> Any:
    if name == "OTLPExporter":
        from brokle_trace.exporters.otlp import OTLPExporter

        return OTLPExporter
    if name == "OTelSpanExporterAdapter":
        from brokle_trace.exporters.otel import OTelSpanExporterAdapter

        return OTelSpanExporterAdapter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
