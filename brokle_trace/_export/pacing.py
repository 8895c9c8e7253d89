"""When the export worker exports: at once, or once the burst filling the queue is over.

Python code on the worker competes for the GIL with the threads that make spans. A thread
that releases the GIL often (an event loop's ``select()``, I/O) pays for that competition:
each release wakes the waiting worker for nothing (a futex call on the releasing thread,
then the worker finds the GIL taken again and sleeps), which under a burst of spans costs
more than the export itself (measured on an async fan-out: ~1-1.5 µs of system time per
span on the event loop's thread). Such a thread hands the GIL over within microseconds, so
the worker's lateness after a wake-up tells them apart: then, while spans arrive faster
than a batch per look, the worker waits — until the queue is half full, or
``max(schedule_delay, 1 s)`` since its last export — and exports once the burst is over.
A thread that holds the GIL (plain CPU-bound code) makes the worker wait the whole switch
interval (5 ms) and pays nothing extra for it: exporting at once keeps memory recycled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sized

from brokle_trace._export.sizing import Sizing

__all__ = ["Pacing", "clock"]

#: Fine-grained on every platform (time.monotonic ticks at 15.6 ms on Windows before 3.13).
clock = time.perf_counter
#: The longest a burst defers export (with a schedule delay below it).
_MAX_DEFER_S = 1.0
#: A wake-up this late means the span-making thread holds the GIL for long stretches (the
#: default switch interval is 5 ms; an event loop hands it over in microseconds).
_GIL_HELD_S = 0.001


class Pacing:
    """The worker's wake-up mark (``next_wake[0]``, read by the hot path) and its decision.

    Example:
        >>> import collections, threading
        >>> from brokle_trace._export.sizing import Sizing
        >>> sizing = Sizing(max_queue=400, max_queue_bytes=1 << 20, batch=10,
        ...                 max_batch_bytes=1 << 20)
        >>> pacing = Pacing(sizing, collections.deque(), threading.Event(), batch=10,
        ...                 delay=0.2)
        >>> pacing.due(n=100, late=0.0)  # 100 spans since the last look, the GIL handed over
        False
    """

    def __init__(
        self, sizing: Sizing, queue: Sized, wake: threading.Event, *, batch: int, delay: float
    ) -> None:
        self._sizing = sizing
        self._queue = queue
        self._wake = wake
        self._batch = batch
        self._delay = delay
        #: The queue length at which the hot path wakes the worker: a batch, or while the
        #: worker waits out a burst, half the queue's limit.
        self.next_wake = [min(batch, sizing.wake_at[0])]
        self._woken_at = 0.0
        self._seen = 0  # the queue's length at the last look
        self._exported = clock()

    def wake_for_batch(self) -> None:
        """Called by the hot path when the queue reaches ``next_wake[0]`` (once per batch)."""
        self._woken_at = clock()
        self._wake.set()

    def late(self, woke: bool, asleep: float) -> float:
        """How long the worker waited for the GIL after its wake-up was due: since the hot
        path's wake-up, or since the end of the ``delay`` it fell asleep for at ``asleep``."""
        return clock() - (self._woken_at if woke else asleep + self._delay)

    def due(self, n: int, late: float) -> bool:
        """Export the ``n`` queued spans now (True), or wait for the burst to end?"""
        return (
            n - self._seen < self._sizing.batch_n  # a trickle, not a burst
            or late >= _GIL_HELD_S
            or n >= self._sizing.wake_at[0]
            or clock() - self._exported >= max(self._delay, _MAX_DEFER_S)
        )

    def waited(self, n: int) -> None:
        """The worker let a burst go on: look again at the half-full mark or the next tick."""
        self._seen = n
        self._set_next_wake(self._sizing.wake_at[0])

    def exported(self) -> None:
        """The worker exported: wake it again at the next batch."""
        self._seen, self._exported = len(self._queue), clock()
        self._set_next_wake(min(self._batch, self._sizing.wake_at[0]))

    def _set_next_wake(self, at: int) -> None:
        self.next_wake[0] = at
        # The hot path wakes the worker when the queue *reaches* the mark; spans that came
        # while the mark was elsewhere may have passed it already. (The wake-up time stays
        # the last one: ``late`` then says "export", which is what a queue past it needs.)
        if len(self._queue) >= at:
            self._wake.set()
