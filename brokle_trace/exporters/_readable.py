"""SpanData -> OpenTelemetry SDK ``ReadableSpan``: the one shape every OTel exporter accepts.

Both the OTLP exporter (which encodes with the OpenTelemetry project's own
``encode_spans``) and the adapter for any OTel ``SpanExporter`` go through this, so the
two can never disagree about ids, attributes, status or resource.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    Link,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)

from brokle_trace import semconv
from brokle_trace._model import SpanData
from brokle_trace.exporters._structure import dropped_counts, structure_of

__all__ = ["CLIENT_TYPES", "SCOPE", "ResourceCache", "to_readable_span", "to_readable_spans"]


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("brokle-trace")
    except Exception:  # not installed as a distribution (a source checkout)
        return "0"


SCOPE = InstrumentationScope("brokle_trace", _version())
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
CLIENT_TYPES = frozenset({"llm", "embedding"})
_OK = Status(StatusCode.UNSET)


class _ReadableSpan(ReadableSpan):
    """A ReadableSpan that also reports what was dropped before export: attributes (our
    limit's and the SDK's span limits'), events and links (``_structure.dropped_counts``),
    as the SDK's own encoder reads them for OTLP's ``dropped_*_count``."""

    def __init__(
        self, *args: Any, dropped: tuple[int, int, int] = (0, 0, 0), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._brokle_dropped = dropped

    @property
    def dropped_attributes(self) -> int:
        return self._brokle_dropped[0]

    @property
    def dropped_events(self) -> int:
        return self._brokle_dropped[1]

    @property
    def dropped_links(self) -> int:
        return self._brokle_dropped[2]


def _env_resource(environ: Mapping[str, str]) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for item in environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            attrs[unquote(key.strip())] = unquote(value.strip())
    if environ.get("OTEL_SERVICE_NAME"):
        attrs["service.name"] = environ["OTEL_SERVICE_NAME"]
    return attrs


class ResourceCache:
    """One SDK ``Resource`` per (service, environment, release), built once.

    ``OTEL_RESOURCE_ATTRIBUTES`` and ``OTEL_SERVICE_NAME`` are merged in (ours win), plus the
    ``telemetry.sdk.*`` facts. Built by hand rather than with ``Resource.create``, whose
    resource detectors run on a thread pool: that fails in an atexit flush.

    Example:
        >>> ResourceCache().get("checkout", "prod", "1.2").attributes["service.name"]
        'checkout'
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._cache: dict[tuple[str | None, str | None, str | None], Resource] = {}
        self._base: dict[str, Any] = {
            "telemetry.sdk.language": "python",
            "telemetry.sdk.name": "brokle_trace",
            "telemetry.sdk.version": SCOPE.version,
            "service.name": "unknown_service",
            **_env_resource(os.environ if environ is None else environ),
        }

    def get(self, service: str | None, environment: str | None, release: str | None) -> Resource:
        """The resource for these three facts (each may be None)."""
        key = (service, environment, release)
        resource = self._cache.get(key)
        if resource is None:
            attrs = dict(self._base)
            if service:
                attrs["service.name"] = service
            if environment:
                attrs["deployment.environment.name"] = environment
            if release:
                attrs["service.version"] = release
            resource = self._cache[key] = Resource(attrs)
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
    lost_attributes, lost_events, lost_links = dropped_counts(span.attributes)
    trace_id = int(span.trace_id, 16)
    structure = structure_of(span.attributes)
    context = SpanContext(
        trace_id,
        int(span.span_id, 16),
        is_remote=False,
        trace_flags=_SAMPLED,
        trace_state=TraceState.from_header([structure.trace_state])
        if structure.trace_state
        else None,
    )
    parent = None
    if span.parent_span_id is not None:
        remote = bool(span.attributes.get("brokle.remote_parent"))
        parent = SpanContext(
            trace_id, int(span.parent_span_id, 16), is_remote=remote, trace_flags=_SAMPLED
        )
    events: Sequence[Event] = [Event(n, a, timestamp=t) for n, t, a in structure.events]
    links = [
        Link(SpanContext(t, s, is_remote=remote, trace_flags=_SAMPLED), a)
        for t, s, a, remote in structure.links
    ]
    status = _OK
    if span.status == "error":
        status = Status(StatusCode.ERROR, span.status_message)
        if span.error is not None:
            exc_attrs = {"exception.type": span.error.type, "exception.message": span.error.message}
            if span.error.stacktrace:
                exc_attrs["exception.stacktrace"] = span.error.stacktrace
            events = [*events, Event("exception", exc_attrs, timestamp=span.end_time_ns)]
    return _ReadableSpan(
        name=span.name,
        context=context,
        parent=parent,
        resource=resources.get(span.service, span.environment, span.release),
        attributes=attributes,
        events=events,
        kind=SpanKind(structure.kind)
        if structure.kind is not None
        else (SpanKind.CLIENT if span.type in CLIENT_TYPES else SpanKind.INTERNAL),
        links=links,
        status=status,
        start_time=span.start_time_ns,
        end_time=span.end_time_ns,
        instrumentation_scope=SCOPE if structure.scope is None else _scope(*structure.scope),
        dropped=(dropped + lost_attributes, lost_events, lost_links),
    )


@functools.lru_cache(maxsize=256)
def _scope(name: str, version: str) -> InstrumentationScope:
    # One object per scope: the SDK's encoder groups spans by scope identity.
    return InstrumentationScope(name, version or None)


def to_readable_spans(spans: Sequence[SpanData], resources: ResourceCache) -> list[ReadableSpan]:
    """``to_readable_span`` over a batch."""
    return [to_readable_span(s, resources) for s in spans]
