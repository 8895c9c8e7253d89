"""SpanData -> OpenTelemetry SDK ``ReadableSpan``: the one shape every OTel exporter accepts.

Both the OTLP exporter (which encodes with the OpenTelemetry project's own
``encode_spans``) and the adapter for any OTel ``SpanExporter`` go through this, so the
two can never disagree about ids, attributes, status or resource.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from brokle_trace import semconv
from brokle_trace._model import SpanData

__all__ = ["ResourceCache", "to_readable_span", "to_readable_spans"]


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("brokle-trace")
    except Exception:  # not installed as a distribution (a source checkout)
        return "0"


_SCOPE = InstrumentationScope("brokle_trace", _version())
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_CLIENT_TYPES = frozenset({"llm", "embedding"})
_OK = Status(StatusCode.UNSET)


class _ReadableSpan(ReadableSpan):
    """A ReadableSpan that also reports how many attributes our limit dropped."""

    def __init__(self, *args: Any, dropped_attributes: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._brokle_dropped = dropped_attributes

    @property
    def dropped_attributes(self) -> int:
        return self._brokle_dropped


class ResourceCache:
    """One SDK ``Resource`` per (service, environment, release), built once.

    ``Resource.create`` also merges ``OTEL_RESOURCE_ATTRIBUTES`` / ``OTEL_SERVICE_NAME`` and
    the ``telemetry.sdk.*`` facts, so a span renders under the right service everywhere.

    Example:
        >>> ResourceCache().get("checkout", "prod", "1.2").attributes["service.name"]
        'checkout'
    """

    def __init__(self) -> None:
        self._cache: dict[tuple[str | None, str | None, str | None], Resource] = {}

    def get(self, service: str | None, environment: str | None, release: str | None) -> Resource:
        """The resource for these three facts (each may be None)."""
        key = (service, environment, release)
        resource = self._cache.get(key)
        if resource is None:
            attrs: dict[str, Any] = {}
            if service:
                attrs["service.name"] = service
            if environment:
                attrs["deployment.environment.name"] = environment
            if release:
                attrs["service.version"] = release
            resource = self._cache[key] = Resource.create(attrs)
        return resource


def to_readable_span(span: SpanData, resources: ResourceCache) -> ReadableSpan:
    """The OTel SDK view of ``span``: same ids, mapped attributes, exception event.

    Example:
        >>> s = SpanData(name="x", trace_id="1" * 32, span_id="2" * 16,
        ...              start_time_ns=1, end_time_ns=2)
        >>> to_readable_span(s, ResourceCache()).context.span_id == int("2" * 16, 16)
        True
    """
    attributes, dropped = semconv.to_otel_attributes(span)
    trace_id = int(span.trace_id, 16)
    context = SpanContext(trace_id, int(span.span_id, 16), is_remote=False, trace_flags=_SAMPLED)
    parent = None
    if span.parent_span_id is not None:
        remote = bool(span.attributes.get("brokle.remote_parent"))
        parent = SpanContext(
            trace_id, int(span.parent_span_id, 16), is_remote=remote, trace_flags=_SAMPLED
        )
    events: Sequence[Event] = ()
    status = _OK
    if span.status == "error":
        status = Status(StatusCode.ERROR, span.status_message)
        if span.error is not None:
            exc_attrs = {"exception.type": span.error.type, "exception.message": span.error.message}
            if span.error.stacktrace:
                exc_attrs["exception.stacktrace"] = span.error.stacktrace
            events = (Event("exception", exc_attrs, timestamp=span.end_time_ns),)
    return _ReadableSpan(
        name=span.name,
        context=context,
        parent=parent,
        resource=resources.get(span.service, span.environment, span.release),
        attributes=attributes,
        events=events,
        kind=SpanKind.CLIENT if span.type in _CLIENT_TYPES else SpanKind.INTERNAL,
        status=status,
        start_time=span.start_time_ns,
        end_time=span.end_time_ns,
        instrumentation_scope=_SCOPE,
        dropped_attributes=dropped,
    )


def to_readable_spans(spans: Sequence[SpanData], resources: ResourceCache) -> list[ReadableSpan]:
    """``to_readable_span`` over a batch."""
    return [to_readable_span(s, resources) for s in spans]
