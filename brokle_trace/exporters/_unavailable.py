"""The stand-in for a configured exporter that could not be built.

Without ``configure()`` a broken setting (an unknown exporter name, a malformed endpoint,
bad headers) must neither raise inside the user's call, nor send the spans somewhere the
user did not ask (a local file), nor take the other exporters down. This object takes the
broken exporter's place: the others run, and every span meant for it is counted under
``exporter_unavailable``, with the reason in ``stats()``.
"""

from __future__ import annotations

from collections.abc import Sequence

from brokle_trace._model import EncodedLines, SpanData
from brokle_trace.typing import ExportResult

__all__ = ["UnavailableExporter"]


class UnavailableExporter:
    """Counts every span it receives as ``exporter_unavailable``; sends nothing anywhere.

    Example:
        >>> stand_in = UnavailableExporter("otlp", "OTEL_EXPORTER_OTLP_ENDPOINT='x' is bad")
        >>> stand_in.export([]), stand_in.take_drops()
        (<ExportResult.FAILURE: 'failure'>, {})
    """

    #: Nothing to wait for: the export worker calls it directly.
    export_inline = True

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        self.last_error = reason
        self._lost = 0

    @property
    def accepts_lines(self) -> bool:
        """Lines are as good as ``SpanData`` for counting (keeps the JSONL fast path)."""
        return True

    def export(self, spans: Sequence[SpanData]) -> ExportResult:
        """Count ``spans`` as lost."""
        self._lost += len(spans)
        return ExportResult.FAILURE

    def export_lines(self, lines: EncodedLines) -> ExportResult:
        """Count ``lines`` as lost."""
        self._lost += len(lines)
        return ExportResult.FAILURE

    def take_drops(self) -> dict[str, int]:
        """The spans of the last batch, all under ``exporter_unavailable``."""
        lost, self._lost = self._lost, 0
        return {"exporter_unavailable": lost} if lost else {}

    def stats(self) -> dict[str, object]:
        """Which exporter this stands for, and why it could not be built."""
        return {"exporter": self.name, "unavailable": self.reason}

    def shutdown(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"UnavailableExporter({self.name!r})"
