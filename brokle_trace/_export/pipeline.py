"""The bounded queue and the one worker thread that drains it to the exporters.

Span end is one ``deque.append`` after a length check (``enqueue``): O(1), lock-free under
the GIL, never blocking. The worker wakes on a timer (``schedule_delay``) or when a batch is
ready, converts spans to ``SpanData`` (redaction happens there) once, and offers each batch
to every exporter's lane (``lanes``): an exporter that never blocks is called right away,
any other takes the batch from its own bounded slice on its own thread, behind a timeout,
so a slow or dead backend never holds the worker (nor the other exporters) back. During a
burst of spans the worker may wait for the burst to end (``pacing``).

The queue is bounded by count *and* by bytes without any per-span cost (``sizing``), and
the bound covers what the lanes still hold. When every exporter takes JSONL lines, the
worker encodes records straight to lines (``lines``) instead of building ``SpanData``.

``flush`` puts a marker in the queue and waits for the worker and every lane to pass it, so
it covers exactly the spans that ended before the call, and honours its timeout.
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

from brokle_trace import capture
from brokle_trace._export import report as _report
from brokle_trace._export.batches import convert, form_of
from brokle_trace._export.convert import Resource
from brokle_trace._export.counters import DROP_REASONS, Counters
from brokle_trace._export.enqueue import make_enqueue, make_enqueue_record
from brokle_trace._export.lanes import (
    SPAN_DATA_FACTOR,
    SPAN_DATA_OVERHEAD,
    Batch,
    Lane,
    Ledger,
    Marker,
    lanes_full,
)
from brokle_trace._export.pacing import Pacing, clock
from brokle_trace._export.record import Record
from brokle_trace._export.retained import retained_bytes
from brokle_trace._export.runner import shutdown_exporter
from brokle_trace._export.sizing import Sizing, sample_sizes
from brokle_trace._export.taking import clear, take, without_inherited
from brokle_trace._model import EncodedLines
from brokle_trace._runtime import errors as _errors
from brokle_trace._runtime.timeouts import remaining, wait_time
from brokle_trace._trace import otel as _otel
from brokle_trace.typing import Exporter

__all__ = ["DROP_REASONS", "Pipeline"]


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
        block_timeout: float | None = None,
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
        self._queue: collections.deque[Record | Marker] = collections.deque()
        self._wake = threading.Event()
        self._pacing = Pacing(
            self._sizing, self._queue, self._wake, batch=max_batch_size, delay=schedule_delay
        )
        self._lock = threading.Lock()
        self._claim = threading.Lock()
        self._worker: threading.Thread | None = None
        self._lanes: dict[int, Lane] = {}
        self._stopping = False
        # Set by flush(): the next drain takes everything, not only whole batches.
        self._urgent = False
        self._stopped = False
        self._abandoned = False
        self._shutdown_done = threading.Event()
        self._shutdown_ok = True
        self._cleared_markers: list[Marker] = []
        self._in_flight = 0
        #: Span ids open in the parent when this (forked) process began: never exported here.
        self.inherited: set[int] = set()
        self._strict_error: BaseException | None = None
        self.counters = Counters()
        self._ledger = Ledger(self.counters)
        self.drop = self.counters.drop
        self._warn = self.counters.warn
        #: Lossless mode (``on_queue_full="block"``): how long a producer waits for room.
        self.block_timeout = block_timeout
        self.pid = os.getpid()
        #: Threads inside flush()/shutdown(): a span they end (a signal handler) never waits.
        self.flushing: set[int] = set()
        self.enqueue = make_enqueue(self, sample_rate < 1.0, block_timeout)
        self.enqueue_record = make_enqueue_record(self, block_timeout)

    # -- hot path (see _enqueue) ----------------------------------------------------------
    def _full(self) -> None:
        if self._stopped:
            self.drop("shutdown", 1)
        else:
            self.counters.queue_full(len(self._queue))

    # -- counting -----------------------------------------------------------------------------
    def _internal(self, kind: str, exc: BaseException, detail: str | None = None) -> None:
        # In strict mode internal_error re-raises; in the worker that would kill the thread,
        # so the error is kept and re-raised by the next flush() in the caller's thread.
        try:
            _errors.internal_error(kind, exc, detail)
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
        while True:
            try:
                if self._loop_once():
                    return
            except Exception as exc:  # never let a bug kill the worker: it is the only one
                self._internal("export_worker", exc)
                time.sleep(self._delay)

    def _loop_once(self) -> bool:
        """One wake-up of the worker; True when it is done (shutting down)."""
        pacing = self._pacing
        asleep = clock()
        woke = self._wake.wait(self._delay)
        self._wake.clear()
        self._sizing.hold(self._ledger.held_spans, self._ledger.held_bytes)
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
            return False
        pacing.exported()
        if self._stopping:
            self._drain()
            return True
        return False

    def _drain(self, full_only: bool = False) -> None:
        queue = self._queue
        while queue:
            if full_only and len(queue) < min(self._sizing.batch_n, self._sizing.wake_at[0]):
                return
            if self.block_timeout is not None and not self._stopping and self._lanes_behind():
                return  # lossless: a lane behind holds the queue back (producers wait)
            if type(queue[0]) is tuple:
                # What a queued span keeps alive (the user's objects its snapshot refers
                # to): measured on one record a batch, it bounds the queue with the rest.
                self._sizing.learn_retained(retained_bytes(queue[0]))
            # Never more than the queue may hold: what a batch keeps alive counts as queued.
            limit = min(self._sizing.batch_n, max(1, self._cap[0]))
            # Popping and shutdown()'s final count take the same lock, so every span is
            # either in the queue or in flight when shutdown counts: none falls between.
            with self._claim:
                if self._stopped:
                    return
                batch, marker = take(queue, limit)
                if self.inherited:
                    batch = without_inherited(batch, self.inherited)
                self._in_flight = len(batch)
            # Taken out of the queue, still alive: they count against its bounds until
            # converted (a batch of spans pinning user objects is as big as the queue).
            self._sizing.working(len(batch))
            if batch:
                try:
                    self._export(batch)
                except BaseException as exc:
                    # SystemExit from user code run here (a mask, a serializer) must not end
                    # the only worker (flush would fail and later spans wait for shutdown);
                    # a drain on the main thread (shutdown, no new threads) lets it stop.
                    if not isinstance(exc, Exception) and (
                        threading.current_thread() is threading.main_thread()
                    ):
                        raise
                    if self._settle():
                        self.drop("export_failed", len(batch))
                    self._internal("export_batch", exc)
            if marker is not None:
                self._pass_marker(marker)

    def _lanes_behind(self) -> bool:
        k = max(1, len(self.exporters))  # each lane's slice of the queue's bounds
        sizing = self._sizing
        return lanes_full(
            self._lanes.values(), sizing.max_queue // k, sizing.max_queue_bytes // k, sizing.batch_n
        )

    def _pass_marker(self, marker: Marker) -> None:
        # Every batch before the marker is settled or queued in its lanes: the marker follows
        # them down each threaded lane and is done when the last lane passes it.
        lanes = [self._lane(exporter) for exporter in list(self.exporters)]
        threaded = [lane for lane in lanes if not lane.inline]
        marker.expect(len(threaded))
        for lane in threaded:
            lane.mark(marker)

    def _convert(self, batch: list[Record], form: str) -> Any:
        """The batch in ``form`` (``batches.convert``); the sizing learns from it."""
        records = convert(batch, form, self._settings, self._resource, self._unconverted)
        self._sizing.working(0)
        self._sizing.learn(sample_sizes(records))
        with self._claim:
            if self._stopped:  # a shutdown that timed out meanwhile: keep refusing spans
                self._sizing.stop()
        return records

    def _unconverted(self, exc: BaseException) -> None:
        """A span that could not be converted at all: counted (unless shutdown did)."""
        with self._claim:
            counted = not self._abandoned
            if counted:
                self._in_flight -= 1
        if counted:
            self.drop("serialize_error", 1)
        self._internal("convert_span", exc)

    def _export(self, batch: list[Record]) -> None:
        exporters = list(self.exporters)
        form = form_of(exporters)
        records = self._convert(batch, form)
        n = len(records)
        if not n:
            self._settle()
            return
        lanes = [self._lane(exporter) for exporter in exporters]
        if type(records) is EncodedLines:
            size = len(records.data)
        elif form == "otlp":
            size = records.nbytes
        else:
            size = int(n * (SPAN_DATA_FACTOR * self._sizing.avg_bytes + SPAN_DATA_OVERHEAD))
        handed = Batch(n, lanes)
        # From here the batch is the ledger's to count (shutdown counts what it holds).
        if not self._settle() or not self._ledger.open(handed):
            return
        # Each exporter's slice is 1/k of the queue's bounds: a sick one cannot take more.
        k = max(1, len(lanes))
        max_spans = max(1, self._sizing.max_queue // k)
        max_bytes = max(1, self._sizing.max_queue_bytes // k)
        # Exporters that never block first (a file written now survives a shutdown deadline
        # that comes while the others' share is still being encoded ahead).
        for lane in sorted(lanes, key=lambda lane: not lane.inline):
            lane.offer(handed, records, size, max_spans, max_bytes)

    def _settle(self) -> bool:
        """Claim the in-flight batch for counting; False if shutdown() already counted it."""
        with self._claim:
            if self._abandoned:
                return False
            self._in_flight = 0
            return True

    def _lane(self, exporter: Exporter) -> Lane:
        # Keyed by identity: testing.capture_spans swaps ``exporters`` in and out.
        lane = self._lanes.get(id(exporter))
        if lane is None or lane.exporter is not exporter:
            lane = self._lanes[id(exporter)] = Lane(
                exporter,
                self._ledger,
                exporter_timeout=self._exporter_timeout,
                report=self._internal,
                warn=self._warn,
                room=self._wake.set if self.block_timeout is not None else None,
            )
        return lane

    # -- lifecycle ----------------------------------------------------------------------------
    def flush(self, timeout: float) -> bool:
        """Export every span that ended before this call; False if ``timeout`` ran out."""
        if self._stopped:
            return not self._queue
        me = threading.get_ident()
        self.flushing.add(me)
        try:
            return self._flush(timeout)
        finally:
            self.flushing.discard(me)

    def _flush(self, timeout: float) -> bool:
        marker = Marker()
        self._queue.append(marker)
        if self._stopped:
            # A shutdown got past its last look at the queue: nothing will pass the marker,
            # so shutdown's own outcome answers (a marker it cleared is released, below).
            with contextlib.suppress(ValueError):  # left queued, later flushes said False
                self._queue.remove(marker)
            return self._shutdown_done.wait(wait_time(timeout)) and self._shutdown_ok
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
        return done and marker.ok

    def shutdown(self, timeout: float) -> bool:
        """Flush, stop the worker and shut the exporters down, within ``timeout``.

        Idempotent and thread-safe: a second call waits for the first and returns its result.
        Spans still queued (or in an export that outlives the timeout) count as ``shutdown``.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        self.flushing.add(threading.get_ident())
        with self._lock:
            first = not self._stopping
            self._stopping = True
            worker = self._worker
        if not first:
            self._shutdown_done.wait(wait_time(timeout))
            return self._shutdown_ok
        for lane in list(self._lanes.values()):
            lane.deadline = deadline
        try:
            self._shutdown_ok = self._stop(worker, deadline)
        finally:
            self._shutdown_done.set()
            # Flushes whose markers came after the worker's last drain: done now, not at
            # their timeouts.
            for marker in self._cleared_markers:
                marker.release(self._shutdown_ok)
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
            left, markers = clear(self._queue)
            self._cleared_markers += markers
        self.drop("shutdown", left + in_flight)
        # The lanes export what their slices hold, until the deadline; the rest is counted.
        lanes = list(self._lanes.values())
        for lane in lanes:
            lane.close(deadline)
        joined = [lane.join(deadline) for lane in lanes]  # every one of them, no short cut
        drained = all(joined)
        unsettled = self._ledger.close("shutdown")
        ok = ok and drained and not (left + in_flight + unsettled)
        for lane in lanes:
            lane.stop()
        for exporter in self.exporters:
            shutdown_exporter(exporter, deadline, self._internal)
        # A caller that passed the length check just before the limit dropped to -1 may have
        # appended since: count those too.
        late, markers = clear(self._queue)
        self._cleared_markers += markers
        self.drop("shutdown", late)
        self._summarise()
        if self._strict_error is not None:
            error, self._strict_error = self._strict_error, None
            raise error
        return ok

    def _summarise(self) -> None:
        # The last word (at exit, usually): whatever the rate limit hid, in one line.
        _report.summarise(self.stats(), list(self._lanes.values()))

    def stats(self) -> dict[str, Any]:
        """Counters: exported, failures, dropped by reason, queue depth, per-exporter details
        (``report.exporter_stats``)."""
        depth = self.queue_depth
        totals = self.counters.snapshot()
        exporters = _report.exporter_stats(
            list(self._lanes.values()),
            totals["dropped"],  # type: ignore[arg-type]
            self._ledger.from_lanes,
        )
        return {
            **totals,
            "queue_depth": depth,
            "queued": depth,
            "in_flight": self._in_flight + self._ledger.held_spans,
            "queue_limit": max(0, self._cap[0]),
            "exporters": exporters,
        }
