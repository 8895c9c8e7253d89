"""Run one exporter on its own thread, so a hung or slow exporter cannot stall the others.

The export worker hands a batch to each exporter's runner and waits up to a timeout. If the
exporter has not returned by then, the batch counts as failed and the worker moves on; until
that call finally returns, later batches for the same exporter fail at once ("busy"), so an
exporter is never called concurrently with itself and no work piles up behind it.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from brokle_trace._model import EncodedLines, PreparedBatch, SpanData
from brokle_trace._runtime.timeouts import remaining, wait_time
from brokle_trace._trace import otel as _otel
from brokle_trace.typing import Exporter, ExportResult, exports_inline

if TYPE_CHECKING:  # the protobuf classes load only with OTLP
    from brokle_trace.exporters._frame import EncodedSpans

__all__ = ["Outcome", "Runner", "shutdown_exporter"]


class _Job:
    __slots__ = ("done", "drops", "error", "records", "result")

    def __init__(
        self, records: Sequence[SpanData] | EncodedLines | PreparedBatch | EncodedSpans
    ) -> None:
        self.records = records
        self.done = threading.Event()
        self.result = ExportResult.FAILURE
        self.drops: dict[str, int] | None = None
        self.error: BaseException | None = None


class Outcome:
    """What one exporter did with one batch."""

    __slots__ = ("drops", "error", "note", "result")

    def __init__(
        self,
        result: ExportResult,
        drops: dict[str, int] | None = None,
        error: BaseException | None = None,
        note: str = "",
    ) -> None:
        self.result = result
        #: Spans of the batch the exporter reports lost, by reason (None: it doesn't say).
        self.drops = drops
        self.error = error
        #: "timeout" or "busy" when the exporter did not get to (or finish) the batch.
        self.note = note


class Runner:
    """One exporter and the daemon thread that calls it.

    Example:
        >>> from brokle_trace.exporters import InMemoryExporter
        >>> runner = Runner(InMemoryExporter())
        >>> runner.call([], timeout=1.0).result
        <ExportResult.SUCCESS: 'success'>
        >>> runner.stop()
    """

    def __init__(self, exporter: Exporter) -> None:
        self.exporter = exporter
        self.name = type(exporter).__name__

        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pending: _Job | None = None
        self.calls = 0
        self.failures = 0
        self.timeouts = 0
        self.busy = 0

    def call(
        self,
        records: Sequence[SpanData] | EncodedLines | PreparedBatch | EncodedSpans,
        timeout: float,
    ) -> Outcome:
        """Export ``records`` through this exporter, waiting at most ``timeout`` seconds.

        ``EncodedLines`` only go to an exporter that takes them (``typing.takes_lines``),
        a ``PreparedBatch`` only to the exporter that prepared it (``send_prepared``)."""
        pending = self._pending
        if pending is not None:
            if not pending.done.is_set():
                self.busy += 1
                self.failures += 1
                return Outcome(ExportResult.FAILURE, note="busy")
            self._pending = None
        job = _Job(records)
        self.calls += 1
        # An exporter that says it never blocks (``export_inline = True``: a regular file,
        # memory) is called on the export worker itself. The hop to a thread of its own
        # costs little CPU, but every hop is one more thread waiting for the GIL, and an
        # event loop in the caller's thread releases the GIL on every select(): a waiting
        # thread is woken, finds it taken again, and sleeps, over and over.
        inline = exports_inline(self.exporter)
        if not inline and self._start():
            self._jobs.put(job)
            if not job.done.wait(wait_time(timeout)):
                self._pending = job
                self.timeouts += 1
                self.failures += 1
                return Outcome(ExportResult.FAILURE, note="timeout")
        else:
            # Inline, or no new threads at interpreter shutdown (3.12+): call it here.
            self._run(job)
        if job.result is not ExportResult.SUCCESS:
            self.failures += 1
        return Outcome(job.result, job.drops, job.error)

    def _start(self) -> bool:
        if self._thread is not None:
            return True
        thread = threading.Thread(
            target=self._loop, name=f"brokle-trace-export-{self.name}", daemon=True
        )
        try:
            thread.start()
        except RuntimeError:
            return False
        self._thread = thread
        return True

    def _loop(self) -> None:
        # The exporter's own HTTP calls must never be traced by OTel instrumentations.
        with contextlib.suppress(Exception):  # depends on the OTel API version
            _otel.suppress_instrumentation()
        while True:
            job = self._jobs.get()
            if job is None:
                return
            self._run(job)

    def _run(self, job: _Job) -> None:
        exporter = self.exporter
        try:
            records = job.records
            if type(records) is EncodedLines:
                result = exporter.export_lines(records)  # type: ignore[attr-defined]
            elif type(records) is PreparedBatch:
                result = exporter.send_prepared(records)  # type: ignore[attr-defined]
            else:
                result = exporter.export(records)  # type: ignore[arg-type]
            job.result = result if result is ExportResult.SUCCESS else ExportResult.FAILURE
        except Exception as exc:
            job.error = exc
        except BaseException as exc:
            # SystemExit/KeyboardInterrupt from an exporter (a library calling sys.exit())
            # killed the only worker or this exporter's thread: every later span was lost.
            # Only the main thread may be asked to stop (a flush at exit runs here on it).
            if threading.current_thread() is threading.main_thread():
                raise
            job.error = exc
        take = getattr(exporter, "take_drops", None)
        if take is not None:
            try:
                job.drops = dict(take())
            except Exception as exc:  # a broken counter must not lose the batch's result
                job.error = job.error or exc
        job.done.set()

    def idle(self) -> bool:
        """True unless a timed-out call is still running."""
        pending = self._pending
        return pending is None or pending.done.is_set()

    def stop(self) -> None:
        """Let the thread end after its current call."""
        if self._thread is not None:
            self._jobs.put(None)

    def stats(self) -> dict[str, object]:
        """Call counters, merged with the exporter's own ``stats()`` if it has one."""
        out: dict[str, object] = {
            "calls": self.calls,
            "failures": self.failures,
            "timeouts": self.timeouts,
            "busy": self.busy,
        }
        own = getattr(self.exporter, "stats", None)
        if callable(own):
            try:
                extra = own()
                if isinstance(extra, dict):
                    out.update(extra)
            except Exception:  # stats must never fail the caller
                pass
        return out


def shutdown_exporter(
    exporter: Exporter, deadline: float, report: Callable[[str, BaseException], None]
) -> None:
    """``exporter.shutdown()``, given up on at ``deadline`` (monotonic); errors ``report``-ed.

    An exporter's shutdown may block (closing a socket to a dead host): a helper thread
    bounds it so exit never hangs; at interpreter exit (no new threads) it is called here.
    """

    def call() -> None:
        try:
            exporter.shutdown()
        except Exception as exc:
            report(f"exporter {type(exporter).__name__} shutdown", exc)

    thread = threading.Thread(target=call, name="brokle-trace-shutdown", daemon=True)
    try:
        thread.start()
    except RuntimeError:
        call()
        return
    thread.join(max(0.05, remaining(deadline)))
