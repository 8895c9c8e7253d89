"""The live span: a cheap slots object, plus the start/end steps every wrapper shares.

A live span holds raw facts only (ints, the capture snapshots, the exception). Turning it into
a ``SpanData`` (hex ids, redaction, stack formatting) is the export worker's job, so the
caller's thread pays for as little as possible.

Slots every reader needs are set by ``begin``/the wrapper (``_input``, ``_output``,
``_error``, ``_parent``, ``_updated``). The rarely used ones (``_name``, ``_metadata``,
``_attributes``, ``_level``, ``_status_message``, ``_extra``) stay unset until ``update`` sets
them and flips ``_updated``, so the worker only looks for them when there is something to
find: a failed slot read costs more than the rest of a span.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from brokle_trace._runtime import errors as _errors
from brokle_trace._runtime import state as _state
from brokle_trace._runtime.state import UNSET
from brokle_trace._trace import clock as _clock
from brokle_trace._trace import ids as _ids
from brokle_trace._trace import otel as _otel
from brokle_trace._trace.context import CURRENT, EMPTY_ATTRS, Scope, TraceAttrs
from brokle_trace._trace.ending import end, fail, summarize
from brokle_trace._trace.facts import SpanFacts
from brokle_trace._trace.option_values import LEVELS
from brokle_trace._trace.starting import (
    LINK_SPAN_ID,
    LINK_TRACE_ID,
    TRACE_NAME,
    TracingOff,
    decorated_trace,
    set_attrs,
)

if TYPE_CHECKING:
    from opentelemetry.context.context import Context


__all__ = [
    "LINK_SPAN_ID",
    "LINK_TRACE_ID",
    "TRACE_NAME",
    "Span",
    "TracingOff",
    "begin",
    "end",
    "fail",
    "set_attrs",
]


def _no_llm_update(span: Span, **fields: Any) -> None:  # pragma: no cover - replaced at import
    raise RuntimeError("brokle_trace.llm was not imported")


#: ``Span.update``'s LLM fields (model, usage, cost, first-chunk time) are applied by the
#: ``llm`` package, which sets this at import: the span tree never imports the layer above.
llm_update: Callable[..., None] = _no_llm_update

_current_get = CURRENT.get
_count_started = _state.started.__next__


class Span:
    """A span that is running. Get it with :func:`brokle_trace.get_current_span`.

    Example:
        >>> from brokle_trace import get_current_span, observe
        >>> @observe
        ... def step() -> str:
        ...     span = get_current_span()
        ...     span.update(metadata={"retries": 0})
        ...     return span.trace_id
        >>> len(step())
        32
    """

    __slots__ = (
        "_attributes",
        "_end_ns",
        "_error",
        "_extra",
        "_facts",
        "_input",
        "_level",
        "_metadata",
        "_name",
        "_otel_cache",
        "_otel_ctx",
        "_output",
        "_parent",
        "_parent_id",
        "_span_id",
        "_start_ns",
        "_status",
        "_status_message",
        "_trace_attrs",
        "_trace_id",
        "_updated",
    )

    _facts: SpanFacts
    _trace_id: int
    _span_id: int
    _parent_id: int
    _parent: Span | None
    _start_ns: int
    _end_ns: int
    _input: object
    _output: object
    #: (exception type, its TracebackException or None, SystemExit's code)
    _error: tuple[type[BaseException], Any, Any] | None
    _status_message: str
    _status: str
    _level: str
    _metadata: dict[str, Any]
    _attributes: dict[str, Any]
    _name: str
    _extra: dict[str, Any]
    _otel_cache: tuple[object, Context]
    _updated: bool
    _trace_attrs: TraceAttrs
    _otel_ctx: object

    # -- public read-only view -------------------------------------------------------------
    @property
    def name(self) -> str:
        """The span's name (the function name unless overridden)."""
        return getattr(self, "_name", self._facts.name) if self._updated else self._facts.name

    @property
    def type(self) -> str:
        """The span type: span, llm, retrieval, tool, embedding, agent or chain."""
        return self._facts.type

    @property
    def trace_id(self) -> str:
        """The trace id as 32 lowercase hex characters (W3C format)."""
        return f"{self._trace_id:032x}"

    @property
    def span_id(self) -> str:
        """The span id as 16 lowercase hex characters."""
        return f"{self._span_id:016x}"

    @property
    def parent_span_id(self) -> str | None:
        """The parent's span id, or None for a root span."""
        return f"{self._parent_id:016x}" if self._parent_id else None

    @property
    def trace_id_int(self) -> int:
        """The trace id as an int (OpenTelemetry's representation)."""
        return self._trace_id

    @property
    def span_id_int(self) -> int:
        """The span id as an int (OpenTelemetry's representation)."""
        return self._span_id

    @property
    def is_recording(self) -> bool:
        """True until the span has ended."""
        return not hasattr(self, "_end_ns")

    def update(
        self,
        *,
        name: str | None = None,
        output: Any = _state.UNSET,
        metadata: Mapping[str, Any] | None = None,
        attributes: Mapping[str, Any] | None = None,
        level: str | None = None,
        status: str | None = None,
        status_message: str | None = None,
        input: Any = _state.UNSET,
        model: str | None = None,
        usage: Any = None,
        cost_usd: Any = None,
        completion_start_time: Any = None,
    ) -> None:
        """Set fields of this span; metadata and attributes are merged into what is there.

        ``output``/``input`` replace what the decorator captures (they go through the same
        capture limits, redaction and ``process_outputs``/``process_inputs``). ``status`` is
        ``"ok"`` or ``"error"``; ``level="error"`` also sets the status to error unless a
        status is given. ``model``, ``usage`` (a dict or usage object), ``cost_usd`` and
        ``completion_start_time`` (datetime or ns) are for LLM spans. A span that has ended
        ignores updates. Never raises: bad values are logged and counted.

        Example:
            >>> from brokle_trace import observe, get_current_span
            >>> @observe
            ... def answer() -> None:
            ...     get_current_span().update(output="42", level="warning")
        """
        try:
            if hasattr(self, "_end_ns"):
                raise RuntimeError(f"span {self.name!r} has ended: update ignored")
            self._updated = True
            if name is not None:
                self._name = str(name)
            if metadata:
                md = getattr(self, "_metadata", None)
                if md is None:
                    self._metadata = md = {}
                md.update(metadata)
            if attributes:
                at = getattr(self, "_attributes", None)
                if at is None:
                    self._attributes = at = {}
                at.update(attributes)
            if level is not None:
                if level not in LEVELS:
                    raise ValueError(f"level must be one of {sorted(LEVELS)}, got {level!r}")
                self._level = level
            if status is not None:
                if status not in _STATUSES:
                    raise ValueError(f"status must be 'ok' or 'error', got {status!r}")
                self._status = status
            if status_message is not None:
                self._status_message = str(status_message)
            if output is not _state.UNSET:
                self._output = _capture(output, self._facts, output=True)
                self._set_override("output")
            if input is not _state.UNSET:
                self._input = _capture(input, self._facts, output=False)
                self._set_override("input")
            if (
                model is not None
                or usage is not None
                or cost_usd is not None
                or completion_start_time is not None
            ):
                llm_update(
                    self,
                    model=model,
                    usage=usage,
                    cost_usd=cost_usd,
                    completion_start_time=completion_start_time,
                )
        except Exception as exc:
            _errors.internal_error("update_span", exc)

    def set_status(self, status: str, message: str | None = None) -> None:
        """Mark the span ``"ok"`` or ``"error"`` without raising, with an optional message.

        Example:
            >>> from brokle_trace import get_current_span, observe
            >>> @observe
            ... def lookup(key: str) -> None:
            ...     get_current_span().set_status("error", "not in the cache")
            >>> lookup("k")
        """
        self.update(status=status, status_message=message)

    def record_exception(self, exc: BaseException, *, status: str = "error") -> None:
        """Record ``exc`` as this span's error (type, message, stack) without raising it.

        The span's status becomes ``status`` ("error" unless told otherwise). The exception is
        summarised now, as when one is raised through the span; the last one recorded wins.

        Example:
            >>> from brokle_trace import get_current_span, observe
            >>> @observe
            ... def fetch() -> str:
            ...     try:
            ...         raise TimeoutError("upstream slow")
            ...     except TimeoutError as exc:
            ...         get_current_span().record_exception(exc)
            ...         return "cached"
            >>> fetch()
            'cached'
        """
        try:
            if not isinstance(exc, BaseException):
                raise TypeError(f"record_exception needs an exception, got {type(exc).__name__}")
            if hasattr(self, "_end_ns"):
                raise RuntimeError(f"span {self.name!r} has ended: exception not recorded")
            self._error = summarize(exc)
            self.update(status=status)
        except Exception as internal:
            _errors.internal_error("record_exception", internal)

    def set_attribute(self, key: str, value: Any) -> None:
        """Set one flat attribute (exported as an OpenTelemetry attribute)."""
        self.update(attributes={key: value})

    def _set_override(self, field: str) -> None:
        at = getattr(self, "_attributes", None)
        if at is None:
            self._attributes = at = {}
        at[f"brokle.{field}.set"] = True

    def otel_context(self, base: Context) -> Context:
        """``base`` with an OTel span carrying our ids; cached per base context."""
        cached: tuple[object, Context] | None = getattr(self, "_otel_cache", None)
        if cached is not None and cached[0] is base:
            return cached[1]
        ctx = _otel.otel_context_for(self, base)
        self._otel_cache = (base, ctx)
        return ctx

    def __repr__(self) -> str:
        return f"<Span {self.name!r} trace={self.trace_id} span={self.span_id}>"


