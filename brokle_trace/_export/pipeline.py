"""The bounded queue and the one worker thread that drains it to the exporters.

Span end is one ``deque.append`` after a length check (``_enqueue``): O(1), lock-free under
the GIL, never blocking. The worker wakes on a timer (``schedule_delay``) or when a batch is ready,
converts spans to ``SpanData`` (redaction happens there), and hands each batch to every
exporter's runner (``_runner``), which isolates a raising, hung or slow exporter behind a
timeout. During a burst of spans it may wait for the burst to end (``_pacing``).

The queue is bounded by count *and* by bytes without any per-span cost (``_sizing``).
When every exporter is the JSONL file exporter, the worker encodes records straight to lines
(``_lines``) instead of building a ``SpanData`` per span.

``flush`` puts a marker in the queue and waits for the worker to reach it, so it covers
exactly the spans that ended before the call, and honours its timeout.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Sequence
from typing import Any

from brokle_trace import capture
from brokle_trace._export.convert import Resource, to_span_data
from brokle_trace._export.counters import DROP_REASONS, Counters
from brokle_trace._export.enqueue import make_enqueue, make_enqueue_record
from brokle_trace._export.lines import to_line
from brokle_trace._export.pacing import Pacing, clock
from brokle_trace._export.record import Record
from brokle_trace._export.runner import Runner
from brokle_trace._export.sizing import Sizing, sample_sizes
from brokle_trace._model import EncodedLines, SpanData
from brokle_trace._runtime import errors as _errors
from brokle_trace._runtime.timeouts import remaining, wait_time
from brokle_trace._trace import otel as _otel
from brokle_trace.typing import Exporter, ExportResult, takes_lines

__all__ = ["DROP_REASONS", "Pipeline"]


class _FlushMarker:
    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class Pipeline:
    """Queue + worker + exporters for one process. Rebuilt by ``configure`` and after fork.

    Example:
        >>> from brokle_trace.exporters import InMemoryExporter
        >>> from brokle_trace import capture
        >>> p = Pipeline([InMemoryExporter()], capture_settings=capture.CaptureSettings(),
        ...              resource=Resource(), max_queue_size=1000, max_batch_size=100,
        ...              schedule_delay=0.1)
        >>> p.flush(1.0), p.shutdown(1.0)
        (True, True)
    """

    def __init__(
        self,
        exporters: Sequence[Exporter],
        *,
        capture_settings: capture.CaptureSettings,
        resource: Resource,
        max_queue_size: int,
        max_batch_size: int,
        schedule_delay: float,
        max_queue_bytes: int = 128 * 1024 * 1024,
        max_batch_bytes: int = 4 * 1024 * 1024,
        exporter_timeout: float = 30.0,
        sample_rate: float = 1.0,
    ) -> None:
        self.exporters = list(exporters)
        self._settings = capture_settings
        self._resource = resource
        self._delay = schedule_delay
        self._exporter_timeout = exporter_timeout
        self._sizing = Sizing(
            max_queue=max_queue_size,
            max_queue_bytes=max_queue_bytes,
            batch=max_batch_size,
            max_batch_bytes=max_batch_bytes,
        )
        self._cap = self._sizing.cap
        self._queue: collections.deque[Record | _FlushMarker] = collections.deque()
        self._wake = threading.Event()
        self._pacing = Pacing(
            self._sizing, self._queue, self._wake, batch=max_batch_size, delay=schedule_delay
        )
        self._lock = threading.Lock()
        self._claim = threading.Lock()
        self._worker: threading.Thread | None = None
        self._runners: dict[int, Runner] = {}
        self._stopping = False
        # Set by flush(): the next drain takes everything, not only whole batches.
        self._urgent = False
        self._stopped = False
        self._abandoned = False
        self._shutdown_done = threading.Event()
        self._shutdown_ok = True
        self._deadline: float | None = None
        self._in_flight = 0
        self._strict_error: BaseException | None = None
        self.counters = Counters()
        self.drop = self.counters.drop
        self._warn = self.counters.warn
        self.enqueue = make_enqueue(self, sample_rate < 1.0)
        self.enqueue_record = make_enqueue_record(self)

    # -- hot path (see _enqueue) ----------------------------------------------------------
    def _full(self) -> None:
        if self._stopped:
            self.drop("shutdown", 1)
        else:
            self.counters.queue_full(len(self._queue))

    # -- counting -----------------------------------------------------------------------------
    def _internal(self, kind: str, exc: BaseException) -> None:
        # In strict mode internal_error re-raises; in the worker that would kill the thread,
        # so the error is kept and re-raised by the next flush() in the caller's thread.
        try:
            _errors.internal_error(kind, exc)
        except BaseException as raised:
            if self._strict_error is None:
                self._strict_error = raised

    @property
    def queue_depth(self) -> int:
        """Spans waiting in the queue (flush markers excluded)."""
        return sum(1 for item in list(self._queue) if type(item) is tuple)

    # -- worker -------------------------------------------------------------------------------
    def _ensure_worker(self) -> None:
        with self._lock:
            if self._worker is not None or self._stopping:
                return
            worker = threading.Thread(target=self._run, name="brokle-trace-export", daemon=True)
            self._worker = worker
        try:
            worker.start()
        except RuntimeError:
            # Interpreter shutting down: shutdown() drains synchronously instead.
            with self._lock:
                self._worker = None

    def _run(self) -> None:
        try:
            _otel.suppress_instrumentation()
        except Exception as exc:  # pragma: no cover - depends on the OTel API version
            self._internal("suppress_instrumentation", exc)
        pacing = self._pacing
        while True:
            asleep = clock()
            woke = self._wake.wait(self._delay)
            self._wake.clear()
            late = pacing.late(woke, asleep)
            # Cleared only when seen set: a flush() between the two lines must not be lost.
            urgent = self._urgent
            if urgent:
                self._urgent = False
            if urgent or self._stopping:
                self._drain()
            elif pacing.due(len(self._queue), late):
                # Woken by a full batch: whole batches only, the rest waits for the next tick
                # (chasing the producer makes batches of a few spans).
                self._drain(full_only=woke)
            else:
                pacing.waited(len(self._queue))  # a burst: stay out of its way
                continue
            pacing.exported()
            if self._stopping:
                self._drain()
                return

    def _drain(self, full_only: bool = False) -> None:
        queue = self._queue
        popleft = queue.popleft
        while queue:
            batch: list[Record] = []
            markers: list[_FlushMarker] = []
            limit = self._sizing.batch_n
            if full_only and len(queue) < min(limit, self._sizing.wake_at[0]):
                return
            # Popping and shutdown()'s final count take the same lock, so every span is
            # either in the queue or in flight when shutdown counts: none falls between.
            with self._claim:
                if self._stopped:
                    return
                while queue and len(batch) < limit:
                    item = popleft()
                    if type(item) is _FlushMarker:
                        markers.append(item)
                        break  # export what came before the marker, then release it
                    batch.append(item)  # type: ignore[arg-type]
                self._in_flight = len(batch)
            if batch:
                try:
                    self._export(batch)
                except Exception as exc:  # never let a bug kill the worker
                    if self._settle():
                        self.drop("export_failed", len(batch))
                    self._internal("export_batch", exc)
            for marker in markers:
                marker.done.set()

    def _convert(self, batch: list[Record], lines: bool) -> list[SpanData] | EncodedLines:
        """The batch as SpanData, or as JSONL lines when every exporter takes those."""
        records: list[SpanData] | EncodedLines
        if lines:
            records = EncodedLines()
            add: Any = records.add
            convert: Any = to_line
        else:
            records = []
            add, convert = records.append, to_span_data
        settings, resource = self._settings, self._resource
        for span in batch:
            try:
                add(convert(span, settings, resource))
            except Exception as exc:
                with self._claim:
                    counted = not self._abandoned
                    if counted:
                        self._in_flight -= 1
                if counted:
                    self.drop("serialize_error", 1)
                self._internal("convert_span", exc)
        self._sizing.learn(sample_sizes(records))
        with self._claim:
            if self._stopped:  # a shutdown that timed out meanwhile: keep refusing spans
                self._sizing.stop()
        return records

    def _export(self, batch: list[Record]) -> None:
        exporters = list(self.exporters)
        lines = bool(exporters) and all(takes_lines(exporter) for exporter in exporters)
        records = self._convert(batch, lines)
        n = len(records)
        if not n:
            self._settle()
            return
        worst: dict[str, int] = {}
        for exporter in exporters:
            runner = self._runner(exporter)
            outcome = runner.call(records, self._wait_budget())
            failed = outcome.result is not ExportResult.SUCCESS
            if failed:
                self.counters.add_failure()
                if outcome.error is not None:
                    self._internal(f"exporter {runner.name}", outcome.error)
                elif outcome.note:
                    self._warn(
                        f"{outcome.note}:{runner.name}",
                        "brokle_trace: exporter %s %s; its batch of %d span(s) is dropped",
                        runner.name,
                        "timed out" if outcome.note == "timeout" else "is still stuck",
                        n,
                    )
            drops = outcome.drops or {}
            if failed and (outcome.error is not None or not drops):
                # An exporter that raised has not exported what it did not report lost
                # itself; one that failed without saying what it lost has lost it all.
                unreported = n - sum(drops.values())
                if unreported > 0:
                    drops = {**drops, "export_failed": drops.get("export_failed", 0) + unreported}
            if sum(drops.values()) > sum(worst.values()):
                worst = drops
        # A span counts as exported when every exporter delivered it; the exporter that lost
        # the most decides the reasons (each exporter's own counts are in stats()).
        if not self._settle():
            return  # shutdown() already counted this batch as lost
        left = n
        for reason, reported in worst.items():
            count = min(reported, left)
            left -= count
            self.drop(reason, count)
        self.counters.add_exported(left)

    def _settle(self) -> bool:
        """Claim the in-flight batch for counting; False if shutdown() already counted it."""
        with self._claim:
            if self._abandoned:
                return False
            self._in_flight = 0
            return True

    def _wait_budget(self) -> float:
        deadline = self._deadline
        if deadline is None:
            return self._exporter_timeout
        return min(self._exporter_timeout, max(0.0, deadline - time.monotonic()))

    def _runner(self, exporter: Exporter) -> Runner:
        # Keyed by identity: testing.capture_spans swaps ``exporters`` in and out.
        runner = self._runners.get(id(exporter))
        if runner is None or runner.exporter is not exporter:
            runner = self._runners[id(exporter)] = Runner(exporter)
        return runner

    # -- lifecycle ----------------------------------------------------------------------------
    def flush(self, timeout: float) -> bool:
        """Export every span that ended before this call; False if ``timeout`` ran out."""
        if self._stopped:
            return not self._queue
        marker = _FlushMarker()
        self._queue.append(marker)
        if self._worker is None:
            self._ensure_worker()
        self._urgent = True
        self._wake.set()
        if self._worker is None:  # no thread possible (interpreter exit): do it here
            self._drain()
        done = marker.done.wait(wait_time(timeout))
        error, self._strict_error = self._strict_error, None
        if error is not None:
            raise error
        return done

    def shutdown(self, timeout: float) -> bool:
        """Flush, stop the worker and shut the exporters down, within ``timeout``.

        Idempotent and thread-safe: a second call waits for the first and returns its result.
        Spans still queued (or in an export that outlives the timeout) count as ``shutdown``.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        with self._lock:
            first = not self._stopping
            self._stopping = True
            worker = self._worker
        if not first:
            self._shutdown_done.wait(wait_time(timeout))
            return self._shutdown_ok
        self._deadline = deadline
        try:
            self._shutdown_ok = self._stop(worker, deadline)
        finally:
            self._shutdown_done.set()
        return self._shutdown_ok

    def _stop(self, worker: threading.Thread | None, deadline: float) -> bool:
        ok = True
        if worker is not None:
            self._wake.set()
            worker.join(remaining(deadline))
            ok = not worker.is_alive()
        else:
            self._drain()
        with self._claim:
            self._stopped = True
            self._sizing.stop()  # any late enqueue is counted as "shutdown"
            if not ok:
                self._abandoned = True
            in_flight = self._in_flight if not ok else 0
            left = sum(1 for item in list(self._queue) if type(item) is tuple)
            self._queue.clear()
        self.drop("shutdown", left + in_flight)
        ok = ok and not (left + in_flight)
        for runner in self._runners.values():
            runner.stop()
        for exporter in self.exporters:
            self._shutdown_exporter(exporter, deadline)
        # A caller that passed the length check just before the limit dropped to -1 may have
        # appended since: count those too.
        late = sum(1 for item in list(self._queue) if type(item) is tuple)
        self._queue.clear()
        self.drop("shutdown", late)
        self._summarise()
        if self._strict_error is not None:
            error, self._strict_error = self._strict_error, None
            raise error
        return ok

    def _summarise(self) -> None:
        # The last word at exit: whatever the rate limit hid, say in one line what was lost.
        stats = self.stats()
        lost = {k: v for k, v in stats["dropped"].items() if v and k != "sampled_out"}
        if lost:
            _errors.logger.warning(
                "brokle_trace: shutting down: %d span(s) exported, %d lost %s",
                stats["exported"],
                sum(lost.values()),
                lost,
            )

    def _shutdown_exporter(self, exporter: Exporter, deadline: float) -> None:
        # An exporter's shutdown may block (closing a socket to a dead host): bound it with a
        # helper thread so exit never hangs; at interpreter exit call it directly.
        def call() -> None:
            try:
                exporter.shutdown()
            except Exception as exc:
                self._internal(f"exporter {type(exporter).__name__} shutdown", exc)

        thread = threading.Thread(target=call, name="brokle-trace-shutdown", daemon=True)
        try:
            thread.start()
        except RuntimeError:
            call()
            return
        thread.join(max(0.05, remaining(deadline)))

    def stats(self) -> dict[str, Any]:
        """Counters: exported, failures, dropped by reason, queue depth, per-exporter details."""
        depth = self.queue_depth
        return {
            **self.counters.snapshot(),
            "queue_depth": depth,
            "queued": depth,
            "in_flight": self._in_flight,
            "queue_limit": max(0, self._cap[0]),
            "exporters": {
                f"{runner.name}#{i}": runner.stats()
                for i, runner in enumerate(list(self._runners.values()))
            },
        }
