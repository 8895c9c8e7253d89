"""The record an ended span becomes: what the export queue holds.

Queued objects outlive young garbage collections while the worker catches up. A Span (like
any class instance) stays tracked by the cyclic collector and gets promoted, and every full
collection then walks the whole queue, on whichever thread allocates. A plain tuple of atoms
(ints, strings, the argument tuple) is untracked the first times the collector sees it, so
for ordinary spans the queue costs the collector nothing.
"""

from __future__ import annotations

from typing import Any

from brokle_trace._runtime.state import RAW_ARGS
from brokle_trace._trace.context import EMPTY_ATTRS
from brokle_trace._trace.span import Span

__all__ = ["Record", "seal", "updated_fields"]

#: Layout of the record a span becomes when it ends (see seal()).
(
    REC_FACTS,
    REC_TRACE,
    REC_SPAN,
    REC_PARENT,
    REC_START,
    REC_END,
    REC_INPUT,
    REC_OUTPUT,
    REC_ERROR,
    REC_ATTRS,
    REC_EXTRA,
    REC_ARGS,
    REC_KWARGS,
) = range(13)


#: A sealed span (see seal()).
Record = tuple[Any, ...]


def seal(span: Span) -> Record:
    """The ended span as a plain tuple, for the export queue (``_export._enqueue`` builds the
    same tuple inline; a test compares them).

    Facts travel as their shared export view and trace attributes as their shared tuple,
    so the record holds no class instance (see the module docstring).
    """
    facts = span._facts
    attrs = span._trace_attrs
    inp = span._input
    args = kwargs = None
    if type(inp) is tuple and len(inp) == 3 and inp[0] is RAW_ARGS:
        # Raw arguments (RAW_ARGS, args, kwargs): flattened into the record, so the collector
        # untracks the record in two passes instead of three.
        inp, args, kwargs = inp
    return (
        facts.export_view,
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


def updated_fields(span: Span) -> dict[str, Any]:
    # The rarely used slots update() may have set: only these are read, only when set.
    fields: dict[str, Any] = {}
    for slot in ("_name", "_level", "_status", "_status_message", "_metadata", "_attributes"):
        value = getattr(span, slot, None)
        if value is not None:
            fields[slot] = value
    return fields
