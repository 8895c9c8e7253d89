"""Two-way OpenTelemetry interop at no per-call cost.

We never create OTel SDK spans on the hot path and never install a TracerProvider. Instead:

* to see *our* span from OTel (``trace.get_current_span()``), OTel's runtime context's
  ``get_current()`` overlays our innermost span when no OTel span was attached after it:
  with ``OTEL_PYTHON_CONTEXT=brokle_trace`` OTel loads our runtime (``brokle_trace_context``,
  its public entry-point seam) and we only set its hook; with any other runtime we wrap
  the loaded one once. Only OTel code pays for that, and only when it asks.
* to join an *OTel* span's trace, our span start reads OTel's context variable (one
  ``ContextVar.get``) and compares it with the one recorded when our innermost span was
  attached: if it changed, an OTel span is newer and becomes our parent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.context.context import Context
from opentelemetry.trace.propagation import _SPAN_KEY

from brokle_trace._trace import context as _context

if TYPE_CHECKING:
    from brokle_trace._trace.span import Span

__all__ = [
    "OverlayRuntimeContext",
    "install",
    "live_parent",
    "live_spans",
    "otel_ctx_get",
    "overlay",
    "remote_parent",
    "suppress_instrumentation",
    "suppressed",
]

_install_lock = threading.Lock()
_installed = False


def _fallback_get() -> object:
    # Before the first span (or configure) installed the interop: install it now, then
    # read through the getter install chose.
    install()
    if otel_ctx_get is _fallback_get:  # pragma: no cover - install always replaces it
        return otel_context.get_current()
    return otel_ctx_get()


#: Returns OTel's raw current Context; replaced by the ContextVar's own ``get`` on install.
otel_ctx_get: Callable[[], object] = _fallback_get


class OverlayRuntimeContext:
    """OTel's runtime context, with our innermost span visible through ``get_current``.

    The first span (or ``configure``) wraps whatever runtime OpenTelemetry loaded, a custom
    ``OTEL_PYTHON_CONTEXT`` one included, and talks to it only through the runtime
    interface (attach, detach, get_current). Wrapping is the one step that is not a public
    seam: OpenTelemetry has no hook for "current span" other than the runtime.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def attach(self, context: Context) -> object:
        return self._inner.attach(context)

    def detach(self, token: object) -> None:
        self._inner.detach(token)

    def get_current(self) -> Context:
        return overlay(self._inner.get_current())


def overlay(ctx: Context) -> Context:
    """``ctx`` with our innermost span in it, when that span is newer than ``ctx``."""
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
        ours = _our_runtime()
        if ours is not None:
            # OTEL_PYTHON_CONTEXT=brokle_trace: OpenTelemetry loaded our runtime itself, so
            # its runtime object is left as it is; only the hook is set.
            ours.overlay = overlay
            otel_ctx_get = ours._current_context.get
            _installed = True
            return
        runtime: Any = otel_context._RUNTIME_CONTEXT
        if isinstance(runtime, OverlayRuntimeContext):
            inner = runtime._inner  # wrapped already (an earlier copy of this module)
        else:
            inner = runtime
            otel_context._RUNTIME_CONTEXT = OverlayRuntimeContext(inner)  # type: ignore[assignment]
        # The raw context, from the runtime beneath the overlay: the default runtime's
        # context variable (one C call), or any other runtime's own get_current().
        var = getattr(inner, "_current_context", None)
        otel_ctx_get = var.get if isinstance(var, ContextVar) else inner.get_current
        _installed = True


def _our_runtime() -> Any:
    """The ``brokle_trace_context`` runtime OpenTelemetry loaded, if it did.

    OpenTelemetry's own runtime object, checked by type: not the last instance made (its
    doctest, a test may make more), whose hook OpenTelemetry would never call and whose
    context variable is not the one OpenTelemetry attaches to.
    """
    import sys

    module = sys.modules.get("brokle_trace_context")
    cls = getattr(module, "BrokleRuntimeContext", None)
    runtime = otel_context._RUNTIME_CONTEXT
    return runtime if isinstance(cls, type) and isinstance(runtime, cls) else None


#: Running third-party spans that feed our pipeline, by span id (``_trace.processor`` owns
#: it): a span of ours opened under one of them rolls up and inherits through it.
live_spans: dict[int, Any] = {}


def live_parent(trace_id: int, span_id: int) -> Any:
    """The running third-party span ``(trace_id, span_id)`` names, if it feeds our pipeline."""
    node = live_spans.get(span_id)
    return node if node is not None and node.trace_id == trace_id else None


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


_SUPPRESS_KEY = otel_context._SUPPRESS_INSTRUMENTATION_KEY


def suppressed(octx: object) -> bool:
    """Whether ``octx`` carries OpenTelemetry's suppress-instrumentation key (set by
    ``opentelemetry.instrumentation.utils.suppress_instrumentation()``, and by our own export
    worker): nothing is traced under it, by OTel instrumentations or by us."""
    return isinstance(octx, Context) and bool(octx.get(_SUPPRESS_KEY))
