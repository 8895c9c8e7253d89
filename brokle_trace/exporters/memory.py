"""Keep finished spans in a list: for tests and notebooks."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from brokle_trace._model import SpanData
from brokle_trace.typing import ExportResult

__all__ = ["InMemoryExporter"]


class InMemoryExporter:
    """Collects every exported span in ``.spans``, in end order.

    Example:
        >>> from brokle_trace import configure, flush, observe
        >>> from brokle_trace.testing import InMemoryExporter
        >>> mem = InMemoryExporter()
        >>> configure(exporter="none", exporters=[mem])
        >>> @observe
        ... def hello() -> str:
        ...     return "hi"
        >>> hello(); flush()
        'hi'
        True
        >>> [s.name for s in mem.spans]
        ['hello']
    """

    #: Never blocks: the export worker calls it directly (see ``Exporter``).
    export_inline = True

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: list[SpanData] = []

    @property
    def spans(self) -> list[SpanData]:
        """A copy of the spans exported so far, in the order they ended."""
        with self._lock:
            return list(self._spans)

    def clear(self) -> None:
        """Forget the spans collected so far."""
        with self._lock:
            self._spans.clear()

    def export(self, spans: Sequence[SpanData]) -> ExportResult:
        with self._lock:
            self._spans.extend(spans)
        return ExportResult.SUCCESS

    def shutdown(self) -> None:
        pass
