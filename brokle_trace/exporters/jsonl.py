"""The zero-configuration default: one JSON line per span, appended to a local file."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

from brokle_trace import _state
from brokle_trace._model import SpanData, span_json
from brokle_trace.typing import ExportResult

__all__ = ["JsonlExporter"]


class JsonlExporter:
    """Append spans to ``path`` as JSON Lines (one ``SpanData`` per line).

    The file is opened on the first batch, in append mode, and each batch is written with a
    single ``write`` of whole lines, so concurrent writers (forked workers) never interleave
    parts of lines. An unwritable path or a full disk fails the batch (counted as
    ``export_failed``) with a warning that names the path.

    Example:
        >>> import tempfile, pathlib
        >>> from brokle_trace.exporters import JsonlExporter
        >>> exporter = JsonlExporter(pathlib.Path(tempfile.mkdtemp()) / "traces.jsonl")
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self._lock = threading.Lock()

    def _open(self) -> int:
        if self._fd is None:
            if self.path.parent != Path():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return self._fd

    def export(self, spans: Sequence[SpanData]) -> ExportResult:
        data = b"".join(span_json(s) for s in spans)
        with self._lock:
            try:
                fd = self._open()
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
            except OSError as exc:
                _state.internal_error(
                    "jsonl_write", OSError(f"cannot write traces to {self.path}: {exc.strerror}")
                )
                return ExportResult.FAILURE
        return ExportResult.SUCCESS

    def after_fork(self) -> JsonlExporter:
        """A forked child appends to the same file through its own descriptor."""
        return JsonlExporter(self.path)

    def shutdown(self) -> None:
        with self._lock:
            if self._fd is not None:
                try:
                    os.close(self._fd)
                finally:
                    self._fd = None
