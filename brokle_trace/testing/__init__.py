"""Test kit: collect spans in memory, with ids and clock you can predict.

Example:
    >>> from brokle_trace import observe
    >>> from brokle_trace.testing import capture_spans
    >>> @observe
    ... def add(a: int, b: int) -> int:
    ...     return a + b
    >>> with capture_spans() as spans:
    ...     add(1, 2)
    3
    >>> [(s.name, s.input, s.output) for s in spans]
    [('add', {'a': 1, 'b': 2}, 3)]
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from brokle_trace._model import SpanData
from brokle_trace._runtime import lifecycle as _lifecycle
from brokle_trace._trace import clock as _clock
from brokle_trace._trace import ids as _ids
from brokle_trace.exporters.memory import InMemoryExporter
from brokle_trace.typing import ExportResult

__all__ = ["FunctionExporter", "InMemoryExporter", "capture_spans", "deterministic"]


class FunctionExporter:
    """An exporter made of one function: ``fn(spans)`` receives each batch.

    ``fn`` may return an ``ExportResult`` (``None`` counts as success) or raise, which the
    pipeline counts as a failed export, so a test can fake any exporter behaviour without
    patching the library. Set ``export_inline=True`` for a function that never blocks.

    Example:
        >>> import brokle_trace
        >>> from brokle_trace import observe
        >>> from brokle_trace.testing import FunctionExporter
        >>> names = []
        >>> brokle_trace.configure(
        ...     exporter="none",
        ...     exporters=[FunctionExporter(lambda spans: names.extend(s.name for s in spans))],
        ... )
        >>> observe(lambda: None, name="job")()
        >>> brokle_trace.flush(1.0), names
        (True, ['job'])
    """

    def __init__(
        self,
        fn: Callable[[Sequence[SpanData]], ExportResult | None],
        *,
        export_inline: bool = False,
    ) -> None:
        self.fn = fn
        self.export_inline = export_inline
        self.shutdowns = 0

    def export(self, spans: Sequence[SpanData]) -> ExportResult:
        """Call the function with the batch."""
        result = self.fn(spans)
        return ExportResult.SUCCESS if result is None else result

    def shutdown(self) -> None:
        """Count the call (a test may assert the exporter was shut down)."""
        self.shutdowns += 1

    def __repr__(self) -> str:
        return f"FunctionExporter({getattr(self.fn, '__name__', self.fn)!r})"


@contextmanager
def capture_spans(timeout: float = 5.0) -> Iterator[list[SpanData]]:
    """Collect the spans that end inside the block; the list fills when the block exits.

    While the block runs, the configured exporters are set aside (nothing is written to
    files or sent), and restored afterwards. Spans are in end order.
    """
    pipeline = _lifecycle.current_pipeline()
    pipeline.flush(timeout)
    memory = InMemoryExporter()
    saved = pipeline.exporters
    pipeline.exporters = [memory]
    spans: list[SpanData] = []
    try:
        yield spans
    finally:
        pipeline.flush(timeout)
        pipeline.exporters = saved
        spans.extend(memory.spans)


@contextmanager
def deterministic(start_ns: int = 1_000_000_000, step_ns: int = 1_000) -> Iterator[None]:
    """Incrementing ids (1, 2, ...) and a clock that advances ``step_ns`` per reading.

    With it, a whole exported tree compares equal to a literal in a test.
    """
    clock = itertools.count(start_ns, step_ns)
    saved_clock = _clock.time_ns
    _ids.set_id_generator(_ids.IdGenerator())
    _clock.time_ns = clock.__next__
    try:
        yield
    finally:
        _clock.time_ns = saved_clock
        _ids.set_id_generator(None)
