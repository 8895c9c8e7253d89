"""Spans and trace attributes for code that is not a decorated function.

``start_span`` opens a span around a block; ``trace_context`` sets trace attributes for a
block without a span; the ``*_current_*`` functions reach the innermost span from anywhere.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar, cast

from brokle_trace._runtime import errors as _errors
from brokle_trace._runtime import state as _state
from brokle_trace._trace import otel as _otel
from brokle_trace._trace import span as _span
from brokle_trace._trace.context import CURRENT, EMPTY_ATTRS, Scope, reset_context
from brokle_trace._trace.facts import SpanFacts, SpanKind
from brokle_trace._trace.option_values import check_values
from brokle_trace._trace.span import TRACE_NAME, Span, set_attrs

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "get_current_span",
    "get_current_trace_id",
    "start_span",
    "trace_context",
    "tracing_disabled",
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

    __slots__ = ("_entered", "_facts", "_inputs")

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
        new_trace: bool = False,
    ) -> None:
        # Checked as the decorators' options are: tags="prod" would become ['p', 'r', 'o', 'd'].
        # (A block opens on every call: the common "name only" form skips the checks.)
        if not (
            type == "span"
            and metadata is None
            and attributes is None
            and tags is None
            and user_id is None
            and session_id is None
            and new_trace is False
            and isinstance(name, str)
            and name
        ):
            check_values(
                "start_span",
                {
                    "name": name,
                    "type": type,
                    "metadata": metadata,
                    "attributes": attributes,
                    "tags": tags,
                    "user_id": user_id,
                    "session_id": session_id,
                    "new_trace": new_trace,
                },
            )
        self._facts = SpanFacts(
            name,
            type,
            metadata=metadata,
            attributes=attributes,
            tags=tags,
            user_id=user_id,
            session_id=session_id,
            new_trace=new_trace,
        )
        self._inputs = input
        # (span, token) of each block open on this object: entered again inside itself or
        # from several tasks at once, each exit ends its own span (see trace_context).
        self._entered: list[tuple[Span, Any]] = []

    def __enter__(self) -> Span:
        if not _state.enabled:
            return _NOOP_SPAN  # configure(enabled=False): nothing records
        _otel.install()
        try:
            span = _span.begin(self._facts)
            if self._inputs is not _state.UNSET:
                span.update(input=self._inputs)
        except _span.TracingOff:  # tracing_disabled() or OTel suppression here
            return _NOOP_SPAN
        except Exception as exc:
            _errors.internal_error("span_start", exc)
            return _NOOP_SPAN
        self._entered.append((span, CURRENT.set(span)))
        return span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        span = _leaving(self._entered)
        if span is None:
            return
        try:
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


_T = TypeVar("_T")


def _leaving(entered: list[tuple[_T, Any]]) -> _T | None:
    """Leave the block being exited: take it off ``entered``, reset its token, and return
    its span or scope (None if this context entered none).

    The block is the one whose span or scope is current here; failing that (something
    inside left the context changed), the latest whose token this context can reset: a
    token set in another task's or thread's context cannot be, so their blocks stay open.
    List operations are atomic: another thread's enter or exit cannot corrupt the list.
    """
    current: object = CURRENT.get()
    for entry in reversed(entered):
        block: _T = entry[0]
        if block is current:
            with contextlib.suppress(ValueError):  # a racing exit of the same block took it
                entered.remove(entry)
                reset_context(entry[1])
                return block
            return None
    for entry in reversed(entered):
        try:
            CURRENT.reset(entry[1])
        except (ValueError, RuntimeError):  # another context's token (or used already)
            continue
        with contextlib.suppress(ValueError):
            entered.remove(entry)
        last: _T = entry[0]
        return last
    return None


class _NoopSpan(Span):
    """What ``start_span`` hands out when nothing records: every update goes nowhere."""

    __slots__ = ()

    def update(self, **fields: Any) -> None:
        return None

    def record_exception(self, exc: BaseException, *, status: str = "error") -> None:
        return None


def _noop_span() -> Span:
    # Handed out when tracing is off or starting a span failed internally.
    span = _NoopSpan()
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

    ``name`` names the trace (on its root span); ``enabled=False`` switches tracing off
    inside the block (``enabled=True`` switches it back on in a nested block). Usable as a
    decorator too: every call of the function runs inside its own block.

    Example:
        >>> from brokle_trace import observe, trace_context
        >>> @observe
        ... def handle(q: str) -> str:
        ...     return q
        >>> with trace_context(user_id="u-1", session_id="s-9", tags=["beta"]):
        ...     handle("hello")
        'hello'
        >>> @trace_context(session_id="s-10")
        ... def request(q: str) -> str:
        ...     return handle(q)
        >>> request("again")
        'again'
    """

    __slots__ = (
        "_enabled",
        "_entered",
        "_metadata",
        "_name",
        "_session_id",
        "_tags",
        "_user_id",
    )

    def __init__(
        self,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
        enabled: bool | None = None,
    ) -> None:
        check_values(
            "trace_context",
            {
                "user_id": user_id,
                "session_id": session_id,
                "tags": tags,
                "metadata": metadata,
            },
        )
        if name is not None and not isinstance(name, str):
            raise TypeError(f"trace_context(name=...) must be a string or None, got {name!r:.60}")
        if enabled is not None and not isinstance(enabled, bool):
            raise TypeError(
                f"trace_context(enabled=...) must be True, False or None, got {enabled!r:.60}"
            )
        self._user_id = user_id
        self._session_id = session_id
        self._tags = tuple(tags) if tags else None
        self._metadata = dict(metadata) if metadata else None
        self._name = name
        self._enabled = enabled
        # (scope, token) of each block open on this object: one instance may be entered
        # again inside itself, or by several tasks and threads at once (a module-level
        # ``QUIET = tracing_disabled()``); each exit resets its own block's token.
        self._entered: list[tuple[Scope, Any]] = []

    def scope(self) -> Scope:
        """The block's scope under the current context (not attached)."""
        _otel.install()
        cur = CURRENT.get()
        outer = cur if isinstance(cur, Scope) else None
        span = outer.span if outer is not None else cast("Span | None", cur)
        base = cur._trace_attrs if cur is not None else EMPTY_ATTRS
        attrs = base.merged(self._user_id, self._session_id, self._tags, self._metadata, self._name)
        off = (outer is not None and outer.off) if self._enabled is None else not self._enabled
        scope = Scope(span, attrs, _otel.otel_ctx_get(), off, base.scope)
        scope._trace_attrs = attrs.within(scope)
        return scope

    def __enter__(self) -> None:
        scope = self.scope()
        self._entered.append((scope, CURRENT.set(scope)))

    def __exit__(self, *exc_info: object) -> None:
        _leaving(self._entered)

    async def __aenter__(self) -> None:
        self.__enter__()

    async def __aexit__(self, *exc_info: object) -> None:
        self.__exit__()

    def __call__(self, fn: F) -> F:
        """Decorate ``fn``: each call (each step, for a generator) runs inside the block."""
        from brokle_trace._trace.scoped import scoped

        return scoped(fn, self.scope)


