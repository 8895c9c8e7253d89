"""Spans and trace attributes for code that is not a decorated function.

``start_span`` opens a span around a block; ``trace_context`` sets trace attributes for a
block without a span; the ``*_current_*`` functions reach the innermost span from anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from brokle_trace._runtime import errors as _errors
from brokle_trace._runtime import state as _state
from brokle_trace._trace import otel as _otel
from brokle_trace._trace import span as _span
from brokle_trace._trace.context import CURRENT, EMPTY_ATTRS, Scope, reset_context
from brokle_trace._trace.facts import KINDS, SpanFacts, SpanKind
from brokle_trace._trace.span import Span

__all__ = [
    "get_current_span",
    "get_current_trace_id",
    "start_span",
    "trace_context",
    "update_current_span",
    "update_current_trace",
]


class start_span:
    """Open a span around a block; it ends (with the error, if one escapes) at block exit.

    Works in sync and async code. The span object is yielded so the block can update it.

    Example:
        >>> from brokle_trace import start_span
        >>> with start_span("load-config", type="tool") as span:
        ...     span.update(metadata={"source": "env"})
    """

    __slots__ = ("_facts", "_inputs", "_span", "_token")

    def __init__(
        self,
        name: str,
        *,
        type: SpanKind = "span",
        input: Any = _state.UNSET,
        metadata: Mapping[str, Any] | None = None,
        attributes: Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
    ) -> None:
        if type not in KINDS:
            raise ValueError(f"type must be one of {sorted(KINDS)}, got {type!r}")
        self._facts = SpanFacts(
            name,
            type,
            metadata=metadata,
            attributes=attributes,
            tags=tags,
            user_id=user_id,
            session_id=session_id,
        )
        self._inputs = input
        self._span: Span | None = None
        self._token: Any = None

    def __enter__(self) -> Span:
        _otel.install()
        try:
            span = _span.begin(self._facts)
            if self._inputs is not _state.UNSET:
                span.update(input=self._inputs)
        except Exception as exc:
            _errors.internal_error("span_start", exc)
            return _NOOP_SPAN
        self._span = span
        self._token = CURRENT.set(span)
        return span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        span = self._span
        if span is None:
            return
        self._span = None
        try:
            reset_context(self._token)
            if exc is None:
                _span.end(span)
            else:
                _span.fail(span, exc)
        except Exception as internal:
            _errors.internal_error("span_end", internal)

    async def __aenter__(self) -> Span:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


def _noop_span() -> Span:
    # Handed out when starting a span failed internally: updates go nowhere.
    span = Span()
    span._facts = SpanFacts("noop")
    span._trace_id = span._span_id = span._parent_id = 0
    span._start_ns = span._end_ns = 0
    span._trace_attrs = EMPTY_ATTRS
    span._parent = span._error = None
    span._updated = False
    span._input = span._output = _state.UNSET
    return span


_NOOP_SPAN = _noop_span()


class trace_context:
    """Set trace attributes for a block: every span started inside inherits them.

    Example:
        >>> from brokle_trace import observe, trace_context
        >>> @observe
        ... def handle(q: str) -> str:
        ...     return q
        >>> with trace_context(user_id="u-1", session_id="s-9", tags=["beta"]):
        ...     handle("hello")
        'hello'
    """

    __slots__ = ("_metadata", "_session_id", "_tags", "_token", "_user_id")

    def __init__(
        self,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self._user_id = user_id
        self._session_id = session_id
        self._tags = tuple(tags) if tags else None
        self._metadata = dict(metadata) if metadata else None
        self._token: Any = None

    def __enter__(self) -> None:
        _otel.install()
        cur = CURRENT.get()
        span = cur.span if isinstance(cur, Scope) else cur
        base = cur._trace_attrs if cur is not None else EMPTY_ATTRS
        attrs = base.merged(self._user_id, self._session_id, self._tags, self._metadata)
        self._token = CURRENT.set(Scope(span, attrs, _otel.otel_ctx_get()))

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            reset_context(self._token)
            self._token = None

    async def __aenter__(self) -> None:
        self.__enter__()

    async def __aexit__(self, *exc_info: object) -> None:
        self.__exit__()


def get_current_span() -> Span | None:
    """The innermost running span in this context, or None outside any span.

    Example:
        >>> from brokle_trace import get_current_span
        >>> get_current_span() is None
        True
    """
    return _span.current_span()


def get_current_trace_id() -> str | None:
    """The current trace id (32 hex chars), or None outside any span.

    Example:
        >>> from brokle_trace import get_current_trace_id
        >>> get_current_trace_id() is None
        True
    """
    span = _span.current_span()
    return span.trace_id if span is not None else None


def update_current_span(**fields: Any) -> None:
    """Update the innermost span: ``output``, ``metadata``, ``attributes``, ``level``, ...

    Takes the keyword arguments of :meth:`Span.update`. Outside any span it logs once and
    does nothing; it never raises.

    Example:
        >>> from brokle_trace import observe, update_current_span
        >>> @observe
        ... def classify(text: str) -> str:
        ...     update_current_span(metadata={"classifier": "rules-v2"})
        ...     return "question"
        >>> classify("how?")
        'question'
    """
    span = _span.current_span()
    if span is None:
        _errors.internal_error("update_current_span", RuntimeError("called outside of any span"))
        return
    try:
        span.update(**fields)
    except TypeError as exc:  # an unknown keyword: a programming error worth a warning
        _errors.internal_error("update_current_span", exc)


def update_current_trace(
    *,
    user_id: str | None = None,
    session_id: str | None = None,
    tags: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Set trace attributes on the current span, its open ancestors and every later child.

    Spans that already ended keep what they had.

    Example:
        >>> from brokle_trace import observe, update_current_trace
        >>> @observe
        ... def handler(user: str) -> None:
        ...     update_current_trace(user_id=user, tags=["vip"])
        >>> handler("u-42")
    """
    try:
        cur = CURRENT.get()
        if cur is None:
            _errors.internal_error(
                "update_current_trace", RuntimeError("called outside of any span or trace_context")
            )
            return
        tag_tuple = tuple(tags) if tags else None
        node: Span | None
        if isinstance(cur, Scope):
            node = cur.span
            cur._trace_attrs = cur._trace_attrs.merged(user_id, session_id, tag_tuple, metadata)
        else:
            node = cur
        while node is not None:
            node._trace_attrs = node._trace_attrs.merged(user_id, session_id, tag_tuple, metadata)
            node = node._parent
            if node is not None and not node.is_recording:
                break
    except Exception as exc:
        _errors.internal_error("update_current_trace", exc)
