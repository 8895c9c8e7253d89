"""How a span ends: handed to the export queue, then let go of what it no longer needs.

``end`` and ``fail`` are the span tree's last step for every kind of span (decorated calls,
generators, ``start_span`` blocks, client wrappers); ``summarize`` is also what
``Span.record_exception`` keeps of an exception recorded by hand.
"""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING, Any

from brokle_trace._runtime import state as _state
from brokle_trace._runtime.state import UNSET
from brokle_trace._trace import clock as _clock

if TYPE_CHECKING:
    from brokle_trace._trace.span import Span

__all__ = ["end", "fail", "release", "summarize"]


def end(span: Span) -> None:
    """End ``span`` successfully and hand it to the export queue."""
    span._end_ns = _clock.time_ns()
    _state.enqueue(span)
    release(span)


def release(span: Span) -> None:
    """Drop what an ended span no longer needs (its record holds it now).

    A context copied during the call (a ``loop.call_later`` timer, a keep-alive task) keeps
    the span as its current one for as long as it lives; what a span started there needs
    of it is its ids, trace attributes and facts, not its input, output or parents.
    """
    span._input = span._output = UNSET
    span._parent = None
    span._error = None


def fail(span: Span, exc: BaseException) -> None:
    """End ``span`` because ``exc`` was raised through it.

    The exception is summarised now (type, message, frames without locals) rather than
    kept: a queued traceback would pin every local variable of every frame until export.
    An exception the decorator expects (``exceptions_to_handle``) is recorded the same way,
    but the span is not marked failed.
    """
    span._end_ns = _clock.time_ns()
    span._error = summarize(exc)
    handled = span._facts.handled
    if handled and isinstance(exc, handled):
        span._updated = True
        if getattr(span, "_status", None) is None:
            span._status = "ok"
        if getattr(span, "_level", None) is None:
            span._level = "default"
    _state.enqueue(span)
    release(span)


def summarize(exc: BaseException) -> tuple[type[BaseException], Any, Any]:
    """(type, TracebackException or None, SystemExit's code): what the worker formats."""
    etype = type(exc)
    if etype is GeneratorExit:
        return (etype, None, None)  # an early close(): nothing to format
    try:
        summary: Any = traceback.TracebackException(
            etype, exc, exc.__traceback__, lookup_lines=False, compact=True
        )
    except BaseException:  # a hostile __str__ (even a BaseException) or a broken chain
        summary = None
    try:
        code = getattr(exc, "code", None) if etype is SystemExit else None
    except BaseException:
        code = None
    return (etype, summary, code)


# -- module-level span API -------------------------------------------------------------------
