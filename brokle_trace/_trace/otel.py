"""Two-way OpenTelemetry interop at no per-call cost.

We never create OTel SDK spans on the hot path and never install a TracerProvider. Instead:

* to see *our* span from OTel (``trace.get_current_span()``), we wrap OTel's runtime context
  once: its ``get_current()`` overlays our innermost span when no OTel span was attached
  after it. Only OTel code pays for that, and only when it asks.
* to join an *OTel* span's trace, our span start reads OTel's context variable (one
  ``ContextVar.get``) and compares it with the one recorded when our innermost span was
  attached: if it changed, an OTel span is newer and becomes our parent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.context.context import Context
from opentelemetry.trace.propagation import _SPAN_KEY

from brokle_trace._trace import context as _context

if TYPE_CHECKING:
    from brokle_trace._trace.span import Span

__all__ = ["install", "otel_ctx_get", "remote_parent", "suppress_instrumentation"]

_install_lock = threading.Lock()
_installed = False


def _fallback_get() -> object:
    return otel_context.get_current()


#: Returns OTel's raw current Context; replaced by the ContextVar's own ``get`` on install.
otel_ctx_get: Callable[[], object] = _fallback_get


class _OverlayRuntimeContext:
    """OTel's runtime context, with our innermost span visible through ``get_current``."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def attach(self, context: Context) -> object:
        return self._inner.attach(context)

    def detach(self, token: object) -> None:
        self._inner.detach(token)

    def get_current(self) -> Context:
        ctx: Context = self._inner.get_current()
        cur = _context.CURRENT.get()
        if cur is None or cur._otel_ctx is not ctx:
            return ctx
        span = cur.span if isinstance(cur, _context.Scope) else cur
        if span is None:
            return ctx
        return span.otel_context(ctx)


def install() -> None:
    """Wrap OTel's runtime context once per process (idempotent, thread-safe)."""
    if not _installed:
        _install_locked()


def _install_locked() -> None:
    global _installed, otel_ctx_get
    with _install_lock:
        if _installed:
            return
        inner: object = otel_context._RUNTIME_CONTEXT
        if not isinstance(inner, _OverlayRuntimeContext):
            var = getattr(inner, "_current_context", None)
            if var is not None and hasattr(var, "get"):
                otel_ctx_get = var.get
            otel_context._RUNTIME_CONTEXT = _OverlayRuntimeContext(inner)  # type: ignore[assignment]
        _installed = True


def remote_parent(octx: object) -> tuple[int, int] | None:
    """(trace_id, span_id) of the valid OTel span in ``octx``, if any."""
    if not isinstance(octx, Context):
        return None
    otel_span = octx.get(_SPAN_KEY)
    if not isinstance(otel_span, otel_trace.Span):
        return None
    sc = otel_span.get_span_context()
    if not sc.is_valid:
        return None
    return sc.trace_id, sc.span_id


def otel_context_for(span: Span, base: Context) -> Context:
    """``base`` with a non-recording OTel span carrying ``span``'s ids."""
    # A sampled-out trace tells OTel instrumentations below it not to record either.
    sampled = not span._facts.sampled_out
    sc = otel_trace.SpanContext(
        trace_id=span.trace_id_int,
        span_id=span.span_id_int,
        is_remote=False,
        trace_flags=otel_trace.TraceFlags(
            otel_trace.TraceFlags.SAMPLED if sampled else otel_trace.TraceFlags.DEFAULT
        ),
    )
    return otel_trace.set_span_in_context(otel_trace.NonRecordingSpan(sc), base)


def suppress_instrumentation() -> object:
    """Attach a context that tells OTel instrumentations not to trace (the export worker).

    Sets both the API's key and the plain-string key the HTTP client instrumentations read.
    """
    ctx = otel_context.set_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY, True)
    ctx = otel_context.set_value("suppress_http_instrumentation", True, ctx)
    return otel_context.attach(ctx)
