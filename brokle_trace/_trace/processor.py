"""The SpanProcessor (and root sampler) that takes third-party OpenTelemetry spans in.

A third-party span that ends becomes a record in our export queue (``_export.foreign``
converts it in the worker), so it takes exactly the path our spans take: the same bounded
queue and drop counters, sampling, redaction, capture limits, exporters, ``stats()`` and
cost roll-ups.

On the caller's thread the processor does only what cannot wait: at start it notes where
the span sits (its parent, our span or the trace_context block it runs under); at end it
prices an LLM span's usage and adds it to its still-running ancestors (ours and theirs),
then appends one record. Our own decorators pay nothing for any of this.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace import Span as SdkSpan
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, TraceFlags
from opentelemetry.util.types import Attributes

from brokle_trace._export.foreign import FOREIGN, attributes_of
from brokle_trace._export.foreign_conventions import PRICED, foreign_type, plan_of, price
from brokle_trace._runtime import errors as _errors
from brokle_trace._runtime import state as _state
from brokle_trace._trace import otel as _otel
from brokle_trace._trace import span as _span
from brokle_trace._trace.context import CURRENT, EMPTY_ATTRS, Scope
from brokle_trace._trace.facts import SpanFacts

__all__ = ["BrokleSpanProcessor", "RootSampler", "sampled_out"]

_LOW_64 = (1 << 64) - 1
#: Running third-party spans tracked for roll-ups and trace attributes; past this (spans
#: started and never ended) new ones are still exported, without an ancestor link.
_MAX_LIVE = 100_000
_SUPPRESS_KEY = otel_context._SUPPRESS_INSTRUMENTATION_KEY
_SUPPRESS_PLAIN = "suppress_instrumentation"  # set too by opentelemetry-instrumentation
_get_current = otel_context.get_current
_started = _state.started
_SAMPLED = int(TraceFlags.SAMPLED)
_PRICED_TYPES = frozenset({"llm", "embedding"})
#: Marks ``extra`` as priced already (on the caller's thread); removed before export.
_PRICED = PRICED


def sampled_out(trace_id: int) -> bool:
    """Our head-sampling decision for a trace id (the rule ``_span`` applies to our roots)."""
    bound = _span._sample_bound
    return bound is not None and (trace_id & _LOW_64) >= bound


def _suppressed(parent_context: Any) -> bool:
    ctx = _get_current() if parent_context is None else parent_context
    return bool(ctx.get(_SUPPRESS_KEY) or ctx.get(_SUPPRESS_PLAIN))


class RootSampler(Sampler):
    """Roots follow our ``sample_rate`` (read live, so ``configure`` applies at once)."""

    def should_sample(  # noqa: PLR0917 - OpenTelemetry's Sampler signature
        self,
        parent_context: Any,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        if sampled_out(trace_id) or _suppressed(parent_context):
            return SamplingResult(Decision.DROP)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return "BrokleTraceSampler"


class _Live:
    """A running third-party span: its ancestor for roll-ups, the block it runs under.

    Shaped like our ``Span`` where the roll-up walk (``llm._record``), the trace-attribute
    walk (``update_current_trace``) and sampling read one (``_parent``, ``_attributes``,
    ``_extra``, ``_trace_attrs``, ``_facts``, ``is_recording``), so our spans and theirs are
    ancestors of each other alike.
    """

    __slots__ = (
        "_attributes",
        "_extra",
        "_parent",
        "_trace_attrs",
        "_updated",
        "anchor",
        "inherited",
        "is_recording",
        "trace_id",
    )

    #: A running span of theirs is in a kept trace (a dropped one never starts recording).
    _facts = SpanFacts("otel")
    _attributes: dict[str, Any]
    _extra: dict[str, Any]

    def __init__(self, trace_id: int, parent: Any, anchor: Any) -> None:
        self.trace_id = trace_id
        self._parent = parent
        self.anchor = anchor
        self._trace_attrs = self.inherited = (
            anchor._trace_attrs if anchor is not None else EMPTY_ATTRS
        )
        self.is_recording = True
        self._updated = False

    def trace_attrs(self) -> Any:
        """The trace attributes at its end: set on it through update_current_trace, or its
        block's latest."""
        attrs = self._trace_attrs
        if attrs is self.inherited and self.anchor is not None:
            attrs = self.anchor._trace_attrs
        return attrs