_STATUSES = frozenset({"ok", "error"})


def _capture(value: object, facts: SpanFacts, *, output: bool) -> object:
    from brokle_trace import capture
    from brokle_trace.capture._process import processed

    limit = facts.max_output_length if output else facts.max_input_length
    snap = capture.snapshot(
        value, _state.capture_settings, max_string_length=limit, serializer=facts.serializer
    )
    return processed(snap, facts.process_output if output else facts.process_input)


def begin(facts: SpanFacts) -> Span:
    """Create and return a started span under the current context (not yet attached).

    Raises :class:`TracingOff` when tracing is switched off here: inside
    ``tracing_disabled()`` / ``trace_context(enabled=False)``, or under OpenTelemetry's
    suppress-instrumentation key. Those checks sit on the branches the common calls never
    take (a root with an empty OTel context, a child of our own innermost span), and an
    exception costs the callers' ``try`` nothing when it is not raised: the common call
    pays for none of it.
    """
    cur = _current_get()
    octx = _otel.otel_ctx_get()
    span = Span()
    span._facts = facts
    span._error = None
    span._updated = False
    span._input = span._output = UNSET
    if cur is None:
        attrs = EMPTY_ATTRS
        if not octx:  # an empty OTel context (the usual case): a new trace
            span._parent = None
            span._trace_id = _ids.new_trace_id()
            span._parent_id = 0
        else:
            if _otel.suppressed(octx):
                raise TracingOff
            remote = _otel.remote_parent(octx)
            if remote is None:
                span._parent = None
                span._trace_id = _ids.new_trace_id()
                span._parent_id = 0
            else:
                # A third-party span of ours (tracer_provider()) is a parent like our own.
                span._parent = _otel.live_parent(*remote) if _otel.live_spans else None
                span._trace_id, span._parent_id = remote
    elif cur._otel_ctx is octx:
        # Our span or scope is the innermost one: the common case for a child.
        attrs = cur._trace_attrs
        if type(cur) is Span:
            span._trace_id = cur._trace_id
            span._parent_id = cur._span_id
            span._parent = cur
        else:
            _parent_from_scope(span, cur, octx)  # type: ignore[arg-type]
    else:
        # An OTel context was attached after ours: its span (if any) is the innermost.
        if _otel.suppressed(octx):
            raise TracingOff
        attrs = cur._trace_attrs
        remote = _otel.remote_parent(octx)
        if remote is not None:
            span._parent = _otel.live_parent(*remote) if _otel.live_spans else None
            span._trace_id, span._parent_id = remote
        elif type(cur) is Span:
            span._trace_id, span._parent_id, span._parent = cur._trace_id, cur._span_id, cur
        else:
            _parent_from_scope(span, cur, octx)  # type: ignore[arg-type]
    if facts.trace_attrs:
        attrs = decorated_trace(span, facts, attrs)
    span._trace_attrs = attrs
    span._otel_ctx = octx
    span._span_id = _ids.new_span_id()
    if _sample_bound is not None:
        _sample(span, facts)
    _count_started()
    span._start_ns = _clock.time_ns()
    return span


