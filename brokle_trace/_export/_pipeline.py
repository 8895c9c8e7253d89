"""The bounded queue and the one worker thread that drains it to the exporters.

Span end is one ``deque.append`` after a length check: O(1), lock-free under the GIL, never
blocking. The worker wakes on a timer or when a batch is ready, converts spans to
``SpanData`` (redaction happens there), and calls each exporter in turn.

``flush`` puts a marker in the queue and waits for the worker to reach it, so it covers
exactly the spans that ended before the call, and honours its timeout.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Sequence
from typing import Any

from brokle_trace import _otel, _state, capture
from brokle_trace._export._convert import Resource, to_span_data
from brokle_trace._model import SpanData
from brokle_trace._span import Span
from brokle_trace.typing import Exporter, ExportResult

__all__ = ["DROP_REASONS", "Pipeline"]

DROP_REASONS = (
    "queue_full",
    "too_large",
    "export_failed",
    "shutdown",
    "serialize_error",
    "sampled_out",
)
_WARN_EVERY_S = 30.0


class _FlushMarker:
    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class Pipeline:
    """Queue + worker + exporters for one process. Rebuilt by ``configure`` and after fork."""

    def __init__(
        self,
        exporters: Sequence[Exporter],
        *,
        capture_settings: capture.CaptureSettings,
        resource: Resource,
        max_queue_size: int,
        max_batch_size: int,
        schedule_delay: float,
    ) -> None:
        self.exporters = list(exporters)
        self._settings = capture_settings
        self._resource = resource
        self._max_queue = max_queue_size
        self._batch = max_batch_size
        self._delay = schedule_delay
        self._queue: collections.deque[Span | _FlushMarker] = collections.deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._stopping = False
        self._stopped = False
        self.exported = 0
        self.export_failures = 0
        self.dropped = dict.fromkeys(DROP_REASONS, 0)
        self._last_warn = -_WARN_EVERY_S
        self.enqueue = self._make_enqueue()

    # -- hot path -----------------------------------------------------------------------------
    def _make_enqueue(self) -> Any:
        queue = self._queue
        append = queue.append
        max_size = self._max_queue
        batch = self._batch
        wake = self._wake.set
        drop = self.drop
        start = self._ensure_worker

        def enqueue(span: Span) -> None:
            n = len(queue)
            if n >= max_size:
                drop("queue_full", 1)
                return
            append(span)
            if n == 0 and self._worker is None:
                start()
            elif n + 1 == batch:
                wake()

        return enqueue

    # -- counting -----------------------------------------------------------------------------
    def drop(self, reason: str, count: int) -> None:
        """Count ``count`` lost spans and warn (rate-limited) saying how many and why."""
        with self._lock:
            self.dropped[reason] += count
            now = time.monotonic()
            warn = now - self._last_warn >= _WARN_EVERY_S
            if warn:
                self._last_warn = now
                total = dict(self.dropped)
        if warn:
            _state.logger.warning(
                "brokle_trace: dropped %d span(s) (%s); totals so far: %s",
                count,
                reason,
                {k: v for k, v in total.items() if v},
            )

    @property
    def queue_depth(self) -> int:
        return sum(1 for item in list(self._queue) if type(item) is Span)

    # -- worker -------------------------------------------------------------------------------
    def _ensure_worker(self) -> None:
        with self._lock:
            if self._worker is not None or self._stopped:
                return
            worker = threading.Thread(target=self._run, name="brokle-trace-export", daemon=True)
            self._worker = worker
        worker.start()

    def _run(self) -> None:
        # The exporters' own HTTP calls must never be traced by OTel instrumentations.
        try:
            _otel.suppress_instrumentation()
        except Exception as exc:  # pragma: no cover - depends on the OTel API version
            _state.internal_error("suppress_instrumentation", exc)
        while True:
            self._wake.wait(self._delay)
            self._wake.clear()
            self._drain()
            if self._stopping:
                self._drain()
                return

    def _drain(self) -> None:
        queue = self._queue
        popleft = queue.popleft
        while queue:
            batch: list[Span] = []
            markers: list[_FlushMarker] = []
            while queue and len(batch) < self._batch:
                item = popleft()
                if type(item) is _FlushMarker:
                    markers.append(item)
                    break  # export what came before the marker, then release it
                batch.append(item)  # type: ignore[arg-type]
            if batch:
                self._export(batch)
            for marker in markers:
                marker.done.set()

    def _export(self, batch: list[Span]) -> None:
        records: list[SpanData] = []
        for span in batch:
            try:
                records.append(to_span_data(span, self._settings, self._resource))
            except Exception as exc:
                self.drop("serialize_error", 1)
                _state.internal_error("convert_span", exc)
        if not records:
            return
        ok = True
        for exporter in self.exporters:
            try:
                result = exporter.export(records)
            except Exception as exc:
                result = ExportResult.FAILURE
                _state.internal_error(f"exporter {type(exporter).__name__}", exc)
            if result is not ExportResult.SUCCESS:
                ok = False
                self.export_failures += 1
        if ok:
            self.exported += len(records)
        else:
            self.drop("export_failed", len(records))

    # -- lifecycle ----------------------------------------------------------------------------
    def flush(self, timeout: float) -> bool:
        """Export every span that ended before this call; False if ``timeout`` ran out."""
        if self._stopped:
            return not self._queue
        marker = _FlushMarker()
        self._queue.append(marker)
        if self._worker is None:
            self._ensure_worker()
        self._wake.set()
        return marker.done.wait(max(0.0, timeout))

    def shutdown(self, timeout: float) -> bool:
        """Flush, stop the worker and shut the exporters down. Idempotent."""
        with self._lock:
            if self._stopping:
                return True
            self._stopping = True
            worker = self._worker
        deadline = time.monotonic() + max(0.0, timeout)
        ok = True
        if worker is not None:
            self._wake.set()
            worker.join(max(0.0, deadline - time.monotonic()))
            ok = not worker.is_alive()
        else:
            self._drain()
        self._stopped = True
        left = sum(1 for item in self._queue if type(item) is Span)
        if left:
            self.drop("shutdown", left)
            ok = False
        self._queue.clear()
        for exporter in self.exporters:
            try:
                exporter.shutdown()
            except Exception as exc:
                _state.internal_error(f"exporter {type(exporter).__name__} shutdown", exc)
        return ok

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "exported": self.exported,
                "export_failures": self.export_failures,
                "dropped": dict(self.dropped),
                "queue_depth": self.queue_depth,
            }