class BrokleSpanProcessor(SpanProcessor):
    """An OpenTelemetry ``SpanProcessor`` that hands every finished span to brokle_trace.

    Get it with :func:`span_processor`. The spans your provider's other processors receive
    are untouched: ours takes a converted, redacted copy.

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> import brokle_trace
        >>> provider = TracerProvider()
        >>> provider.add_span_processor(brokle_trace.span_processor())
    """

    def __init__(self) -> None:
        self._live: dict[int, _Live] = _otel.live_spans
        self._suppressed: set[int] = set()

    def _reset(self) -> None:
        # After fork: the parent's running spans are not the child's.
        self._live.clear()
        self._suppressed = set()

    def on_start(self, span: SdkSpan, parent_context: otel_context.Context | None = None) -> None:
        try:
            ctx = span.context
            span_id = ctx.span_id
            # _suppressed(parent_context), inlined: this runs for every span they start.
            where = _get_current() if parent_context is None else parent_context
            if where.get(_SUPPRESS_KEY) or where.get(_SUPPRESS_PLAIN):
                self._suppressed.add(span_id)
                return
            next(_started)
            live = self._live
            if len(live) >= _MAX_LIVE:
                return
            cur = CURRENT.get()
            ours = cur.span if isinstance(cur, Scope) else cur
            trace_id = ctx.trace_id
            if ours is not None and ours._trace_id != trace_id:
                cur = ours = None  # started under an explicit, unrelated context
            parent: Any = None
            anchor: Any = cur
            sc = span.parent
            if sc is not None:
                found = live.get(sc.span_id)
                if found is not None:
                    parent = found
                    anchor = anchor if anchor is not None else found.anchor
                elif ours is not None and ours._span_id == sc.span_id:
                    parent = ours
            live[span_id] = _Live(trace_id, parent, anchor)
        except Exception as exc:
            _errors.internal_error("foreign_span_start", exc)

    def on_end(self, span: ReadableSpan) -> None:
        try:
            self._end(span)
        except Exception as exc:
            _errors.internal_error("foreign_span_end", exc)

    def _end(self, span: ReadableSpan) -> None:
        # Only what cannot wait runs here, on the instrumentor's thread: which span it was,
        # whether it is kept, the trace attributes as they are now, and (under a running
        # ancestor) the usage to roll up while that ancestor runs. Its attributes, type,
        # usage and everything else are read from the finished span by the export worker
        # (``_export.foreign``): an ended SDK span is never written again.
        ctx = span.context
        if ctx is None:
            return
        span_id = ctx.span_id
        if self._suppressed and span_id in self._suppressed:
            self._suppressed.discard(span_id)
            return
        node = self._live.pop(span_id, None)
        if node is not None:
            node.is_recording = False
        trace_id = ctx.trace_id
        bound = _span._sample_bound  # sampled_out(trace_id), inlined
        if not ctx.trace_flags & _SAMPLED or (bound is not None and (trace_id & _LOW_64) >= bound):
            _state.count_sampled_out()
            return
        attributes = None
        extra: dict[str, Any] = {}
        trace_attrs = None
        if node is not None:
            rolled = getattr(node, "_attributes", None)
            if rolled:
                extra.update(rolled)  # its subtree's roll-ups (and their cost cells)
            if node._parent is not None:
                # A running ancestor to roll up to: say what to price now, while it runs. A
                # span with no ancestor of ours is left to the worker (extra not marked).
                attributes = attributes_of(span)
                plan = plan_of(attributes)
                if foreign_type(attributes, plan) in _PRICED_TYPES:
                    price(node, attributes, span.start_time or 0, extra, plan)
                else:
                    extra[_PRICED] = True
            attrs = node.trace_attrs()
            if attrs is not EMPTY_ATTRS:
                trace_attrs = attrs.as_tuple()
        parent = span.parent
        # foreign_record(...), inlined (one call a span); attributes None: the worker reads
        # them (``foreign.attributes_of``).
        _state.enqueue_record(
            (
                FOREIGN,
                trace_id,
                span_id,
                parent.span_id if parent is not None else 0,
                span.start_time or 0,
                span.end_time or 0,
                span,
                attributes,
                None,
                trace_attrs,
                extra,  # never None: the JSONL fast path then hands the record to to_span_data
                None,
                None,
            )
        )

    def shutdown(self) -> None:
        """Nothing to stop: our pipeline has its own lifecycle (``brokle_trace.shutdown``)."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export every span that ended before this call (``brokle_trace.flush``)."""
        return _state.flush(timeout_millis / 1000)
