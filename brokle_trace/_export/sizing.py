"""How many spans the queue and a batch may hold, from what spans measure in bytes.

The queue is bounded by count *and* by bytes without any per-span cost on the hot path:
the worker measures a sample of the spans it handles (averages that follow the workload)
and rewrites the count limit the hot path reads, one list cell, to
``max_queue_bytes / bytes per queued span``. Two measures: the encoded size of one span in
``SAMPLE_EVERY`` it converts (for batches and for what the exporters' lanes hold), and what
the first record of each batch keeps alive while it is queued (``retained``: the user's
objects a snapshot refers to included), whichever is larger bounding the queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from brokle_trace._model import span_json

__all__ = ["SAMPLE_EVERY", "Sizing", "sample_sizes"]

#: Per-span memory besides its encoded size (the record, snapshot containers).
_SPAN_OVERHEAD = 512
#: Measure the encoded size of one span in this many (keeps the cost ~0.2 us per span).
SAMPLE_EVERY = 16
_INITIAL_SPAN_BYTES = 2048


class Sizing:
    """The queue's count limit (``cap[0]``, read by the hot path) and the batch size.

    Example:
        >>> sizing = Sizing(max_queue=10_000, max_queue_bytes=1 << 20, batch=512,
        ...                 max_batch_bytes=1 << 20)
        >>> sizing.learn([100_000]); sizing.cap[0], sizing.batch_n
        (10, 10)
    """

    def __init__(
        self, *, max_queue: int, max_queue_bytes: int, batch: int, max_batch_bytes: int
    ) -> None:
        self.max_queue = max_queue
        self.max_queue_bytes = max_queue_bytes
        self._batch = batch
        self._max_batch_bytes = max_batch_bytes
        self.avg_bytes = float(_INITIAL_SPAN_BYTES)
        self._measured = False
        #: What a queued record keeps alive, on average (``retained.retained_bytes``).
        self.avg_retained = float(_INITIAL_SPAN_BYTES + _SPAN_OVERHEAD)
        self._retained_measured = False
        self._stopped = False
        # What the exporters' lanes hold, and the batch the worker took from the queue and
        # has not converted yet: the queue gets what is left of the bounds.
        self._held_spans = 0
        self._held_bytes = 0
        self._working = 0
        #: The count limit the hot path reads: one list cell, rewritten by the worker.
        self.cap = [self.count_limit()]
        #: The queue length at which the hot path wakes the worker: half the count limit.
        self.wake_at = [self._half()]
        self.batch_n = self.batch_limit()

    def count_limit(self) -> int:
        per_span = max(self.avg_bytes + _SPAN_OVERHEAD, self.avg_retained)
        room = self.max_queue_bytes - self._held_bytes - self._working * per_span
        by_bytes = int(room // per_span)
        return max(1, min(self.max_queue - self._held_spans - self._working, by_bytes))

    def _half(self) -> int:
        return max(1, self.cap[0] // 2)

    def batch_limit(self) -> int:
        return max(1, min(self._batch, int(self._max_batch_bytes // self.avg_bytes)))

    def learn(self, sizes: Sequence[int]) -> None:
        """Move the average toward these measured sizes and update both limits."""
        avg = self.avg_bytes
        for size in sizes:
            # The first measurement replaces the initial guess; later ones move the average.
            avg = float(size) if not self._measured else avg + 0.2 * (size - avg)
            self._measured = True
        self.avg_bytes = avg
        self._update()
        self.batch_n = self.batch_limit()

    def learn_retained(self, size: int) -> None:
        """Move the retained-bytes average toward ``size`` (one record measured)."""
        if self._retained_measured:
            self.avg_retained += 0.2 * (size - self.avg_retained)
        else:
            self.avg_retained, self._retained_measured = float(size), True
        self._update()

    def working(self, spans: int) -> None:
        """The worker took ``spans`` records out of the queue (0: it converted them)."""
        self._working = spans
        self._update()

    def hold(self, spans: int, nbytes: int) -> None:
        """The exporters' lanes hold ``spans`` spans of ``nbytes`` (estimated) now."""
        self._held_spans, self._held_bytes = spans, nbytes
        self._update()

    def _update(self) -> None:
        if self._stopped:  # -1 once stopped: every late span counts as "shutdown"
            return
        self.cap[0] = self.count_limit()
        self.wake_at[0] = self._half()
        if self.stopped():  # stop() ran meanwhile (another thread): it has the last word
            self.cap[0] = -1

    def stopped(self) -> bool:
        """True once ``stop`` was called."""
        return self._stopped

    def stop(self) -> None:
        """No span is accepted any more."""
        self._stopped = True
        self.cap[0] = -1


def sample_sizes(records: Any) -> list[int]:
    """The encoded size of every ``SAMPLE_EVERY``-th span of a converted batch (SpanData,
    or ``EncodedLines`` / OTLP ``EncodedSpans``, which know their sizes)."""
    if not isinstance(records, list):
        return list(records.sizes(SAMPLE_EVERY))
    sizes = []
    for i in range(0, len(records), SAMPLE_EVERY):
        try:
            sizes.append(len(span_json(records[i])))
        except Exception:  # sizing is best effort; the record itself is fine
            continue
    return sizes