#: Head sampling. None keeps every trace at the cost of one global load per span. Otherwise a
#: trace is kept when the low 64 bits of its id are below this bound: OpenTelemetry's
#: TraceIdRatioBased rule, so services sampling at the same rate agree on the same traces.
_sample_bound: int | None = None
_LOW_64 = (1 << 64) - 1


def set_sample_rate(rate: float) -> None:
    """Keep ``rate`` (0..1) of traces; children follow their root's decision."""
    global _sample_bound
    _sample_bound = None if rate >= 1.0 else round(max(0.0, rate) * (1 << 64))


def _sample(span: Span, facts: SpanFacts) -> None:
    parent = span._parent
    if parent is not None:
        out = parent._facts.sampled_out
    else:
        # A root, or a child of a remote/OTel parent: decide on the trace id.
        out = (span._trace_id & _LOW_64) >= (_sample_bound or 0)
    if out:
        span._facts = facts.unsampled()


def _parent_from_scope(span: Span, scope: Scope, octx: object) -> None:
    """Parent ``span`` as the scope says (raises ``TracingOff`` if tracing is off there)."""
    if scope.off:
        raise TracingOff
    parent = scope.span
    span._parent = parent
    if parent is not None:
        span._trace_id, span._parent_id = parent._trace_id, parent._span_id
        return
    remote = _otel.remote_parent(octx)
    if remote is not None:
        span._parent = _otel.live_parent(*remote) if _otel.live_spans else None
        span._trace_id, span._parent_id = remote
    else:
        span._trace_id = _ids.new_trace_id()
        span._parent_id = 0
    name = scope._trace_attrs.name
    if name is not None:  # a root of a named trace_context block
        set_attrs(span, {TRACE_NAME: name})


def current_span() -> Span | None:
    """The innermost live span of this context, or None (also where tracing is off)."""
    cur = CURRENT.get()
    if isinstance(cur, Scope):
        return None if cur.off else cur.span
    return cur
