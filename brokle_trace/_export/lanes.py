"""Each exporter's share of the export: its own bounded slice, its own pace, its own counts.

The export worker converts a batch once (redaction included) and offers it to every
exporter's lane. An exporter that never blocks (``export_inline``: a regular file, memory)
is called by the worker on the spot. Any other has a thread of its own that takes batches
from its slice at its own pace, so while OTLP retries against a collector that is down the
file exporter keeps up. A slice holds at most ``1/k`` of the queue's bounds (``k``
exporters); a batch offered to a full slice is dropped for that exporter alone and counted
under its ``queue_full``.

Counting (``Ledger``): a span counts as exported once every lane delivered it, otherwise as
dropped under the reason of the lane that lost the most of its batch; each lane also keeps
its own counts, so ``started == exported + sum(dropped)`` holds for each exporter as well.
A batch is settled by each lane exactly once; at the shutdown deadline whatever is still
unsettled counts as ``shutdown``, and later settlements are ignored.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, TypeAlias

from brokle_trace import capture
from brokle_trace._export.counters import DROP_REASONS, Counters
from brokle_trace._export.runner import Outcome, Runner
from brokle_trace._model import EncodedLines, PreparedBatch, SpanData
from brokle_trace._runtime import state as _state
from brokle_trace._runtime.timeouts import remaining
from brokle_trace.typing import Exporter, ExportResult, exports_inline

if TYPE_CHECKING:  # the protobuf classes load only with OTLP
    from brokle_trace.exporters._frame import EncodedSpans

__all__ = ["Batch", "Lane", "Ledger", "Marker", "lanes_full"]

#: Memory of a queued SpanData: up to ~2x its JSON size (nested values as Python objects),
#: plus ~1 KB (the model and its dicts), measured with tracemalloc.
SPAN_DATA_FACTOR = 2
SPAN_DATA_OVERHEAD = 1024


class Marker:
    """A flush marker: done once the worker and every threaded lane have passed it."""

    __slots__ = ("_left", "_lock", "done", "ok")

    def __init__(self) -> None:
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._left = 0
        #: False when shutdown released it instead (not every span before it went out).
        self.ok = True

    def release(self, ok: bool) -> None:
        """Done without being passed: shutdown cleared it from the queue (``ok``: its result)."""
        self.ok = ok
        self.done.set()

    def expect(self, lanes: int) -> None:
        """``lanes`` threaded lanes still have to pass it (the worker is past it)."""
        with self._lock:
            self._left = lanes
        if lanes <= 0:
            self.done.set()

    def arrive(self) -> None:
        """One lane passed it."""
        with self._lock:
            self._left -= 1
            last = self._left <= 0
        if last:
            self.done.set()


class Batch:
    """One converted batch on its way to every lane; ``left`` are the lanes not settled.

    It holds no spans: each lane keeps its own form of them (the shared ``SpanData`` list,
    or its exporter's prepared request bodies), so what a lane that is behind keeps alive
    is only its own.
    """

    __slots__ = ("left", "n", "worst")

    def __init__(self, n: int, lanes: Sequence[Lane]) -> None:
        self.n = n
        self.left = set(lanes)
        self.worst: dict[str, int] = {}


Records: TypeAlias = "Sequence[SpanData] | EncodedLines | PreparedBatch | EncodedSpans"


def prepares(exporter: object) -> bool:
    """Whether ``exporter`` encodes ahead (``prepare_batch`` / ``send_prepared``, OTLP)."""
    return getattr(type(exporter), "prepares_batches", None) is not None and (
        getattr(exporter, "prepares_batches", False) is True
    )


def _capped(drops: dict[str, int], n: int) -> dict[str, int]:
    """``drops`` with no more than ``n`` spans in all (an exporter may over-report)."""
    out: dict[str, int] = {}
    left = n
    for reason, count in drops.items():
        taken = min(count, left)
        if taken > 0:
            out[reason] = taken
            left -= taken
    return out


class Ledger:
    """Settles batches lane by lane into the pipeline's counters and each lane's own."""

    def __init__(self, counters: Counters) -> None:
        self._lock = threading.Lock()
        self._counters = counters
        self._live: set[Batch] = set()
        self._closed = False
        #: Spans and estimated bytes the lanes' slices hold (a batch in two slices twice).
        self.held_spans = 0
        self.held_bytes = 0
        #: What the lanes made the pipeline drop, by reason (the rest happened before them).
        self.from_lanes = dict.fromkeys(DROP_REASONS, 0)

    def open(self, batch: Batch) -> bool:
        """Start tracking ``batch``; False once closed (shutdown counted everything)."""
        with self._lock:
            if self._closed:
                return False
            if not batch.left:  # no exporter at all: nothing to deliver to
                self._counters.add_exported(batch.n)
                return True
            self._live.add(batch)
            return True

    def hold(self, spans: int, nbytes: int) -> None:
        """A lane's slice grew (or, negative, shrank) by ``spans`` spans of ``nbytes``."""
        with self._lock:
            self.held_spans += spans
            self.held_bytes += nbytes

    def settle(self, batch: Batch, lane: Lane, drops: dict[str, int]) -> None:
        """``lane`` is done with ``batch``: ``drops`` of it lost, by reason; the rest sent."""
        with self._lock:
            if self._closed or lane not in batch.left:
                return
            self._settle(batch, lane, drops)

    def _settle(self, batch: Batch, lane: Lane, drops: dict[str, int]) -> None:
        batch.left.discard(lane)
        lost = _capped(drops, batch.n)
        for reason, count in lost.items():
            lane.dropped[reason] = lane.dropped.get(reason, 0) + count
        lane.exported += batch.n - sum(lost.values())
        if sum(lost.values()) > sum(batch.worst.values()):
            batch.worst = lost
        if batch.left:
            return
        # Every lane is done: the lane that lost the most decides the batch's reasons.
        self._live.discard(batch)
        for reason, count in batch.worst.items():
            self.from_lanes[reason] = self.from_lanes.get(reason, 0) + count
            self._counters.drop(reason, count)
        self._counters.add_exported(batch.n - sum(batch.worst.values()))

    def failure(self) -> None:
        """Count one failed exporter call."""
        self._counters.add_failure()

    def close(self, reason: str = "shutdown") -> int:
        """Count every span not settled by every lane under ``reason``; later settlements
        are ignored. Returns how many spans some lane had not settled."""
        with self._lock:
            self._closed = True
            unsettled = 0
            for batch in list(self._live):
                unsettled += batch.n
                for lane in list(batch.left):
                    self._settle(batch, lane, {reason: batch.n})
            return unsettled


class Lane:
    """One exporter: its runner, its slice of batches and the thread that drains it."""

    def __init__(
        self,
        exporter: Exporter,
        ledger: Ledger,
        *,
        exporter_timeout: float,
        report: Callable[[str, BaseException, str], None],
        warn: Callable[..., None],
        room: Callable[[], None] | None = None,
    ) -> None:
        self.exporter = exporter
        #: Told each time the slice shrank (lossless mode: the worker waits for that).
        self._room = room
        self.runner = Runner(exporter)
        self.name = self.runner.name
        self.inline = exports_inline(exporter)
        #: Encode on admission, hold request bodies (only for a lane with a thread).
        self.prepares = not self.inline and prepares(exporter)
        self._ledger = ledger
        self._timeout = exporter_timeout
        self._report = report
        self._warn = warn
        self._slice: collections.deque[tuple[Batch, Records, int] | Marker] = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._busy = False
        #: Spans and bytes in the slice (the batch being exported included).
        self.spans = 0
        self.bytes = 0
        self.deadline: float | None = None
        # Updated by the ledger under its lock.
        self.exported = 0
        self.dropped: dict[str, int] = dict.fromkeys(DROP_REASONS, 0)
        self.last_error = ""

    # -- the worker's side -----------------------------------------------------------------
    def offer(
        self, batch: Batch, records: Records, size: int, max_spans: int, max_bytes: int
    ) -> None:
        """Export ``batch`` now (inline), queue it in the slice, or drop it if the slice is
        full (an empty slice always takes one batch, however big). ``size`` estimates the
        bytes ``records`` keep alive."""
        if self.inline:
            self._export(batch, records)
            return
        # A lane that is behind holds request bodies (a few bytes objects), not SpanData for
        # the garbage collector to walk; an idle one takes the SpanData as they are.
        if self.prepares and self.spans and self.spans + batch.n <= max_spans:
            try:
                records = self.exporter.prepare_batch(records)  # type: ignore[attr-defined]
            except Exception as exc:
                self._ledger.settle(
                    batch, self, self._drops(Outcome(ExportResult.FAILURE, {}, exc), batch.n)
                )
                return
            size = records.size  # type: ignore[union-attr]
        with self._lock:
            full = self.spans > 0 and (
                self.spans + batch.n > max_spans or self.bytes + size > max_bytes
            )
            if not full:
                self._slice.append((batch, records, size))
                self.spans += batch.n
                self.bytes += size
        if full:
            self._ledger.settle(batch, self, {"queue_full": batch.n})
            self._warn(
                f"slice:{self.name}",
                "brokle_trace: exporter %s is behind (its share of the queue is full: %d "
                "span(s)); dropping %d span(s) for it alone (queue_full)",
                self.name,
                self.spans,
                batch.n,
            )
            return
        self._ledger.hold(batch.n, size)
        if not self._start():
            self._drain_here()
        else:
            self._wake.set()

    def mark(self, marker: Marker) -> bool:
        """Pass ``marker`` down the slice; False for an inline lane (nothing to wait for)."""
        if self.inline:
            return False
        with self._lock:
            self._slice.append(marker)
        if not self._start():
            self._drain_here()
        self._wake.set()
        return True

    def close(self, deadline: float) -> None:
        """Export what the slice holds until ``deadline``, then let the thread end."""
        self.deadline = deadline
        self._closing = True
        self._wake.set()

    def join(self, deadline: float) -> bool:
        """Wait for the slice to drain until ``deadline``; True if it did."""
        thread = self._thread
        if thread is not None:
            thread.join(remaining(deadline))
        return not self._slice and not self._busy

    def stop(self) -> None:
        """Let the exporter's own thread end after its current call."""
        self.runner.stop()

    # -- the lane's thread ------------------------------------------------------------------
    def _start(self) -> bool:
        if self._thread is not None:
            return True
        thread = threading.Thread(
            target=self._loop, name=f"brokle-trace-lane-{self.name}", daemon=True
        )
        try:
            thread.start()
        except RuntimeError:  # interpreter exit (3.12+): no new threads
            return False
        self._thread = thread
        return True

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            self._drain_here()
            if self._closing and not self._slice:
                return

    def _drain_here(self) -> None:
        while True:
            deadline = self.deadline
            if deadline is not None and not remaining(deadline):
                return  # shutdown's deadline passed: what is left counts as "shutdown"
            with self._lock:
                if not self._slice:
                    return
                item = self._slice[0]
                self._busy = True
            try:
                if type(item) is Marker:
                    item.arrive()
                else:
                    batch, records, size = item  # type: ignore[misc]
                    self._export(batch, records)
            finally:
                with self._lock:
                    self._slice.popleft()
                    if type(item) is not Marker:
                        self.spans -= batch.n
                        self.bytes -= size
                    self._busy = False
                if type(item) is not Marker:
                    self._ledger.hold(-batch.n, -size)
                    if self._room is not None:
                        self._room()

    def _budget(self) -> float:
        deadline = self.deadline
        return self._timeout if deadline is None else min(self._timeout, remaining(deadline))

    def _export(self, batch: Batch, records: Records) -> None:
        outcome = self.runner.call(records, self._budget())
        drops = self._drops(outcome, batch.n)
        self._ledger.settle(batch, self, drops)

    def _drops(self, outcome: Outcome, n: int) -> dict[str, int]:
        """What ``outcome`` lost of a batch of ``n``, by reason (and why, for the logs)."""
        drops = dict(outcome.drops or {})
        if outcome.result is ExportResult.SUCCESS:
            return drops
        self._ledger.failure()
        if outcome.error is not None:
            error = outcome.error
            # The message may quote a secret (a header, a URL with credentials): redacted.
            detail = capture.redact_text(str(error)[:300], _state.capture_settings)
            self.last_error = (
                f"{type(error).__name__}: {detail}" if detail else type(error).__name__
            )
            self._report(f"exporter {self.name}", error, detail)
        elif outcome.note:
            self.last_error = (
                f"timed out after {self._timeout:g} s"
                if outcome.note == "timeout"
                else "still running a call that timed out"
            )
            self._warn(
                f"{outcome.note}:{self.name}",
                "brokle_trace: exporter %s %s; its batch of %d span(s) is dropped",
                self.name,
                "timed out" if outcome.note == "timeout" else "is still stuck",
                n,
            )
        else:
            own = getattr(self.exporter, "last_error", "")
            self.last_error = own if isinstance(own, str) and own else "export returned FAILURE"
        if outcome.error is not None or not drops:
            # An exporter that raised has not exported what it did not report lost itself;
            # one that failed without saying what it lost has lost it all.
            unreported = n - sum(drops.values())
            if unreported > 0:
                drops["export_failed"] = drops.get("export_failed", 0) + unreported
        return drops

    def stats(self) -> dict[str, object]:
        """The runner's call counters and the exporter's own, plus this lane's counts."""
        out = self.runner.stats()
        out.update(
            {
                "exported": self.exported,
                "dropped": dict(self.dropped),
                "queued": self.spans,
                "last_error": self.last_error,
            }
        )
        return out


def lanes_full(lanes: Iterable[Lane], max_spans: int, max_bytes: int, batch_n: int) -> bool:
    """Whether a threaded lane could not take one more batch of ``batch_n`` within its slice
    of the queue (lossless mode leaves the spans queued then, instead of dropping them at
    the lane; the lane wakes the worker when it has room)."""
    return any(
        lane.spans and (lane.spans + batch_n > max_spans or 2 * lane.bytes > max_bytes)
        for lane in list(lanes)
        if not lane.inline
    )
