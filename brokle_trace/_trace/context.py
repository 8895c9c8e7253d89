"""Where the current span lives: one ContextVar, plus the trace attributes it carries.

The ContextVar holds either the innermost live :class:`~brokle_trace._trace.span.Span` or a
:class:`Scope` opened by ``trace_context(...)``. Every span keeps the effective trace
attributes (user, session, tags, metadata) it inherited, as an immutable :class:`TraceAttrs`
shared by reference, so inheriting costs one pointer copy.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    from brokle_trace._trace.span import Span

__all__ = [
    "CURRENT",
    "EMPTY_ATTRS",
    "ContextThreadPoolExecutor",
    "Scope",
    "TraceAttrs",
    "wrap_context",
]

P = ParamSpec("P")
R = TypeVar("R")


#: Where the metadata sits in ``TraceAttrs.as_tuple()`` (user_id, session_id, tags, metadata).
TRACE_METADATA = 3


class TraceAttrs:
    """Trace-level attributes inherited by every span below where they were set.

    ``name`` is the trace's name (exported on its root span); ``scope`` is the innermost
    ``trace_context`` block they were set under, so ``update_current_trace`` can reach it
    from a span inside.
    """

    __slots__ = ("metadata", "name", "scope", "sealed", "session_id", "tags", "user_id")

    def __init__(
        self,
        user_id: str | None,
        session_id: str | None,
        tags: tuple[str, ...],
        metadata: Mapping[str, Any] | None,
        *,
        name: str | None = None,
        scope: Scope | None = None,
    ) -> None:
        self.user_id = user_id
        self.session_id = session_id
        self.tags = tags
        self.metadata = metadata
        self.name = name
        self.scope = scope
        #: The plain-tuple form sealed spans carry (see _span.seal); built on first use.
        self.sealed: tuple[Any, ...] | None = None

    def as_tuple(self) -> tuple[Any, ...]:
        """(user_id, session_id, tags, metadata): atoms, shared by the trace's records."""
        sealed = self.sealed
        if sealed is None:
            sealed = self.sealed = (self.user_id, self.session_id, self.tags, self.metadata)
        return sealed

    def merged(
        self,
        user_id: str | None = None,
        session_id: str | None = None,
        tags: tuple[str, ...] | list[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
    ) -> TraceAttrs:
        """A copy with the given values set (tags are added, metadata keys merged)."""
        new_tags = self.tags
        if tags:
            new_tags = self.tags + tuple(t for t in tags if t not in self.tags)
        new_meta = self.metadata
        if metadata:
            new_meta = {**self.metadata, **metadata} if self.metadata else dict(metadata)
        return TraceAttrs(
            user_id if user_id is not None else self.user_id,
            session_id if session_id is not None else self.session_id,
            new_tags,
            new_meta,
            name=name if name is not None else self.name,
            scope=self.scope,
        )

    def within(self, scope: Scope) -> TraceAttrs:
        """The same values, set under ``scope``."""
        return TraceAttrs(
            self.user_id, self.session_id, self.tags, self.metadata, name=self.name, scope=scope
        )


EMPTY_ATTRS = TraceAttrs(None, None, (), None)


class Scope:
    """A ``trace_context(...)`` block: trace attributes without a span of its own.

    ``off``: tracing is switched off inside (``trace_context(enabled=False)``,
    ``tracing_disabled()``). ``outer``: the block around this one, if any.
    """

    __slots__ = ("_otel_ctx", "_trace_attrs", "off", "outer", "span")

    def __init__(
        self,
        span: Span | None,
        attrs: TraceAttrs,
        otel_ctx: object,
        off: bool = False,
        outer: Scope | None = None,
    ) -> None:
        self.span = span
        self._trace_attrs = attrs
        # The OpenTelemetry context current when the scope opened: if it is still current,
        # no OTel span started since, so our span is the innermost one.
        self._otel_ctx = otel_ctx
        self.off = off
        self.outer = outer


CURRENT: contextvars.ContextVar[Span | Scope | None] = contextvars.ContextVar(
    "brokle_trace.current", default=None
)


def reset_context(token: Any) -> None:
    """Undo ``CURRENT.set`` by its token, even from another Context (never raises)."""
    try:
        CURRENT.reset(token)
    except ValueError:
        # The token belongs to another Context (a coroutine driven from two contexts by
        # hand). Leaving ours set would leak the span into the caller: restore what the
        # token saw instead.
        old = token.old_value
        CURRENT.set(None if old is token.MISSING else old)


def wrap_context(fn: Callable[P, R]) -> Callable[P, R]:
    """Bind ``fn`` to a copy of the caller's context, so spans it opens nest under the caller.

    Use it for work handed to threads, ``loop.run_in_executor`` or callbacks.

    Example:
        >>> import threading
        >>> from brokle_trace import observe, wrap_context
        >>> @observe
        ... def child() -> int:
        ...     return 1
        >>> t = threading.Thread(target=wrap_context(child)); t.start(); t.join()
    """
    ctx = contextvars.copy_context()

    @functools.wraps(fn)
    def run_in_context(*args: P.args, **kwargs: P.kwargs) -> R:
        # A fresh copy per call: one context cannot be entered by two threads at once.
        return ctx.copy().run(fn, *args, **kwargs)

    return run_in_context


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    """A ``ThreadPoolExecutor`` whose tasks run in a copy of the submitter's context.

    Spans opened by pool work become children of the span that submitted it.

    Example:
        >>> from brokle_trace import ContextThreadPoolExecutor, observe
        >>> @observe
        ... def work(x: int) -> int:
        ...     return x * 2
        >>> with ContextThreadPoolExecutor(max_workers=2) as pool:
        ...     list(pool.map(work, [1, 2]))
        [2, 4]
    """

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        ctx = contextvars.copy_context()
        return super().submit(ctx.run, fn, *args, **kwargs)
