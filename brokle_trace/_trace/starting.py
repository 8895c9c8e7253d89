"""What a starting span decides about its trace: a new one (linked to where it started),
the trace's name on a root, and "tracing is off here" (:class:`TracingOff`).

Called by ``span.begin`` only on the branches ordinary calls never take (a decorator with
trace options, a scope that switched tracing off, OpenTelemetry's suppression).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from brokle_trace._trace import ids as _ids

if TYPE_CHECKING:
    from brokle_trace._trace.context import TraceAttrs
    from brokle_trace._trace.facts import SpanFacts
    from brokle_trace._trace.span import Span

__all__ = [
    "LINK_SPAN_ID",
    "LINK_TRACE_ID",
    "TRACE_NAME",
    "TracingOff",
    "decorated_trace",
    "set_attrs",
]


class TracingOff(Exception):
    """Raised by :func:`begin` where tracing is switched off: the call runs untraced.

    A fresh instance each time (a shared one would keep the last raise's traceback, and
    with it the frames and arguments of that call, alive).
    """


#: Attributes of a span that started a new trace from inside another (``new_trace=True``):
#: where it was started from.
LINK_TRACE_ID = "brokle.link.trace_id"
LINK_SPAN_ID = "brokle.link.span_id"
#: The trace's name, on its root span (``update_current_trace(name=)``, ``trace_name=``).
TRACE_NAME = "brokle.trace.name"


def decorated_trace(span: Span, facts: SpanFacts, attrs: TraceAttrs) -> TraceAttrs:
    """What a decorator's trace options do to a starting span: a new trace, its name, the
    trace attributes its subtree inherits."""
    if facts.new_trace and span._parent_id:
        # A new root, linked to the span it was started under; the link is an attribute
        # pair (the JSONL record has no links; OTLP readers see it as attributes too).
        set_attrs(
            span,
            {
                LINK_TRACE_ID: f"{span._trace_id:032x}",
                LINK_SPAN_ID: f"{span._parent_id:016x}",
            },
        )
        span._trace_id = _ids.new_trace_id()
        span._parent_id = 0
        span._parent = None
    name = facts.trace_name
    if name is not None and span._parent is None:
        set_attrs(span, {TRACE_NAME: name})
    if facts.tags or facts.user_id or facts.session_id or facts.metadata or name:
        attrs = attrs.merged(facts.user_id, facts.session_id, facts.tags, facts.metadata, name)
    return attrs


def set_attrs(span: Span, attributes: Mapping[str, Any]) -> None:
    """Merge ``attributes`` into the span's own (no capture, no checks: our own values)."""
    at = getattr(span, "_attributes", None)
    if at is None:
        span._attributes = at = {}
    at.update(attributes)
    span._updated = True
