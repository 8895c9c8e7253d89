"""The end of a process: spans still open are ended and exported, within a fair deadline.

At exit (``atexit``, or a multiprocessing child finishing) a span can still be open: a
daemon thread inside a traced call, a generator the caller never finished, a
``start_span`` block never left. Left alone, it would end during interpreter teardown,
after the pipeline stopped, and count as dropped (``shutdown``). Instead it is ended here,
marked (status message "process exited before the span ended", level ``warning``,
attribute ``brokle.unfinished``) and exported with the rest.

Finding them costs nothing while the process runs: the threads' frames are read, then the
garbage collector's list of objects (skipped on a very large heap, where a generator left
open at exit is then dropped as ``shutdown`` as before). Spans a forked child inherited
from its parent (begun before the fork) are the parent's to end and export, never the
child's.

A span's own thread may end it at the same moment: the ``Claims`` below make sure a span
is enqueued once, by whichever side gets there first.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from brokle_trace._trace import clock as _clock
from brokle_trace._trace.span import Span

__all__ = ["UNFINISHED", "Claims", "exit_timeout", "open_spans"]

UNFINISHED = "process exited before the span ended"
#: Seconds an exit flush may take with only local exporters (a file, the console).
LOCAL_EXIT_S = 2.0
#: The most an exit flush waits for OTLP: fits a container's stop grace period (10-30 s).
OTLP_EXIT_CAP_S = 10.0
#: Above this many allocated memory blocks the object scan is skipped (it would take
#: seconds and allocate a list as long as the heap).
_SCAN_LIMIT_BLOCKS = 20_000_000
#: Spans begun before this (``time.time_ns``) belong to the parent process (set after fork).
inherited_before_ns = 0


def exit_timeout(configured: float | None, exporters: list[Any]) -> float:
    """How long the exit flush may take: ``configured`` if given; else, with an OTLP
    exporter, its export timeout capped at ``OTLP_EXIT_CAP_S`` (its retry schedule gets a
    fair chance: two 503s and a success take ~3 s); else ``LOCAL_EXIT_S``.

    Example:
        >>> exit_timeout(None, []), exit_timeout(5.0, [])
        (2.0, 5.0)
    """
    if configured is not None:
        return configured
    from brokle_trace.exporters.otlp import OTLPExporter

    otlp = [e.timeout for e in exporters if isinstance(e, OTLPExporter)]
    if not otlp:
        return LOCAL_EXIT_S
    return max(LOCAL_EXIT_S, min(OTLP_EXIT_CAP_S, max(otlp)))


def open_spans() -> Iterator[Span]:
    """Spans begun in this process and not ended: on threads' stacks, then on the heap."""
    seen: set[int] = set()
    for top in list(sys._current_frames().values()):
        frame: FrameType | None = top
        while frame is not None:
            for value in list(frame.f_locals.values()):
                if type(value) is Span and id(value) not in seen:
                    seen.add(id(value))
                    if _open(value):
                        yield value
            frame = frame.f_back
    if sys.getallocatedblocks() > _SCAN_LIMIT_BLOCKS:
        return
    for obj in gc.get_objects():
        if type(obj) is Span and id(obj) not in seen:
            seen.add(id(obj))
            if _open(obj):
                yield obj


def _open(span: Span) -> bool:
    return (
        not hasattr(span, "_end_ns")
        and getattr(span, "_start_ns", 0) >= inherited_before_ns
        and hasattr(span, "_trace_attrs")  # fully begun
    )


class Claims:
    """Spans the exit path ended: their own thread's later end must not enqueue them again.

    ``enqueue`` wraps the pipeline's entry while the process exits; ``end_open`` ends the
    open spans through it. Both decide under one lock, and a span's own thread marks it
    ended (``_end_ns``) before it enqueues, so each span is enqueued exactly once.
    """

    def __init__(self, enqueue: Callable[[Span], None]) -> None:
        self._enqueue = enqueue
        self._lock = threading.Lock()
        self._ids: set[int] = set()
        # Spans kept alive while claimed: an id must not be reused by a new object.
        self._spans: list[Span] = []

    def claimed(self, span: Span) -> bool:
        """True if the exit path ended (and enqueued) ``span``."""
        return id(span) in self._ids

    def enqueue(self, span: Span) -> None:
        """The pipeline's entry at exit: a span the exit path already took is ignored."""
        with self._lock:
            if id(span) in self._ids:
                return
        self._enqueue(span)

    def end_open(self, spans: Iterator[Span]) -> int:
        """End each span of ``spans`` still open, marked, and enqueue it; how many."""
        ended = 0
        for span in spans:
            with self._lock:
                if hasattr(span, "_end_ns"):  # its thread got there first
                    continue
                self._ids.add(id(span))
                self._spans.append(span)
                _mark(span)
            self._enqueue(span)
            ended += 1
        return ended


def _mark(span: Span) -> None:
    if getattr(span, "_status_message", None) is None:
        span._status_message = UNFINISHED
    if getattr(span, "_level", None) is None:
        span._level = "warning"
    attributes = getattr(span, "_attributes", None)
    if attributes is None:
        span._attributes = attributes = {}
    attributes["brokle.unfinished"] = True
    span._updated = True
    span._end_ns = _clock.time_ns()
