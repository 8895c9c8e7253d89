"""Exporters: where finished spans go. Each is a small class with ``export`` and ``shutdown``."""

from brokle_trace.exporters.console import ConsoleExporter
from brokle_trace.exporters.jsonl import JsonlExporter
from brokle_trace.exporters.memory import InMemoryExporter

__all__ = ["ConsoleExporter", "InMemoryExporter", "JsonlExporter"]
