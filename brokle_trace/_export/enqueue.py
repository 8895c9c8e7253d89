"""The hot path's last step: a span that ended becomes a record at the end of the queue.

One length check, one tuple, one ``deque.append``: O(1), no lock (``deque.append`` is atomic
under the GIL), never blocking. The record is ``_record.seal``'s, built here without the
call (50-100 ns of a ~1.8 µs span; a test holds the two to the same result).

Lossless mode (``on_queue_full="block"``) is another closure, so the default one is
unchanged: a producer that finds the queue full waits for room (``wait_for_room``), up to
``queue_block_timeout``, then drops and counts the span as the default does. Only where
waiting is safe: never on the library's own threads (the worker, which alone makes room,
and the exporters' threads, whose callbacks may end spans), never in a thread that is
inside ``flush``/``shutdown`` (a signal handler on it), never once shutdown began or the
interpreter is finalizing, never in a forked child on its parent's pipeline. The wait is
sleeps of at most 10 ms that re-check the length, no lock and no condition variable: a
fork or a shutdown in the middle of it leaves nothing held.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from brokle_trace._export.record import seal, updated_fields
from brokle_trace._runtime.state import RAW_ARGS
from brokle_trace._trace.context import EMPTY_ATTRS
from brokle_trace._trace.span import Span

if TYPE_CHECKING:
    from brokle_trace._export.pipeline import Pipeline

__all__ = ["make_enqueue", "make_enqueue_record", "wait_for_room"]

#: The longest sleep between two looks at a full queue (a batch converts in a few ms).
_MAX_NAP_S = 0.01
_OWN_THREADS = "brokle-trace"


def wait_for_room(pipeline: Pipeline, timeout: float) -> bool:
    """Wait until the queue has room, up to ``timeout`` s; False if it still has none, or if
    this thread may not wait (see the module docstring)."""
    queue, cap = pipeline._queue, pipeline._cap
    if (
        pipeline._stopping
        or os.getpid() != pipeline.pid
        or threading.get_ident() in pipeline.flushing
        or threading.current_thread().name.startswith(_OWN_THREADS)
        or sys.is_finalizing()
    ):
        return len(queue) < cap[0]
    deadline = time.monotonic() + timeout
    nap = 0.0005
    pipeline._wake.set()  # export now, whatever the pacing: producers are waiting
    while len(queue) >= cap[0]:
        left = deadline - time.monotonic()
        if left <= 0 or pipeline._stopping:
            return False
        time.sleep(min(nap, left))
        nap = min(nap * 2, _MAX_NAP_S)
    return True


def _blocking(pipeline: Pipeline, timeout: float) -> Callable[[Span], None]:
    """The lossless mode's ``enqueue``: as the default, but a full queue makes it wait."""
    queue = pipeline._queue
    append = queue.append
    cap = pipeline._cap
    next_wake = pipeline._pacing.next_wake
    wake = pipeline._pacing.wake_for_batch
    full = pipeline._full
    start = pipeline._ensure_worker

    def enqueue_waiting(span: Span) -> None:
        if len(queue) >= cap[0] and not wait_for_room(pipeline, timeout):
            if pipeline._stopping:
                pipeline.drop("shutdown", 1)
            else:
                full()
            return
        # Several producers woken at once may overshoot the limit by one span each (as
        # the default's check-then-append may): never dropped for it.
        n = len(queue)
        append(seal(span))
        if n == 0 and pipeline._worker is None:
            start()
        elif n + 1 == next_wake[0]:
            wake()

    return enqueue_waiting


def make_enqueue(
    pipeline: Pipeline, sampling: bool, block_timeout: float | None = None
) -> Callable[[Span], None]:
    """The pipeline's ``enqueue``; with ``sampling``, one that first drops sampled-out spans;
    with ``block_timeout``, the lossless mode's (a full queue makes the producer wait)."""
    if block_timeout is not None:
        waiting = _blocking(pipeline, block_timeout)
        return _sampled(pipeline, waiting) if sampling else waiting
    queue = pipeline._queue
    append = queue.append
    cap = pipeline._cap
    next_wake = pipeline._pacing.next_wake
    wake = pipeline._pacing.wake_for_batch
    full = pipeline._full
    start = pipeline._ensure_worker

    def enqueue(span: Span) -> None:
        n = len(queue)
        if n >= cap[0]:
            full()
            return
        # seal(span), inlined: see _record.seal for the layout and why it is a tuple.
        attrs = span._trace_attrs
        inp = span._input
        args = kwargs = None
        if type(inp) is tuple and len(inp) == 3 and inp[0] is RAW_ARGS:
            inp, args, kwargs = inp
        append(
            (
                span._facts.export_view,
                span._trace_id,
                span._span_id,
                span._parent_id,
                span._start_ns,
                span._end_ns,
                inp,
                span._output,
                span._error,
                None if attrs is EMPTY_ATTRS else attrs.as_tuple(),
                updated_fields(span) if span._updated else None,
                args,
                kwargs,
            )
        )
        if n == 0 and pipeline._worker is None:
            start()
        elif n + 1 == next_wake[0]:
            wake()

    return _sampled(pipeline, enqueue) if sampling else enqueue


def _sampled(pipeline: Pipeline, enqueue: Callable[[Span], None]) -> Callable[[Span], None]:
    sampled_out = pipeline.counters.count_sampled_out

    # A separate closure so that without sampling the hot path has no sampling check.
    def enqueue_sampled(span: Span) -> None:
        if span._facts.sampled_out:
            sampled_out()
            return
        enqueue(span)

    return enqueue_sampled


def make_enqueue_record(
    pipeline: Pipeline, block_timeout: float | None = None
) -> Callable[[tuple[object, ...]], None]:
    """The pipeline's entry for a record built elsewhere (a third-party span, see
    ``_trace.provider``): the same bound, drop counting, lossless wait and worker wake-up
    as ``enqueue``."""
    queue = pipeline._queue
    append = queue.append
    cap = pipeline._cap
    next_wake = pipeline._pacing.next_wake
    wake = pipeline._pacing.wake_for_batch
    full = pipeline._full
    start = pipeline._ensure_worker

    def enqueue_record(record: tuple[object, ...]) -> None:
        n = len(queue)
        if n >= cap[0]:
            if block_timeout is None or not wait_for_room(pipeline, block_timeout):
                full()
                return
            n = len(queue)
        append(record)
        if n == 0 and pipeline._worker is None:
            start()
        elif n + 1 == next_wake[0]:
            wake()

    return enqueue_record