def tracing_disabled() -> trace_context:
    """A block (or decorator) inside which nothing is traced: ``trace_context(enabled=False)``.

    Decorated calls inside run as plain calls and ``start_span`` records nothing; a nested
    ``trace_context(enabled=True)`` switches tracing back on.

    Example:
        >>> from brokle_trace import observe, tracing_disabled
        >>> @observe
        ... def health() -> str:
        ...     return "ok"
        >>> with tracing_disabled():
        ...     health()
        'ok'
    """
    return trace_context(enabled=False)


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
        if not _tracing_off():
            _errors.internal_error(
                "update_current_span", RuntimeError("called outside of any span")
            )
        return
    try:
        span.update(**fields)
    except TypeError as exc:  # an unknown keyword: a programming error worth a warning
        _errors.internal_error("update_current_span", exc)


def _tracing_off() -> bool:
    """Whether nothing is traced here (disabled, or inside ``tracing_disabled()``)."""
    cur = CURRENT.get()
    return not _state.enabled or (isinstance(cur, Scope) and cur.off)


def update_current_trace(
    *,
    user_id: str | None = None,
    session_id: str | None = None,
    tags: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> None:
    """Set trace attributes on the current span, its open ancestors and every later span of
    the trace: those started later under an open ancestor, and those started later in the
    ``trace_context`` blocks around it (the innermost one, and every one opened inside the
    trace). ``name`` names the trace (on its root span).

    Spans that already ended keep what they had.

    Example:
        >>> from brokle_trace import observe, trace_context, update_current_trace
        >>> @observe
        ... def authenticate(user: str) -> None:
        ...     update_current_trace(user_id=user, tags=["vip"], name="checkout")
        >>> @observe
        ... def pay() -> None: ...
        >>> with trace_context(session_id="s-1"):
        ...     authenticate("u-42")
        ...     pay()  # recorded with user_id="u-42" too
    """
    try:
        cur = CURRENT.get()
        if cur is None:
            _errors.internal_error(
                "update_current_trace", RuntimeError("called outside of any span or trace_context")
            )
            return
        if _tracing_off():
            return
        tag_tuple = tuple(tags) if tags else None
        values = (user_id, session_id, tag_tuple, metadata, name)
        node: Span | None = cur.span if isinstance(cur, Scope) else cur
        top: Span | None = None
        while node is not None:
            node._trace_attrs = node._trace_attrs.merged(*values)
            top = node
            node = node._parent
            if node is not None and not node.is_recording:
                top = None  # the root ended already: it keeps the name it had
                break
        if name is not None and top is not None and top._parent is None:
            set_attrs(top, {TRACE_NAME: name})
        # The blocks around: the innermost, and outwards those opened inside a span (so
        # inside this trace); a block opened outside any span is the request's: the last.
        scope = cur if isinstance(cur, Scope) else cur._trace_attrs.scope
        while scope is not None:
            scope._trace_attrs = scope._trace_attrs.merged(*values)
            if scope.span is None:
                break
            scope = scope.outer
    except Exception as exc:
        _errors.internal_error("update_current_trace", exc)
