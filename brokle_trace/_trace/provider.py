"""Bring your own instrumentor: ``tracer_provider()`` and ``span_processor()``.

``tracer_provider()`` is an SDK ``TracerProvider`` whose one processor is ours (see
``_trace.processor``); ``span_processor()`` is that processor, for a provider the user
already runs. Both are made on first call, so importing brokle_trace never imports the
OpenTelemetry SDK.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from brokle_trace._trace.processor import BrokleSpanProcessor

__all__ = ["install_global", "span_processor", "tracer_provider"]

_lock = threading.Lock()
_processor: BrokleSpanProcessor | None = None
_provider: TracerProvider | None = None


def span_processor() -> BrokleSpanProcessor:
    """The SpanProcessor that takes your own provider's spans into brokle_trace.

    Add it to the ``TracerProvider`` you already run; your other processors and exporters
    keep receiving the original spans untouched. One per process.

    Example:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> import brokle_trace
        >>> provider = TracerProvider()
        >>> provider.add_span_processor(brokle_trace.span_processor())
        >>> brokle_trace.span_processor() is brokle_trace.span_processor()
        True
    """
    global _processor
    processor = _processor
    if processor is None:
        with _lock:
            if _processor is None:
                from brokle_trace._trace.processor import BrokleSpanProcessor

                _processor = BrokleSpanProcessor()
            processor = _processor
    return processor


def tracer_provider() -> TracerProvider:
    """An OpenTelemetry SDK ``TracerProvider`` whose spans flow into brokle_trace.

    Hand it to any instrumentor; its spans join the trace of the ``@observe`` span they run
    in and go through our sampling, redaction, exporters, ``stats()`` and cost roll-ups.
    Created on first call, one per process; not the global provider unless you call
    ``configure(otel_global=True)`` or ``trace.set_tracer_provider`` yourself.

    Example:
        >>> import brokle_trace
        >>> provider = brokle_trace.tracer_provider()
        >>> provider is brokle_trace.tracer_provider()
        True
        >>> # OpenAIInstrumentor().instrument(tracer_provider=brokle_trace.tracer_provider())
    """
    global _provider
    provider = _provider
    if provider is None:
        processor = span_processor()
        with _lock:
            if _provider is None:
                from opentelemetry.sdk.resources import Resource
                from opentelemetry.sdk.trace import TracerProvider
                from opentelemetry.sdk.trace.sampling import ParentBased

                from brokle_trace._trace import otel as _otel
                from brokle_trace._trace.processor import RootSampler

                _otel.install()
                made = TracerProvider(
                    sampler=ParentBased(root=RootSampler()),
                    resource=Resource.get_empty(),
                    shutdown_on_exit=False,
                )
                made.add_span_processor(processor)
                _provider = made
            provider = _provider
    return provider


def install_global() -> None:
    """Make :func:`tracer_provider` OpenTelemetry's global provider (``otel_global=True``)."""
    from opentelemetry import trace

    provider = tracer_provider()
    if trace.get_tracer_provider() is not provider:
        trace.set_tracer_provider(provider)


def _after_fork_in_child() -> None:
    # Instrumentors keep the provider they were given, so the child keeps the same object:
    # it owns no thread or queue (records go to the child's own fresh pipeline); only the
    # parent's running spans and lock are left behind.
    global _lock
    _lock = threading.Lock()
    if _processor is not None:
        _processor._reset()


if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)
